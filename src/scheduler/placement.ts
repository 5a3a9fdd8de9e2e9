/**
 * Pure placement rules: which free instance a job goes to under each strategy, model affinity
 * (expected model-load time), and the OOM-retry preference for more free VRAM.
 */
import type { ModelRef, SchedulerInstance, SchedulerJob, StrategyName } from './types.js';
import { modelKey } from './types.js';

/** Expected time (ms) to load a model of each folder that is not loaded yet. */
export const DEFAULT_MODEL_LOAD_MS: Readonly<Record<string, number>> = {
  checkpoints: 5000,
  diffusion_models: 5000,
  unet: 5000,
  text_encoders: 3000,
  clip: 3000,
  audio_encoders: 2000,
  controlnet: 1500,
  clip_vision: 1000,
  gligen: 1000,
  photomaker: 1000,
  model_patches: 1000,
  upscale_models: 500,
  vae: 500,
  style_models: 500,
  hypernetworks: 500,
  loras: 400,
  configs: 0,
};
const OTHER_FOLDER_LOAD_MS = 1000;

/**
 * Model-load time of one file: the per-folder table (overrides first), else 1 s.
 *
 * @example
 * modelLoadMs({ folder: 'loras', file: 'x.safetensors' }); // 400
 * modelLoadMs({ folder: 'loras', file: 'x' }, { loras: 900 }); // 900
 */
export function modelLoadMs(
  ref: ModelRef,
  overrides: Readonly<Record<string, number>> = {},
): number {
  const o = Object.hasOwn(overrides, ref.folder) ? overrides[ref.folder] : undefined;
  if (o !== undefined && Number.isFinite(o) && o >= 0) return o;
  const d = Object.hasOwn(DEFAULT_MODEL_LOAD_MS, ref.folder)
    ? DEFAULT_MODEL_LOAD_MS[ref.folder]
    : undefined;
  return d ?? OTHER_FOLDER_LOAD_MS;
}

/** Models of a job an instance does not have loaded, and the time to load them. */
export interface ColdModels {
  keys: string[];
  ms: number;
}

/**
 * Model affinity: which of the job's models the instance would have to load, and how long that
 * takes (0 when its recent jobs used the same files).
 *
 * @example
 * coldModels(job.requirements.models, new Set(instance.loaded_models), (m) => modelLoadMs(m));
 */
export function coldModels(
  models: readonly ModelRef[],
  loaded: ReadonlySet<string>,
  loadMs: (ref: ModelRef) => number,
): ColdModels {
  const keys: string[] = [];
  let ms = 0;
  for (const m of models) {
    const key = modelKey(m);
    if (loaded.has(key)) continue;
    keys.push(key);
    ms += loadMs(m);
  }
  return { keys, ms };
}

/**
 * True when an instance may get new work at all: accepting, and healthy or degraded.
 *
 * @example
 * isEligible({ ...instance, health: 'unhealthy' }); // false
 */
export function isEligible(instance: SchedulerInstance): boolean {
  return instance.accepting && (instance.health === 'healthy' || instance.health === 'degraded');
}

/**
 * True when an instance has room for one more prompt (running + queued < max_concurrent + prefetch).
 *
 * @example
 * hasFreeSlot({ ...instance, max_concurrent: 1, prefetch: 1, in_flight: [running] }); // true
 */
export function hasFreeSlot(instance: SchedulerInstance): boolean {
  return (
    instance.in_flight.length <
    Math.max(1, instance.max_concurrent) + Math.max(0, instance.prefetch)
  );
}

/**
 * Load of an instance: our prompts on it per execution slot.
 *
 * @example
 * loadOf({ ...instance, max_concurrent: 2, in_flight: [a, b, c] }); // 1.5
 */
export function loadOf(instance: SchedulerInstance): number {
  return instance.in_flight.length / Math.max(1, instance.max_concurrent);
}

/**
 * The instances an OOM retry should consider: those with more free VRAM than where the job ran
 * out, if any instance qualifies; otherwise all. Jobs that did not run out of memory: all.
 *
 * @example
 * oomCandidates({ ...job, oom_vram_free: 4e9 }, capable); // only instances with > 4 GB free
 */
export function oomCandidates(
  job: Pick<SchedulerJob, 'oom_vram_free'>,
  instances: readonly SchedulerInstance[],
): readonly SchedulerInstance[] {
  const floor = job.oom_vram_free;
  if (floor === undefined || floor === null) return instances;
  const more = instances.filter((i) => i.vram_free !== null && i.vram_free > floor);
  return more.length > 0 ? more : instances;
}

/** Inputs of `chooseFree` besides the candidates. */
export interface ChooseContext {
  job: SchedulerJob;
  /** Model-load time the job would need on an instance. */
  coldMs: (instance: SchedulerInstance) => number;
  /** round_robin: the instance chosen last time (the next one in id order goes now). */
  rr_last: string | null;
}

/**
 * Picks among free, capable instances for the non-predictive strategies:
 * - `round_robin`: the next instance in id order after the last one chosen;
 * - `least_loaded`: fewest prompts per slot, then model affinity;
 * - `priority`: lowest config priority, then load, then model affinity.
 * Ties go to healthy before degraded, then (OOM retries) more free VRAM, then id.
 *
 * @example
 * const target = chooseFree('least_loaded', freeCapable, { job, coldMs, rr_last: null });
 */
export function chooseFree(
  strategy: Exclude<StrategyName, 'fastest_completion'>,
  candidates: readonly SchedulerInstance[],
  ctx: ChooseContext,
): SchedulerInstance | null {
  if (candidates.length === 0) return null;
  if (strategy === 'round_robin') {
    const sorted = [...candidates].sort((a, b) => cmp(a.id, b.id));
    const last = ctx.rr_last;
    return (last === null ? undefined : sorted.find((i) => i.id > last)) ?? sorted[0] ?? null;
  }
  const key = (i: SchedulerInstance): number[] => {
    const tail = [ctx.coldMs(i), healthRank(i), oomRank(ctx.job, i)];
    return strategy === 'priority'
      ? [i.priority, loadOf(i), ...tail]
      : [loadOf(i), ...tail, i.priority];
  };
  let best: SchedulerInstance | null = null;
  let bestKey: number[] = [];
  for (const c of candidates) {
    const k = key(c);
    if (best === null || lexLess(k, bestKey) || (lexEqual(k, bestKey) && c.id < best.id)) {
      best = c;
      bestKey = k;
    }
  }
  return best;
}

/**
 * Rank for ties: 0 healthy, 1 degraded.
 *
 * @example
 * healthRank({ ...instance, health: 'degraded' }); // 1
 */
export function healthRank(instance: SchedulerInstance): number {
  return instance.health === 'healthy' ? 0 : 1;
}

/**
 * Rank for ties. For OOM retries: more free VRAM ranks first (negated bytes); 0 for other jobs.
 *
 * @example
 * oomRank({ oom_vram_free: 8e9 }, { ...instance, vram_free: 24e9 }); // -24e9
 */
export function oomRank(
  job: Pick<SchedulerJob, 'oom_vram_free'>,
  instance: SchedulerInstance,
): number {
  if (job.oom_vram_free === undefined) return 0;
  return -(instance.vram_free ?? 0);
}

function lexLess(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x < y;
  }
  return false;
}

function lexEqual(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
