import type { SchedulerInstance } from './types.js';

/** A running job past its estimate is still expected to need this share of it. */
const OVERRUN_REMAINING = 0.1;

/**
 * When each execution slot of an instance is expected to free, given what it runs and has queued
 * (and what a placement walk planned on it), and which models it will have loaded by then.
 *
 * @example
 * const p = new InstanceProjection(instance, now, (shape) => estimator.estimate(instance.id, shape));
 * p.startAt; // when a job sent now would start
 * p.add(4000, ['checkpoints/sdxl.safetensors']); // plan one more job
 */
export class InstanceProjection {
  /** ms since epoch at which each slot frees. */
  readonly slots: number[];
  /** Model keys loaded by the time the planned work ran. */
  readonly models: Set<string>;
  /** The time the projection was made for. */
  readonly now: number;

  constructor(instance: SchedulerInstance, now: number, estimate: (shape: string) => number) {
    this.now = now;
    const n = Math.max(1, Math.floor(instance.max_concurrent));
    this.slots = new Array<number>(n).fill(now);
    this.models = new Set(instance.loaded_models);
    let slot = 0;
    const queued: number[] = [];
    for (const job of instance.in_flight) {
      const est = estimate(job.shape);
      if (job.started_at !== null && slot < n) {
        const elapsed = Math.max(0, now - job.started_at);
        this.slots[slot] = now + Math.max(est - elapsed, est * OVERRUN_REMAINING);
        slot++;
      } else {
        queued.push(est);
      }
    }
    for (const est of queued) this.add(est);
  }

  /** When the next job would start (the earliest slot). */
  get startAt(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const t of this.slots) if (t < min) min = t;
    return min;
  }

  /**
   * Plans a job of `ms` on the earliest slot; its models count as loaded afterwards.
   *
   * @example
   * projection.add(2500, job.models.map(modelKey));
   */
  add(ms: number, models: readonly string[] = []): void {
    let idx = 0;
    for (let i = 1; i < this.slots.length; i++) {
      if ((this.slots[i] ?? 0) < (this.slots[idx] ?? 0)) idx = i;
    }
    this.slots[idx] = (this.slots[idx] ?? 0) + Math.max(0, ms);
    for (const m of models) this.models.add(m);
  }

  /**
   * Pushes every slot back by `ms` (bulk work spread over the instance).
   *
   * @example
   * projection.delay(60_000);
   */
  delay(ms: number): void {
    for (let i = 0; i < this.slots.length; i++)
      this.slots[i] = (this.slots[i] ?? 0) + Math.max(0, ms);
  }
}
