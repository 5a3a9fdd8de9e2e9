import { checkFleet, type FleetCheck } from './capability.js';
import { RuntimeEstimator } from './estimator.js';
import { InstanceProjection } from './instance-projection.js';
import type { JobClass } from './job-class.js';
import {
  chooseFree,
  coldModels,
  hasFreeSlot,
  healthRank,
  isEligible,
  modelLoadMs,
  oomCandidates,
  oomRank,
} from './placement.js';
import type { QueueEntry } from './queue-lanes.js';
import type {
  Assignment,
  Decision,
  Hold,
  ModelRef,
  SchedulerInstance,
  SchedulerJob,
  StrategyName,
} from './types.js';
import { STRATEGIES } from './types.js';
import { WaitingQueue, type WaitingQueueOptions } from './waiting-queue.js';

/** Settings of a `Scheduler`. */
export interface SchedulerOptions extends WaitingQueueOptions {
  /** Placement strategy. Default `DEFAULT_STRATEGY`. */
  strategy?: StrategyName;
  /** Run-time estimates (shared with whoever records completions). Default: a new one. */
  estimator?: RuntimeEstimator;
  /** Model-load time per folder, ms (overrides `DEFAULT_MODEL_LOAD_MS`). */
  model_load_ms?: Readonly<Record<string, number>>;
  /**
   * fastest_completion: hold a job for a busy instance that would finish it sooner than any free
   * one. Default true; false sends every job to the free instance that finishes it first.
   */
  hold?: boolean;
  /**
   * fastest_completion: a free instance is taken when its expected finish is within this share
   * of the job's run time of the best (busy) one. Default `DEFAULT_HOLD_TOLERANCE`.
   */
  hold_tolerance?: number;
  /** fastest_completion: most jobs held (planned ahead) per decision. Default 64. */
  lookahead?: number;
  /**
   * Gateway-wide cap on jobs on instances at once (running or queued there, on every instance
   * together): the `MAX_CONCURRENT_JOBS` setting. 0, null or absent: no cap (the per-instance
   * `max_concurrent + prefetch` limits apply alone).
   */
  max_concurrent_jobs?: number | null;
}

/** The default strategy: the best of the simulation (see README and simulation.test.ts). */
export const DEFAULT_STRATEGY: StrategyName = 'fastest_completion';
/** See `SchedulerOptions.hold_tolerance`. */
export const DEFAULT_HOLD_TOLERANCE = 0.1;

/** A waiting job that no instance of the fleet can run any more, and why. */
export interface UnrunnableJob {
  job: SchedulerJob;
  check: FleetCheck;
}

interface Evaluation {
  instance: SchedulerInstance;
  free: boolean;
  /** ms since epoch. */
  start: number;
  /** ms from the decision. */
  start_in: number;
  run: number;
  load: number;
  cold: string[];
  finish: number;
}

const IDLE: Decision = { type: 'idle' };
const EPS = 1e-6;

/**
 * The scheduler's decision core: the global waiting queue plus placement. No I/O and no clock:
 * the dispatcher passes the fleet and the time, and calls `nextAssignment` whenever a slot frees,
 * a job arrives or an instance changes, sending each assignment before asking again (and adding
 * it to that instance's `in_flight`), until the answer is not `assign`. A `hold` answer means:
 * ask again at `recheck_at` if nothing happened before.
 *
 * @example
 * const scheduler = new Scheduler({ strategy: 'fastest_completion' });
 * scheduler.enqueue(job);
 * for (;;) {
 *   const d = scheduler.nextAssignment(fleetView(), Date.now());
 *   if (d.type !== 'assign') break;
 *   send(d.job, d.instance_id);
 * }
 * // on completion: scheduler.estimator.record(instanceId, job.shape, runMs);
 */
export class Scheduler {
  readonly queue: WaitingQueue;
  readonly estimator: RuntimeEstimator;
  readonly strategy: StrategyName;
  /** Queue entries the last `nextAssignment` looked at (to check it does not scan everything). */
  lastExamined = 0;
  private readonly loadOverrides: Readonly<Record<string, number>>;
  private readonly hold: boolean;
  private readonly holdTolerance: number;
  private readonly lookahead: number;
  private rrLast: string | null = null;
  private concurrencyCap: number | null = null;
  private fleetSeen: { id: string; caps: object; tags: readonly string[] }[] = [];

