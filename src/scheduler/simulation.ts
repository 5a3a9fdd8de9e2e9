/**
 * A deterministic discrete-event simulation of a fleet running a workload, to compare placement
 * policies without real instances: the scheduler's strategies with late binding (jobs wait in the
 * gateway; each instance holds at most max_concurrent + prefetch), and the seeds' load balancers
 * (round robin and least queue length, both choosing at submit time and pushing every job straight
 * into an instance's queue).
 */
import { canRun } from './capability.js';
import { lowerBound } from './lower-bound.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';
import type { SchedulerInstance, StrategyName } from './types.js';
import { modelKey, STRATEGIES } from './types.js';
import { promptWorkHint } from './work-hint.js';
import type { Workload, WorkloadInstance, WorkloadJob } from './workload.js';

/** A placement policy to simulate. */
export type SimPolicy =
  | { kind: 'scheduler'; strategy: StrategyName; options?: SchedulerOptions; label?: string }
  | { kind: 'submit_round_robin' }
  | { kind: 'submit_least_queue' };

/** Simulation settings. */
export interface SimOptions {
  /** Models an instance keeps loaded (least recently used one is dropped). Default: all. */
  model_cache?: number;
  /**
   * Pass `promptWorkHint(prompt)` with each job, as the dispatcher should (cold-start guesses).
   * Default false: the dispatcher does not pass them yet.
   */
  work_hints?: boolean;
  /** The workload's lower bound when already known (ms); computed otherwise. */
  lower_bound_ms?: number;
}

/** What a simulated run measured. Times in ms. */
export interface SimReport {
  policy: string;
  makespan_ms: number;
  lower_bound_ms: number;
  /** makespan ÷ lower bound. */
  ratio: number;
  /** Submit → start of execution. */
  wait_p50_ms: number;
  wait_p95_ms: number;
  /** p95 wait per owner. */
  owner_wait_p95_ms: Record<string, number>;
  /** Busy time (model loads included) ÷ makespan, per instance. */
  utilisation: Record<string, number>;
  jobs_per_instance: Record<string, number>;
  /** When each instance finished its last job, ms (the end-of-batch tail). */
  last_finish_ms: Record<string, number>;
  /** Model loads (first use, or after being dropped from the cache). */
  model_loads: number;
  /** Jobs no instance could run (never started). */
  unplaced: number;
  /** Most queue entries one scheduler decision looked at. */
  max_examined: number;
}

interface Running {
  job: WorkloadJob;
  start: number;
  end: number;
  run: number;
}

interface SimInstance {
  spec: WorkloadInstance;
  queue: WorkloadJob[];
  slots: (Running | null)[];
  /** model key → last use (for LRU). */
  loaded: Map<string, number>;
  busy: number;
  jobs: number;
  last: number;
}

interface SimEvent {
  t: number;
  seq: number;
  type: 'arrive' | 'finish' | 'recheck';
  job?: WorkloadJob;
  inst?: SimInstance;
  slot?: number;
}

/**
 * Runs a workload under one policy and reports makespan ÷ lower bound, waits and utilisation.
 * Deterministic: the same inputs give the same report.
 *
 * @example
 * const r = simulate(standardWorkload(), { kind: 'scheduler', strategy: 'fastest_completion' });
 * r.ratio; // e.g. 1.02
 */
