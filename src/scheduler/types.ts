/**
 * The small views the scheduler works on. The job store, the fleet and the runner adapt their
 * own objects to these; nothing here does I/O.
 */
import type { NodeInfo } from '../comfy/protocol.js';
import type { InstanceHealth } from '../fleet/index.js';

/** One model file a job names: the folder it is listed under (`checkpoints`) and its file name. */
export interface ModelRef {
  folder: string;
  file: string;
}

/** Where a job names a model: the node and input (for ComfyUI-shaped `node_errors`). */
export interface ModelUse extends ModelRef {
  node_id: string;
  input: string;
}

/** What a job needs from an instance. Both lists are sorted and free of duplicates. */
export interface JobRequirements {
  node_classes: string[];
  models: ModelRef[];
}

/** Where each requirement comes from in the prompt: class → node ids, and every model use. */
export interface RequirementOrigins {
  nodes: Record<string, string[]>;
  models: ModelUse[];
}

/** What an instance offers: its `/object_info` and its model lists per folder. */
export interface InstanceCapabilities {
  node_classes: Readonly<Record<string, NodeInfo>>;
  models: Readonly<Record<string, readonly string[]>>;
}

/** Where a job may go, beyond what it needs. */
export interface PlacementConstraints {
  /** Only this instance (id). */
  pin?: string | null | undefined;
  /** The instance must carry every one of these tags. */
  tags?: readonly string[] | undefined;
  /** Instances the job failed on: never again. */
  excluded?: readonly string[] | undefined;
}

/** A waiting job, as the scheduler needs it. */
export interface SchedulerJob extends PlacementConstraints {
  id: string;
  /** Fair share is computed across owners (user, API key, team...); '' is fine. */
  owner: string;
  /** Higher first. */
  priority: number;
  requirements: JobRequirements;
  /** Workflow shape key (see `workflowShape`), for run-time estimates. */
  shape: string;
  /** ms since epoch. */
  submitted_at: number;
  /**
   * Set when the job ran out of memory: the free VRAM (bytes) of the instance it failed on, or
   * null if unknown. Instances with more free VRAM are preferred.
   */
  oom_vram_free?: number | null | undefined;
  /**
   * A guess of its run time at speed 1 from the prompt (`promptWorkHint`), ms: used for its shape
   * until a job of that shape was measured (cold start).
   */
  work_hint_ms?: number | undefined;
}

/** One prompt of ours on an instance: running (`started_at` set) or waiting in its queue. */
export interface InFlightJob {
  job_id: string;
  owner: string;
  shape: string;
  /** ms since epoch when it started executing; null while it waits in the instance's queue. */
  started_at: number | null;
}

/** An instance as placement sees it. Pass every instance, busy or not: holds need the busy ones. */
export interface SchedulerInstance {
  id: string;
  max_concurrent: number;
  prefetch: number;
  health: InstanceHealth;
  /** The fleet's `acceptsNewWork()`: false when paused, disabled, stopped, starting... */
  accepting: boolean;
  /** Config priority: lower is preferred. */
  priority: number;
  tags: readonly string[];
  capabilities: InstanceCapabilities;
  /**
   * Model keys (`folder/file`, see `modelKey`) the instance has loaded or will have loaded once
   * its in-flight jobs ran: the model files of its last few jobs, in-flight ones included.
   */
  loaded_models: readonly string[];
  /** Free VRAM in bytes, null if unknown. */
  vram_free: number | null;
  /** Our prompts on it: running ones first, then its queue in order. */
  in_flight: readonly InFlightJob[];
}

/** Placement strategies. */
export const STRATEGIES = [
  'round_robin',
  'least_loaded',
  'priority',
  'fastest_completion',
] as const;
export type StrategyName = (typeof STRATEGIES)[number];

/** The scheduler's answer: send this job to this instance now. */
export interface Assignment {
  type: 'assign';
  job: SchedulerJob;
  instance_id: string;
  strategy: StrategyName;
  /** Expected wait on the instance before it starts, ms. */
  estimated_start_in_ms: number;
  /** Expected execution time there, model loads excluded, ms. */
  estimated_run_ms: number;
  /** Expected time to load the models it does not have loaded yet, ms. */
  model_load_ms: number;
  /** Model keys the instance is not expected to have loaded. */
  cold_models: string[];
}

/**
 * Nothing is sent now although slots are free: the jobs that could go are better off waiting for
 * a faster instance that frees soon. Ask again at `recheck_at` (ms since epoch) at the latest.
 */
export interface Hold {
  type: 'hold';
  recheck_at: number;
  /** The jobs held back, with the instance each waits for. */
  held: { job_id: string; instance_id: string }[];
}

/** Nothing can be placed now (no job, no free slot, or nothing fits a free slot). */
export interface Idle {
  type: 'idle';
}

export type Decision = Assignment | Hold | Idle;

/**
 * `folder/file`: the key of a model file in `loaded_models` and in messages.
 *
 * @example
 * modelKey({ folder: 'checkpoints', file: 'sdxl.safetensors' }); // 'checkpoints/sdxl.safetensors'
 */
export function modelKey(ref: ModelRef): string {
  return `${ref.folder}/${ref.file}`;
}