  constructor(options: SchedulerOptions = {}) {
    const strategy = options.strategy ?? DEFAULT_STRATEGY;
    if (!STRATEGIES.includes(strategy)) {
      throw new Error(`unknown strategy "${String(strategy)}" (one of ${STRATEGIES.join(', ')})`);
    }
    this.strategy = strategy;
    this.queue = new WaitingQueue(options);
    this.estimator = options.estimator ?? new RuntimeEstimator();
    this.loadOverrides = options.model_load_ms ?? {};
    this.hold = options.hold ?? true;
    this.holdTolerance = Math.max(0, options.hold_tolerance ?? DEFAULT_HOLD_TOLERANCE);
    this.lookahead = Math.max(1, Math.floor(options.lookahead ?? 64));
    this.maxConcurrentJobs = options.max_concurrent_jobs ?? null;
  }

  /**
   * The gateway-wide cap on jobs on instances at once (`MAX_CONCURRENT_JOBS`), null when there is
   * none. Settable at run time (settings reloaded); 0, negative or non-finite values mean no cap.
   *
   * @example
   * scheduler.maxConcurrentJobs = 6; // at most 6 jobs running or queued on instances in total
   */
  get maxConcurrentJobs(): number | null {
    return this.concurrencyCap;
  }

  set maxConcurrentJobs(value: number | null) {
    this.concurrencyCap =
      value !== null && Number.isFinite(value) && value >= 1 ? Math.floor(value) : null;
  }

  /**
   * Adds a waiting job (also a job put back after a failure, with the failed instance in
   * `excluded`; it keeps its FIFO place by `submitted_at`). Its fair-share cost is its estimated
   * run time.
   *
   * @example
   * scheduler.enqueue({ ...job, excluded: [...(job.excluded ?? []), 'gpu2'] });
   */
  enqueue(job: SchedulerJob): QueueEntry {
    if (job.work_hint_ms !== undefined) this.estimator.hint(job.shape, job.work_hint_ms);
    return this.queue.enqueue(job, this.estimator.referenceMs(job.shape));
  }

  /**
   * Removes a waiting job (cancelled). False if it was not waiting.
   *
   * @example
   * scheduler.cancel(jobId);
   */
  cancel(jobId: string): boolean {
    return this.queue.remove(jobId) !== null;
  }

  /**
   * Model-load time of one file under this scheduler's settings.
   *
   * @example
   * scheduler.modelLoadMs({ folder: 'checkpoints', file: 'sdxl.safetensors' }); // 5000
   */
  modelLoadMs(ref: ModelRef): number {
    return modelLoadMs(ref, this.loadOverrides);
  }

