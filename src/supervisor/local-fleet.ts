import { join } from 'node:path';
import { emulatorCommand } from './emulator-command.js';
import { detectGpus, type GpuDetection, type GpuInfo } from './gpu-detect.js';
import { defaultInstallDir, supervisorDataDir } from './install-options.js';
import { assertInstalled } from './installation-status.js';
import { type InstancePlan, type PlanSettings, planInstances } from './instance-plan.js';
import { Supervisor, type SupervisorOptions } from './supervisor.js';
import { readSupervisorEnv } from './supervisor-env.js';

/** Inputs of {@link planLocalFleet}: CLI flags (all optional) over the environment. */
export interface LocalFleetOptions {
  env?: NodeJS.ProcessEnv;
  /** Default COMFYUI_INSTALL_PATH or `<data dir>/ComfyUI`. */
  installDir?: string;
  /** Default COMFY_CLUSTER_DATA_DIR or the platform data dir. */
  dataDir?: string;
  /** Default COMFYUI_PORT_START or 8188. */
  portStart?: number;
  listen?: string;
  io?: PlanSettings['io'];
  sharedInputDirectory?: string;
  sharedOutputDirectory?: string;
  extraArgs?: string[];
  pythonPath?: string;
  nvidiaSmiPath?: string;
  /** GPUs to plan for (the `--gpus` flag); overrides NUM_GPUS. */
  gpus?: number;
  /** One CPU instance, no GPU query (the `--cpu` flag); overrides COMFYUI_CPU_ONLY. */
  cpu?: boolean;
  /**
   * Run the project's emulator in ComfyUI's place, with ComfyUI's flags: no install, no
   * nvidia-smi; `gpus` (else NUM_GPUS, else 1) emulated GPUs.
   */
  emulate?: boolean;
}

/** A plan for this machine, with how it was reached. */
export interface LocalFleetPlan {
  detection: GpuDetection;
  plan: InstancePlan;
  installDir: string;
  dataDir: string;
  /** `<dataDir>/run`: pid files of managed instances. */
  runDir: string;
  /** Environment warnings, GPU detection warnings and plan warnings together. */
  warnings: string[];
  /** The emulator runs in ComfyUI's place (no install is checked or used). */
  emulated: boolean;
}

/**
 * Detects the GPUs and plans one instance per GPU for this machine (NUM_GPUS,
 * COMFYUI_CPU_ONLY, COMFYUI_PORT_START and COMFYUI_INSTALL_PATH apply). Shared by `launch`, `pm2`
 * and the gateway's start-up.
 *
 * @example
 * const local = await planLocalFleet({ listen: '0.0.0.0' });
 * for (const w of local.warnings) console.warn(w);
 */
export async function planLocalFleet(options: LocalFleetOptions = {}): Promise<LocalFleetPlan> {
  const env = options.env ?? process.env;
  const { values, warnings } = readSupervisorEnv(env);
  const emulated = options.emulate === true;
  const detectEnv: NodeJS.ProcessEnv = { ...env };
  if (options.gpus !== undefined) detectEnv.NUM_GPUS = String(options.gpus);
  if (options.cpu !== undefined) detectEnv.COMFYUI_CPU_ONLY = String(options.cpu);
  const detection = emulated
    ? emulatedGpus(options.cpu ?? values.cpuOnly ?? false, options.gpus ?? values.numGpus ?? 1)
    : await detectGpus({
        env: detectEnv,
        ...(options.nvidiaSmiPath ? { nvidiaSmiPath: options.nvidiaSmiPath } : {}),
      });
  const installDir = options.installDir ?? defaultInstallDir(env);
  const dataDir = options.dataDir ?? supervisorDataDir(env);
  const settings: PlanSettings = { installDir, dataDir };
  const portStart = options.portStart ?? values.portStart;
  if (portStart !== undefined) settings.portStart = portStart;
  if (options.listen !== undefined) settings.listen = options.listen;
  if (options.io !== undefined) settings.io = options.io;
  if (options.sharedInputDirectory) settings.sharedInputDirectory = options.sharedInputDirectory;
  if (options.sharedOutputDirectory) settings.sharedOutputDirectory = options.sharedOutputDirectory;
  if (options.extraArgs) settings.extraArgs = options.extraArgs;
  if (options.pythonPath) settings.pythonPath = options.pythonPath;
  let plan = planInstances(detection, settings);
  if (emulated) {
    const emulator = emulatorCommand();
    plan = {
      ...plan,
      instances: plan.instances.map((i) => ({
        ...i,
        command: emulator.command,
        // The plan's argv minus main.py: the emulator reads ComfyUI's own flags.
        args: [...emulator.args, ...i.args.slice(1)],
        cwd: emulator.cwd,
      })),
    };
  }
  // detectGpus repeats NUM_GPUS / COMFYUI_CPU_ONLY warnings readSupervisorEnv already has.
  const all = [...new Set([...warnings, ...detection.warnings, ...plan.warnings])];
  return {
    detection,
    plan,
    installDir,
    dataDir,
    runDir: join(dataDir, 'run'),
    warnings: all,
    emulated,
  };
}

function emulatedGpus(cpuOnly: boolean, count: number): GpuDetection {
  if (cpuOnly || count === 0) {
    return {
      gpus: [],
      detected: [],
      source: 'cpu-only',
      cpuOnly: true,
      reason: 'emulated: one CPU instance',
      warnings: [],
    };
  }
  const gpus: GpuInfo[] = Array.from({ length: count }, (_, index) => ({
    index,
    name: 'emulated GPU',
    memoryTotalMiB: 24_576,
    memoryUsedMiB: 0,
  }));
  return {
    gpus,
    detected: [],
    source: 'num-gpus',
    cpuOnly: false,
    reason: 'emulated',
    warnings: [],
  };
}

/**
 * A supervisor for a local plan, whose preflight is the install check (a validated install with
 * its venv in `installDir`). Add nothing else: call `startAll()` and listen to its events.
 *
 * @example
 * const local = await planLocalFleet();
 * const supervisor = createLocalSupervisor(local);
 * installExitCleanup(supervisor);
 * const { running, failed } = await supervisor.startAll();
 */
export function createLocalSupervisor(
  local: LocalFleetPlan,
  options: Omit<SupervisorOptions, 'runDir' | 'preflight'> = {},
): Supervisor {
  const supervisor = new Supervisor({
    ...options,
    runDir: local.runDir,
    preflight: async () => {
      if (!local.emulated) await assertInstalled(local.installDir);
    },
  });
  for (const instance of local.plan.instances) supervisor.add(instance);
  return supervisor;
}