export function simulate(
  workload: Workload,
  policy: SimPolicy,
  options: SimOptions = {},
): SimReport {
  const cacheSize = options.model_cache ?? Number.POSITIVE_INFINITY;
  const overhead = Math.max(0, workload.job_overhead_ms ?? 0);
  const hints = options.work_hints ?? false;
  const instances: SimInstance[] = workload.instances.map((spec) => ({
    spec,
    queue: [],
    slots: new Array<Running | null>(Math.max(1, spec.max_concurrent)).fill(null),
    loaded: new Map(),
    busy: 0,
    jobs: 0,
    last: 0,
  }));
  const scheduler =
    policy.kind === 'scheduler'
      ? new Scheduler({ ...policy.options, strategy: policy.strategy })
      : null;
  const events: SimEvent[] = [];
  let seq = 0;
  const push = (e: Omit<SimEvent, 'seq'>): void => heapPush(events, { ...e, seq: seq++ });
  for (const job of workload.jobs) push({ t: job.submit_at, type: 'arrive', job });

  const waits: { owner: string; wait: number }[] = [];
  let makespan = 0;
  let loads = 0;
  let rr = 0;
  let maxExamined = 0;
  const rechecks = new Set<number>();

  const start = (inst: SimInstance, now: number): void => {
    for (let s = 0; s < inst.slots.length; s++) {
      if (inst.slots[s] !== null) continue;
      const job = inst.queue.shift();
      if (job === undefined) return;
      let load = 0;
      for (const m of job.requirements.models) {
        const key = modelKey(m);
        if (!inst.loaded.has(key)) {
          load += workload.model_load_ms[key] ?? 0;
          loads++;
        }
        inst.loaded.delete(key);
        inst.loaded.set(key, now);
      }
      while (inst.loaded.size > cacheSize) {
        const oldest = inst.loaded.keys().next().value;
        if (oldest === undefined) break;
        inst.loaded.delete(oldest);
      }
      const run = job.work_ms / inst.spec.speed + Math.max(0, job.overhead_ms ?? overhead);
      const end = now + load + run;
      inst.slots[s] = { job, start: now, end, run };
      inst.busy += load + run;
      inst.jobs++;
      waits.push({ owner: job.owner, wait: now - job.submit_at });
      push({ t: end, type: 'finish', inst, slot: s });
    }
  };

  const views = (): SchedulerInstance[] =>
    instances.map((inst) => {
      const in_flight = [
        ...inst.slots.flatMap((r) =>
          r === null
            ? []
            : [{ job_id: r.job.id, owner: r.job.owner, shape: r.job.shape, started_at: r.start }],
        ),
        ...inst.queue.map((j) => ({
          job_id: j.id,
          owner: j.owner,
          shape: j.shape,
          started_at: null,
        })),
      ];
      const loaded = new Set(inst.loaded.keys());
      for (const j of inst.queue) for (const m of j.requirements.models) loaded.add(modelKey(m));
      return {
        id: inst.spec.id,
        max_concurrent: inst.spec.max_concurrent,
        prefetch: inst.spec.prefetch,
        health: 'healthy',
        accepting: true,
        priority: inst.spec.priority,
        tags: inst.spec.tags,
        capabilities: inst.spec.capabilities,
        loaded_models: [...loaded],
        vram_free: inst.spec.vram_total,
        in_flight,
      };
    });

  const dispatch = (now: number): void => {
    if (scheduler === null) return;
    for (;;) {
      const d = scheduler.nextAssignment(views(), now);
      maxExamined = Math.max(maxExamined, scheduler.lastExamined);
      if (d.type === 'assign') {
        const inst = instances.find((i) => i.spec.id === d.instance_id);
        const job = jobsById.get(d.job.id);
        if (inst === undefined || job === undefined)
          throw new Error('simulation: unknown assignment');
        inst.queue.push(job);
        start(inst, now);
        continue;
      }
      if (d.type === 'hold' && !rechecks.has(d.recheck_at)) {
        rechecks.add(d.recheck_at);
        push({ t: d.recheck_at, type: 'recheck' });
      }
      return;
    }
  };

  const jobsById = new Map(workload.jobs.map((j) => [j.id, j]));
  let unplaced = 0;
  const arrive = (job: WorkloadJob, now: number): void => {
    const capable = instances.filter((i) => canRunJob(job, i.spec));
    if (capable.length === 0) {
      unplaced++;
      return;
    }
    if (scheduler !== null) {
      scheduler.enqueue({
        id: job.id,
        owner: job.owner,
        priority: job.priority,
        requirements: job.requirements,
        shape: job.shape,
        submitted_at: job.submit_at,
        ...(hints ? { work_hint_ms: promptWorkHint(job.prompt) } : {}),
      });
      return;
    }
    let target: SimInstance | undefined;
    if (policy.kind === 'submit_round_robin') {
      target = capable[rr % capable.length];
      rr++;
    } else {
      const depth = (i: SimInstance) => i.queue.length + i.slots.filter((r) => r !== null).length;
      target = capable.reduce((a, b) => (depth(b) < depth(a) ? b : a));
    }
    if (target === undefined) return;
    target.queue.push(job);
    start(target, now);
  };

  for (let e = heapPop(events); e !== undefined; e = heapPop(events)) {
    const now = e.t;
    for (let cur: SimEvent | undefined = e; cur !== undefined; ) {
      if (cur.type === 'arrive' && cur.job !== undefined) arrive(cur.job, now);
      else if (cur.type === 'finish' && cur.inst !== undefined && cur.slot !== undefined) {
        const done = cur.inst.slots[cur.slot];
        cur.inst.slots[cur.slot] = null;
        if (done) {
          makespan = Math.max(makespan, done.end);
          cur.inst.last = Math.max(cur.inst.last, done.end);
          scheduler?.estimator.record(cur.inst.spec.id, done.job.shape, done.run);
        }
        start(cur.inst, now);
      } else if (cur.type === 'recheck') rechecks.delete(now);
      // Everything that happens at one instant is applied before placing.
      const peek = events[0];
      cur = peek !== undefined && peek.t === now ? heapPop(events) : undefined;
    }
    dispatch(now);
  }

  const bound = options.lower_bound_ms ?? lowerBound(workload);
  const all = waits.map((w) => w.wait);
  const owners = [...new Set(workload.jobs.map((j) => j.owner))].sort();
  return {
    policy: policyName(policy),
    makespan_ms: makespan,
    lower_bound_ms: bound,
    ratio: bound > 0 ? makespan / bound : 1,
    wait_p50_ms: percentile(all, 0.5),
    wait_p95_ms: percentile(all, 0.95),
    owner_wait_p95_ms: Object.fromEntries(
      owners.map((o) => [
        o,
        percentile(
          waits.filter((w) => w.owner === o).map((w) => w.wait),
          0.95,
        ),
      ]),
    ),
    utilisation: Object.fromEntries(
      instances.map((i) => [i.spec.id, makespan > 0 ? i.busy / makespan : 0]),
    ),
    jobs_per_instance: Object.fromEntries(instances.map((i) => [i.spec.id, i.jobs])),
    last_finish_ms: Object.fromEntries(instances.map((i) => [i.spec.id, i.last])),
    model_loads: loads,
    unplaced,
    max_examined: maxExamined,
  };
}