  /**
   * The next placement: which waiting job goes to which instance now. `instances` is the whole
   * fleet (busy and unhealthy ones too: holds and selectivity look at them). The job is removed
   * from the queue when an assignment is returned.
   *
   * @example
   * const d = scheduler.nextAssignment(instances, Date.now());
   * if (d.type === 'assign') dispatch(d.job, d.instance_id);
   * else if (d.type === 'hold') setTimeout(retry, d.recheck_at - Date.now());
   */
  nextAssignment(instances: readonly SchedulerInstance[], now: number): Decision {
    this.lastExamined = 0;
    if (this.queue.size === 0) return IDLE;
    let room = Number.POSITIVE_INFINITY;
    if (this.concurrencyCap !== null) {
      // Jobs on instances anywhere count, also on instances that take no new work now.
      let onInstances = 0;
      for (const inst of instances) onInstances += inst.in_flight.length;
      room = this.concurrencyCap - onInstances;
      if (room <= 0) return IDLE;
    }
    const eligible = instances.filter(isEligible);
    let open = eligible.filter(hasFreeSlot);
    if (room !== Number.POSITIVE_INFINITY) {
      // Under the cap, a job queued behind another while an instance sits idle would waste a
      // unit of it: while the room left does not exceed the idle execution slots, only those.
      const idle = open.filter((i) => i.in_flight.length < Math.max(1, i.max_concurrent));
      const idleSlots = idle.reduce(
        (n, i) => n + Math.max(1, i.max_concurrent) - i.in_flight.length,
        0,
      );
      if (idle.length > 0 && room <= idleSlots) open = idle;
    }
    const free = new Set(open.map((i) => i.id));
    if (free.size === 0) return IDLE;
    const inFlight = new Map<string, number>();
    for (const inst of instances) {
      for (const j of inst.in_flight) inFlight.set(j.owner, (inFlight.get(j.owner) ?? 0) + 1);
    }
    this.syncFleet(instances);
    const scan = this.queue.scan({ in_flight: inFlight });
    const projections = new Map<string, InstanceProjection>();
    const projection = (inst: SchedulerInstance): InstanceProjection => {
      let p = projections.get(inst.id);
      if (p === undefined) {
        p = new InstanceProjection(inst, now, (shape) => this.estimator.estimate(inst.id, shape));
        projections.set(inst.id, p);
      }
      return p;
    };
    const held: Hold['held'] = [];
    const fallbacks: { entry: QueueEntry; ev: Evaluation }[] = [];
    let plannedWork = 0;
    let recheck = Number.POSITIVE_INFINITY;
    try {
      for (let entry = scan.next(); entry !== null; entry = scan.next()) {
        const job = entry.job;
        const candidates = oomCandidates(
          job,
          eligible.filter((i) => entry.cls.canRunOn(i)),
        );
        const freeCandidates = candidates.filter((i) => free.has(i.id));
        if (this.strategy !== 'fastest_completion') {
          const target = chooseFree(this.strategy, freeCandidates, {
            job,
            coldMs: (i) => this.cold(job, new Set(i.loaded_models)).ms,
            rr_last: this.rrLast,
          });
          if (target === null) {
            scan.skipClass(entry.cls);
            continue;
          }
          return this.assign(entry, this.evaluate(job, target, projection(target), true));
        }
        if (candidates.length === 0) {
          scan.skipClass(entry.cls);
          continue;
        }
        if (freeCandidates.length === 0) {
          // Its whole class waits for busy instances: count that work against them.
          this.planClass(entry.cls, candidates, projection);
          scan.skipClass(entry.cls);
          continue;
        }
        let best: Evaluation | null = null;
        let bestFree: Evaluation | null = null;
        for (const inst of candidates) {
          const ev = this.evaluate(job, inst, projection(inst), free.has(inst.id));
          if (best === null || better(ev, best, job)) best = ev;
          if (ev.free && (bestFree === null || better(ev, bestFree, job))) bestFree = ev;
        }
        if (best === null || bestFree === null) {
          scan.skipClass(entry.cls);
          continue;
        }
        if (
          best === bestFree ||
          !this.hold ||
          bestFree.finish <= best.finish + this.holdTolerance * best.run + EPS
        ) {
          return this.assign(entry, bestFree);
        }
        // Held for a faster busy instance: plan it there, so later jobs see that slot taken.
        recheck = Math.min(recheck, best.start);
        projection(best.instance).add(best.load + best.run, best.cold);
        held.push({ job_id: job.id, instance_id: best.instance.id });
        fallbacks.push({ entry, ev: bestFree });
        plannedWork += entry.cost;
        scan.consume(entry);
        if (held.length >= this.lookahead) {
          // The plan stops here, the queue does not: if the work beyond it alone keeps the
          // fleet busy longer than a free instance needs for a held job, holding gains nothing.
          const fallback = this.beyondLookahead(fallbacks, plannedWork, eligible, now);
          if (fallback !== null) return this.assign(fallback.entry, fallback.ev);
          break;
        }
      }
    } finally {
      this.lastExamined = scan.examined;
    }
    if (held.length === 0) return IDLE;
    return { type: 'hold', recheck_at: Math.max(now + 1, recheck), held };
  }

  /**
   * Expected seconds until a waiting job completes: the work ahead of it in the queue and on the
   * instances, spread over the fleet's speed, plus its own run on the best capable instance.
   * Null when it is not waiting or no eligible instance can run it now.
   *
   * @example
   * const eta = scheduler.estimateCompletionSeconds(job.id, instances, Date.now());
   */
  estimateCompletionSeconds(
    jobId: string,
    instances: readonly SchedulerInstance[],
    now: number,
  ): number | null {
    const entry = this.queue.get(jobId);
    if (entry === undefined) return null;
    const eligible = instances.filter(isEligible);
    const capable = eligible.filter((i) => entry.cls.canRunOn(i));
    if (capable.length === 0) return null;
    let capacity = 0;
    let busy = 0;
    for (const inst of eligible) {
      const speed = this.estimator.speedOf(inst.id);
      capacity += Math.max(1, inst.max_concurrent) * speed;
      const p = new InstanceProjection(inst, now, (s) => this.estimator.estimate(inst.id, s));
      for (const t of p.slots) busy += (t - now) * speed;
    }
    const ahead = this.queue.workAhead(jobId) ?? 0;
    let own = Number.POSITIVE_INFINITY;
    for (const inst of capable) {
      const run = this.estimator.estimate(inst.id, entry.job.shape);
      own = Math.min(own, run + this.cold(entry.job, new Set(inst.loaded_models)).ms);
    }
    return ((ahead + busy) / capacity + own) / 1000;
  }

