/**
 * Public shape of the emulator: how tests, benchmarks, the CLI and the supervisor start one and
 * steer it. `startEmulator(options)` (src/emulator/index.ts) returns a `RunningEmulator`.
 */
import type { ModelLists } from './nodes/types.js';

/** The device an emulated instance reports in /system_stats. */
export interface DeviceProfile {
  /** e.g. "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync", or "cpu". */
  name: string;
  type: 'cuda' | 'cpu' | 'mps' | 'xpu';
  /** Bytes. */
  vram_total: number;
  /** Bytes. */
  vram_free: number;
}

/**
 * Failures an emulated instance can be told to produce. All are off by default and can be changed
 * at run time (`RunningEmulator.setFaults`, or POST /__emulator/faults on a child process).
 */
export interface FaultConfig {
  /** Node classes that raise when they run: class → exception type and message. */
  nodeErrors?: Record<string, { exception_type: string; exception_message: string }>;
  /** Node classes that raise a CUDA out-of-memory error when they run. */
  oomNodes?: string[];
  /** Routes (path without /api prefix, e.g. "/prompt") answered with this 5xx status. */
  httpErrors?: Record<string, number>;
  /** Extra delay in ms before answering any HTTP request. */
  slowResponsesMs?: number;
  /** Accept TCP connections but never answer HTTP (hung instance). */
  hang?: boolean;
  /** Close every WebSocket now and refuse new WebSocket upgrades while true. */
  dropWebSockets?: boolean;
}

export interface EmulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8188; 0 picks a free port. */
  port?: number;
  /**
   * Speed factor: simulated node durations are divided by it (2 = twice as fast). `Infinity`
   * makes every node instant. Default 1.
   */
  speed?: number;
  /** Model files this instance "has", per folder. Default: a small set of checkpoints etc. */
  models?: ModelLists;
  /**
   * Root folder for input/, output/, temp/ and user/ (ComfyUI's --base-directory). Default: a fresh
   * temporary folder, removed on close.
   */
  baseDirectory?: string;
  inputDirectory?: string;
  outputDirectory?: string;
  /** As ComfyUI: the server appends /temp to this. */
  tempDirectory?: string;
  userDirectory?: string;
  /** Default: a CUDA device with 24 GiB (or a CPU device with `cpu: true`). */
  device?: DeviceProfile;
  /** Report a CPU device, as ComfyUI's --cpu does. */
  cpu?: boolean;
  /**
   * comfyui_version reported in /system_stats. Default "0.8.0". Versions older than 0.4 do not have
   * /api/jobs (404), as real old servers do, so fallbacks can be tested.
   */
  version?: string;
  /**
   * Optional custom node packs this instance has installed (beyond the core nodes), e.g.
   * "remove-background". Lets capability routing be tested with instances that differ.
   */
  nodePacks?: string[];
  /** Override the simulated duration (ms at speed 1) of node classes. */
  nodeDurations?: Record<string, number>;
  /** History cap (ComfyUI: 10000). */
  maxHistory?: number;
  /** Request body limit in MB (ComfyUI's --max-upload-size, default 100). */
  maxUploadSizeMb?: number;
  /** Initial faults. */
  faults?: FaultConfig;
  /** Command line reported as system.argv. */
  argv?: string[];
}

/** Counters a test reads to check how a client used the instance. */
export interface EmulatorStats {
  /** Requests per route, keyed like "GET /system_stats" (the /api prefix folded in). */
  requests: Record<string, number>;
  /** Prompts accepted, and how many finished with success / error / interrupt. */
  prompts: { accepted: number; succeeded: number; failed: number; interrupted: number };
  /** WebSocket connections opened since start, and open now. */
  websockets: { opened: number; open: number };
}

export interface RunningEmulator {
  /** http://host:port */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  readonly dirs: { input: string; output: string; temp: string; user: string };
  stats(): EmulatorStats;
  resetStats(): void;
  /** Merge into the current faults; pass `{}`-valued fields to clear them. */
  setFaults(faults: FaultConfig): void;
  clearFaults(): void;
  setSpeed(speed: number): void;
  setModels(models: ModelLists): void;
  /** Stop listening, close sockets, abort the running prompt; removes a temporary base folder. */
  close(): Promise<void>;
}