/**
 * Every strategy of the scheduler and both seed baselines on one workload.
 *
 * @example
 * for (const r of compareStrategies(standardWorkload())) console.log(r.policy, r.ratio);
 */
export function compareStrategies(workload: Workload, options: SimOptions = {}): SimReport[] {
  const policies: SimPolicy[] = [
    ...STRATEGIES.map((strategy): SimPolicy => ({ kind: 'scheduler', strategy })),
    { kind: 'submit_round_robin' },
    { kind: 'submit_least_queue' },
  ];
  const bound = options.lower_bound_ms ?? lowerBound(workload);
  return policies.map((p) => simulate(workload, p, { ...options, lower_bound_ms: bound }));
}

/**
 * A report as one aligned text line (for benchmarks and logs).
 *
 * @example
 * console.log(formatReport(simulate(w, { kind: 'submit_round_robin' })));
 */
export function formatReport(r: SimReport): string {
  const util = Object.entries(r.utilisation)
    .map(([id, u]) => `${id} ${(u * 100).toFixed(0)}%`)
    .join(', ');
  return `${r.policy.padEnd(26)} makespan ${(r.makespan_ms / 1000).toFixed(1)} s = ${r.ratio.toFixed(3)} × bound ${(r.lower_bound_ms / 1000).toFixed(1)} s | wait p50 ${(r.wait_p50_ms / 1000).toFixed(1)} s p95 ${(r.wait_p95_ms / 1000).toFixed(1)} s | util ${util} | loads ${r.model_loads}`;
}

function policyName(policy: SimPolicy): string {
  if (policy.kind === 'scheduler') return policy.label ?? policy.strategy;
  return policy.kind === 'submit_round_robin'
    ? 'seed: round robin at submit'
    : 'seed: least queue at submit';
}

function canRunJob(job: WorkloadJob, inst: WorkloadInstance): boolean {
  return canRun(job.requirements, { id: inst.id, capabilities: inst.capabilities, tags: inst.tags })
    .ok;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[idx] ?? 0;
}

function earlier(a: SimEvent, b: SimEvent): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq);
}

function heapPush(heap: SimEvent[], e: SimEvent): void {
  heap.push(e);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const p = heap[parent] as SimEvent;
    if (!earlier(e, p)) break;
    heap[i] = p;
    i = parent;
  }
  heap[i] = e;
}

function heapPop(heap: SimEvent[]): SimEvent | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (top === undefined || last === undefined || heap.length === 0) return top;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    let mv = last;
    const lv = heap[l];
    const rv = heap[r];
    if (lv !== undefined && earlier(lv, mv)) {
      m = l;
      mv = lv;
    }
    if (rv !== undefined && earlier(rv, mv)) {
      m = r;
      mv = rv;
    }
    if (m === i) break;
    heap[i] = mv;
    i = m;
  }
  heap[i] = last;
  return top;
}