  /**
   * Waiting jobs that no instance of `instances` (whatever its health) could run: after an
   * instance was removed or lost a model. The jobs layer fails them with `check.reason`.
   *
   * @example
   * for (const { job, check } of scheduler.unrunnable(instances)) fail(job.id, check.reason);
   */
  unrunnable(instances: readonly SchedulerInstance[]): UnrunnableJob[] {
    const stranded = new Map<JobClass, FleetCheck>();
    for (const cls of this.queue.jobClasses()) {
      if (instances.some((i) => cls.canRunOn(i))) continue;
      stranded.set(cls, checkFleet(cls.requirements, instances, cls.constraints));
    }
    if (stranded.size === 0) return [];
    const out: UnrunnableJob[] = [];
    for (const entry of this.queue.entries()) {
      const check = stranded.get(entry.cls);
      if (check !== undefined) out.push({ job: entry.job, check });
    }
    return out;
  }

  /** Recomputes selectivity when instances, their capabilities or tags changed (by identity). */
  private syncFleet(instances: readonly SchedulerInstance[]): void {
    const seen = this.fleetSeen;
    if (
      seen.length === instances.length &&
      instances.every((i, k) => {
        const s = seen[k];
        return s !== undefined && s.id === i.id && s.caps === i.capabilities && s.tags === i.tags;
      })
    ) {
      return;
    }
    this.fleetSeen = instances.map((i) => ({ id: i.id, caps: i.capabilities, tags: i.tags }));
    const fleet = [...instances];
    this.queue.setSelectivity((cls) => fleet.reduce((n, i) => n + (cls.canRunOn(i) ? 1 : 0), 0));
  }

  private cold(job: SchedulerJob, loaded: ReadonlySet<string>) {
    return coldModels(job.requirements.models, loaded, (m) => this.modelLoadMs(m));
  }

  private evaluate(
    job: SchedulerJob,
    instance: SchedulerInstance,
    p: InstanceProjection,
    free: boolean,
  ): Evaluation {
    const run = this.estimator.estimate(instance.id, job.shape);
    const cold = this.cold(job, p.models);
    const start = p.startAt;
    return {
      instance,
      free,
      start,
      start_in: Math.max(0, start - p.now),
      run,
      load: cold.ms,
      cold: cold.keys,
      finish: start + cold.ms + run,
    };
  }

  private beyondLookahead(
    options: readonly { entry: QueueEntry; ev: Evaluation }[],
    plannedWork: number,
    eligible: readonly SchedulerInstance[],
    now: number,
  ): { entry: QueueEntry; ev: Evaluation } | null {
    let capacity = 0;
    for (const inst of eligible) {
      capacity += Math.max(1, inst.max_concurrent) * this.estimator.speedOf(inst.id);
    }
    if (capacity <= 0) return null;
    const backlog = Math.max(0, this.queue.work - plannedWork) / capacity;
    let pick: { entry: QueueEntry; ev: Evaluation } | null = null;
    for (const o of options) if (pick === null || o.ev.finish < pick.ev.finish) pick = o;
    return pick !== null && backlog >= pick.ev.finish - now ? pick : null;
  }

  private planClass(
    cls: JobClass,
    candidates: readonly SchedulerInstance[],
    projection: (inst: SchedulerInstance) => InstanceProjection,
  ): void {
    let capacity = 0;
    for (const inst of candidates) {
      capacity += Math.max(1, inst.max_concurrent) * this.estimator.speedOf(inst.id);
    }
    if (capacity <= 0) return;
    const delay = cls.work / capacity;
    for (const inst of candidates) projection(inst).delay(delay);
  }

  private assign(entry: QueueEntry, ev: Evaluation): Assignment {
    this.queue.take(entry.job.id);
    this.rrLast = ev.instance.id;
    return {
      type: 'assign',
      job: entry.job,
      instance_id: ev.instance.id,
      strategy: this.strategy,
      estimated_start_in_ms: ev.start_in,
      estimated_run_ms: ev.run,
      model_load_ms: ev.load,
      cold_models: ev.cold,
    };
  }
}

/** Earlier finish; ties: free, healthy, more VRAM (OOM retries), config priority, id. */
function better(a: Evaluation, b: Evaluation, job: SchedulerJob): boolean {
  if (Math.abs(a.finish - b.finish) > EPS) return a.finish < b.finish;
  if (a.free !== b.free) return a.free;
  const h = healthRank(a.instance) - healthRank(b.instance);
  if (h !== 0) return h < 0;
  const o = oomRank(job, a.instance) - oomRank(job, b.instance);
  if (o !== 0) return o < 0;
  if (a.instance.priority !== b.instance.priority) return a.instance.priority < b.instance.priority;
  return a.instance.id < b.instance.id;
}
