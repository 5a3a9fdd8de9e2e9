/**
 * A lower bound on the makespan of any schedule of a workload, to judge placement against.
 *
 * Jobs are grouped into classes (same capable instances, same model files). The bound relaxes the
 * problem by letting a class's work be divided across its capable instances at will (a flow), and
 * keeps what no schedule avoids: capability restrictions, the longest job, arrivals and the first
 * load of every model on every instance that runs a job naming it. Each term is a true bound; the
 * bound is their maximum.
 */
import { canRun } from './capability.js';
import { solveLp } from './linear-program.js';
import { modelKey } from './types.js';
import type { Workload } from './workload.js';

/** One term of the bound. */
export interface BoundTerm {
  name: 'total_work' | 'restricted' | 'longest_job' | 'arrivals' | 'model_loads';
  /** ms. */
  ms: number;
  /** What makes it, in words (the instance set that binds, the job...). */
  detail: string;
}

/** The bound and how it is made up. */
export interface LowerBoundDetail {
  /** The bound: the largest term, ms. */
  ms: number;
  /** The term that gives it. */
  binding: BoundTerm['name'];
  terms: BoundTerm[];
}

/** Limits of the exact model-load relaxation. */
export interface LowerBoundOptions {
  /**
   * Most combinations of per-instance model sets to enumerate for the model-load term. Beyond
   * it, a weaker (still valid) term is used: every model loaded once, on the slowest instance
   * that could. Default 200 000.
   */
  max_load_sets?: number;
}

interface BInstance {
  id: string;
  speed: number;
  slots: number;
}

interface BClass {
  /** Bit i: instance i can run it. */
  mask: number;
  models: string[];
  work: number;
  /** Sum of the jobs' speed-independent overheads, ms. */
  overhead: number;
  count: number;
}

const MAX_INSTANCES = 30;

/**
 * The makespan lower bound of a workload, with its terms:
 * - `total_work`: all work ÷ the fleet's speed (speed × slots per instance);
 * - `restricted`: for every set J of instances, the work of the jobs that can only run on J ÷
 *   J's speed (the exact optimum of the divisible relaxation, by max-flow / min-cut);
 * - `longest_job`: over jobs, arrival + its models' load + its work on its fastest capable instance;
 * - `arrivals`: over arrival times t, t + the `restricted` bound of the jobs arriving at t or later;
 * - `model_loads`: the divisible relaxation again, but every instance first loads each model file
 *   it runs jobs of (one load per model per instance, the least any schedule does from a cold
 *   start): the minimum over which instances load which models.
 *
 * @example
 * const b = lowerBoundDetail(standardWorkload());
 * b.ms; // the bound, ms
 * b.terms.map((t) => `${t.name} ${t.ms}`); // how it is made up
 */
export function lowerBoundDetail(
  workload: Workload,
  options: LowerBoundOptions = {},
): LowerBoundDetail {
  const instances: BInstance[] = workload.instances.map((i) => ({
    id: i.id,
    speed: i.speed,
    slots: Math.max(1, i.max_concurrent),
  }));
  const n = instances.length;
  if (n === 0 || n > MAX_INSTANCES) return simpleOnly(workload);
  const loadOf = (key: string) => workload.model_load_ms[key] ?? 0;
  const overheadOf = (job: Workload['jobs'][number]) =>
    Math.max(0, job.overhead_ms ?? workload.job_overhead_ms ?? 0);
  const anyOverhead = workload.jobs.some((j) => overheadOf(j) > 0);
  // With a per-job overhead that does not scale with speed, instances are no longer uniformly
  // related: the divisible relaxation is a linear program instead of a flow.
  const divisible = (cls: readonly BClass[], preload: (i: number) => number) =>
    anyOverhead ? lpBound(cls, instances, preload) : flowBound(cls, instances, preload);

  const classes = new Map<string, BClass>();
  const jobs: {
    submit: number;
    work: number;
    overhead: number;
    mask: number;
    models: string[];
  }[] = [];
  for (const job of workload.jobs) {
    let mask = 0;
    workload.instances.forEach((inst, i) => {
      const ok = canRun(job.requirements, {
        id: inst.id,
        capabilities: inst.capabilities,
        tags: inst.tags,
      }).ok;
      if (ok && inst.speed > 0) mask |= 1 << i;
    });
    if (mask === 0) continue;
    const models = [...new Set(job.requirements.models.map(modelKey))].sort();
    const overhead = overheadOf(job);
    jobs.push({ submit: job.submit_at, work: job.work_ms, overhead, mask, models });
    const key = `${mask}|${models.join('|')}`;
    const cls = classes.get(key) ?? { mask, models, work: 0, overhead: 0, count: 0 };
    cls.work += job.work_ms;
    cls.overhead += overhead;
    cls.count++;
    classes.set(key, cls);
  }
  const all = [...classes.values()];
  const terms: BoundTerm[] = [];
  const names = (mask: number) =>
    instances
      .filter((_, i) => mask & (1 << i))
      .map((i) => i.id)
      .join(', ');

  // total work ÷ total speed; a job's overhead costs the least work where speed is lowest
  const totalWork = all.reduce((s, c) => s + c.work, 0);
  const overheads = all.reduce((s, c) => s + c.overhead, 0);
  const fullMask = all.reduce((m, c) => m | c.mask, 0);
  const fleetSpeed = speedOf(instances, (1 << n) - 1);
  const slowest = Math.min(...instances.map((i) => i.speed));
  const extraWork = overheads * slowest;
  terms.push({
    name: 'total_work',
    ms: fleetSpeed > 0 ? (totalWork + extraWork) / fleetSpeed : 0,
    detail: `${(totalWork / 1000).toFixed(1)} s of work at speed 1${overheads > 0 ? ` + ${(overheads / 1000).toFixed(1)} s of per-job overhead` : ''} ÷ fleet speed ${fleetSpeed}`,
  });

  // restricted subsets (divisible relaxation, no loads)
  const flow = divisible(all, () => 0);
  terms.push({
    name: 'restricted',
    ms: flow.ms,
    detail:
      flow.mask === 0
        ? anyOverhead
          ? 'linear program over job classes × instances'
          : 'no jobs'
        : `jobs only ${names(flow.mask)} can run: ${(flow.work / 1000).toFixed(1)} s of work ÷ their speed ${speedOf(instances, flow.mask)}`,
  });

  // longest job (with the load of its own models, unavoidable before it ends)
  let longest = { ms: 0, detail: 'no jobs' };
  for (const j of jobs) {
    let best = Number.POSITIVE_INFINITY;
    let where = '';
    const load = j.models.reduce((s, m) => s + loadOf(m), 0);
    instances.forEach((inst, i) => {
      if (!(j.mask & (1 << i))) return;
      const t = load + j.work / inst.speed + j.overhead;
      if (t < best) {
        best = t;
        where = inst.id;
      }
    });
    if (j.submit + best > longest.ms) {
      longest = {
        ms: j.submit + best,
        detail: `a job of ${(j.work / 1000).toFixed(1)} s (+ ${(load / 1000).toFixed(1)} s load) arriving at ${(j.submit / 1000).toFixed(1)} s, on ${where}`,
      };
    }
  }
  terms.push({ name: 'longest_job', ...longest });

  // arrivals: t + the flow bound of what arrives at t or later
  const times = [...new Set(jobs.map((j) => j.submit))].filter((t) => t > 0).sort((a, b) => a - b);
  let arrivals = { ms: 0, detail: 'all jobs arrive at 0' };
  const step = Math.max(1, Math.ceil(times.length / 200));
  for (let k = 0; k < times.length; k += step) {
    const t = times[k] as number;
    const later = new Map<string, BClass>();
    for (const j of jobs) {
      if (j.submit < t) continue;
      const key = `${j.mask}|${j.models.join('|')}`;
      const c = later.get(key) ?? {
        mask: j.mask,
        models: j.models,
        work: 0,
        overhead: 0,
        count: 0,
      };
      c.work += j.work;
      c.overhead += j.overhead;
      c.count++;
      later.set(key, c);
    }
    const b = divisible([...later.values()], () => 0);
    if (t + b.ms > arrivals.ms) {
      arrivals = {
        ms: t + b.ms,
        detail: `${(t / 1000).toFixed(1)} s + the work arriving from then on (${names(b.mask)})`,
      };
    }
  }
  terms.push({ name: 'arrivals', ...arrivals });

  terms.push(
    loadTerm(all, instances, loadOf, divisible, options.max_load_sets ?? 200_000, () =>
      weakLoadTerm(all, instances, loadOf, fullMask, extraWork),
    ),
  );

  let best = terms[0] as BoundTerm;
  for (const t of terms) if (t.ms > best.ms + 1e-9) best = t;
  return { ms: best.ms, binding: best.name, terms };
}

/**
 * The makespan lower bound of a workload, ms (see `lowerBoundDetail` for its terms).
 *
 * @example
 * lowerBound(standardWorkload()); // ms
 */
export function lowerBound(workload: Workload): number {
  return lowerBoundDetail(workload).ms;
}

/** The bound of a report line: each term in seconds, the binding one marked. */
export function formatBound(b: LowerBoundDetail): string {
  return b.terms
    .map((t) => `${t.name === b.binding ? '*' : ''}${t.name} ${(t.ms / 1000).toFixed(1)} s`)
    .join(', ');
}

function speedOf(instances: readonly BInstance[], mask: number): number {
  let s = 0;
  instances.forEach((inst, i) => {
    if (mask & (1 << i)) s += inst.speed * inst.slots;
  });
  return s;
}

/** Every union of class neighbourhoods (the instance sets a min cut can take). */
function unions(masks: readonly number[], limit: number): number[] | null {
  const seen = new Set<number>([0]);
  for (const m of new Set(masks)) {
    for (const u of [...seen]) {
      seen.add(u | m);
      if (seen.size > limit) return null;
    }
  }
  seen.delete(0);
  return [...seen];
}

/**
 * min T such that the classes' work fits on their instances with each instance i giving
 * speed_i × (slots_i × T − preload_i) of work: max over instance sets J of
 * (work that only J can run + Σ_J speed × preload) ÷ speed(J).
 */
function flowBound(
  classes: readonly BClass[],
  instances: readonly BInstance[],
  preload: (i: number) => number,
): { ms: number; mask: number; work: number } {
  let best = { ms: 0, mask: 0, work: 0 };
  const sets = unions(
    classes.map((c) => c.mask),
    1 << 16,
  ) ?? [classes.reduce((m, c) => m | c.mask, 0)];
  for (const J of sets) {
    let work = 0;
    for (const c of classes) if ((c.mask & ~J) === 0) work += c.work;
    if (work <= 0) continue;
    let speed = 0;
    let pre = 0;
    instances.forEach((inst, i) => {
      if (!(J & (1 << i))) return;
      speed += inst.speed * inst.slots;
      pre += inst.speed * preload(i);
    });
    const ms = speed > 0 ? (work + pre) / speed : Number.POSITIVE_INFINITY;
    if (ms > best.ms) best = { ms, mask: J, work };
  }
  return best;
}

/**
 * The divisible relaxation when jobs also cost overhead ms of slot time whatever the instance's
 * speed: min T such that Σ_i f_ci = 1 per class and, per instance,
 * Σ_c f_ci × (work_c ÷ speed_i + overhead_c) + preload_i ≤ slots_i × T.
 */
function lpBound(
  classes: readonly BClass[],
  instances: readonly BInstance[],
  preload: (i: number) => number,
): { ms: number; mask: number; work: number } {
  const times = classes.map((c) =>
    instances.map((inst, i) =>
      c.mask & (1 << i) ? c.work / inst.speed + c.overhead : Number.POSITIVE_INFINITY,
    ),
  );
  const ms = unrelatedBound(
    times,
    instances.map((i) => i.slots),
    instances.map((_, i) => preload(i)),
  );
  return { ms, mask: 0, work: classes.reduce((s, c) => s + c.work, 0) };
}

/**
 * Makespan bound for divisible classes on unrelated instances: `times[c][i]` is the slot time
 * all of class c would take on instance i (Infinity where it cannot run); instance i has
 * `slots[i]` slots and first spends `preload[i]` of slot time (model loads). The optimum of the
 * linear program min T s.t. Σ_i f_ci = 1, Σ_c f_ci × times[c][i] + preload_i ≤ slots_i × T.
 * Infinity when some class cannot run anywhere.
 *
 * @example
 * unrelatedBound([[1000, 2000]], [1, 1]); // 666.7: two thirds on the first, one on the second
 */
export function unrelatedBound(
  times: readonly (readonly number[])[],
  slots: readonly number[],
  preload: readonly number[] = [],
): number {
  const n = slots.length;
  const pre = slots.map((_, i) => Math.max(0, preload[i] ?? 0));
  // T = T0 + t, with T0 the preload alone, keeps every right-hand side ≥ 0.
  const t0 = Math.max(0, ...pre.map((p, i) => p / Math.max(1, slots[i] ?? 1)));
  const vars: { c: number; i: number }[] = [];
  times.forEach((row, c) => {
    row.forEach((t, i) => {
      if (Number.isFinite(t) && i < n) vars.push({ c, i });
    });
  });
  if (times.some((row) => !row.some((t, i) => Number.isFinite(t) && i < n))) {
    return Number.POSITIVE_INFINITY;
  }
  if (times.length === 0) return t0;
  const tVar = vars.length;
  const width = vars.length + 1;
  const objective = new Array<number>(width).fill(0);
  objective[tVar] = 1;
  const equal = times.map((_, c) => ({
    coeffs: vars.map((v) => (v.c === c ? 1 : 0)).concat(0),
    rhs: 1,
  }));
  const at_most = slots.map((s, i) => {
    const coeffs = vars.map((v) => (v.i === i ? (times[v.c]?.[i] ?? 0) : 0));
    coeffs.push(-Math.max(1, s));
    return { coeffs, rhs: Math.max(0, Math.max(1, s) * t0 - (pre[i] ?? 0)) };
  });
  const r = solveLp({ objective, equal, at_most });
  return r.status === 'optimal' ? t0 + r.value : Number.POSITIVE_INFINITY;
}

/**
 * The divisible relaxation with model loads: choose for each instance the set of models it loads
 * (only unions of the model sets of classes it can run matter); a class may then use an instance
 * only if that instance loads all its models, and the instance's loads take slot time first.
 * The minimum over all choices is a bound (every schedule makes one such choice). Enumerated
 * exactly up to `limit` combinations, else a weaker term.
 */
function loadTerm(
  classes: readonly BClass[],
  instances: readonly BInstance[],
  loadOf: (key: string) => number,
  divisible: (cls: readonly BClass[], preload: (i: number) => number) => { ms: number },
  limit: number,
  weak: () => BoundTerm,
): BoundTerm {
  const n = instances.length;
  const options: string[][][] = [];
  let combos = 1;
  for (let i = 0; i < n; i++) {
    const here = classes.filter((c) => c.mask & (1 << i));
    const sets = new Map<string, string[]>([['', []]]);
    for (const c of here) {
      if (c.models.length === 0) continue;
      for (const s of [...sets.values()]) {
        const u = [...new Set([...s, ...c.models])].sort();
        sets.set(u.join('|'), u);
        if (sets.size > 4096) break;
      }
    }
    options.push([...sets.values()]);
    combos *= sets.size;
  }
  if (combos > limit || combos <= 0) return weak();

  let best = Number.POSITIVE_INFINITY;
  let bestChoice: string[][] = [];
  const choice: string[][] = new Array(n).fill([]);
  const loads = new Array<number>(n).fill(0);
  const visit = (i: number): void => {
    if (i === n) {
      const t = evaluate();
      if (t < best) {
        best = t;
        bestChoice = choice.map((c) => c);
      }
      return;
    }
    for (const set of options[i] as string[][]) {
      choice[i] = set;
      loads[i] = set.reduce((s, m) => s + loadOf(m), 0);
      visit(i + 1);
    }
  };
  const evaluate = (): number => {
    const restricted: BClass[] = [];
    for (const c of classes) {
      let mask = 0;
      for (let i = 0; i < n; i++) {
        if (!(c.mask & (1 << i))) continue;
        const set = choice[i] as string[];
        if (c.models.every((m) => set.includes(m))) mask |= 1 << i;
      }
      if (mask === 0) return Number.POSITIVE_INFINITY;
      restricted.push({ ...c, mask });
    }
    let t = 0;
    instances.forEach((inst, i) => {
      t = Math.max(t, (loads[i] ?? 0) / inst.slots);
    });
    return Math.max(t, divisible(restricted, (i) => loads[i] ?? 0).ms);
  };
  visit(0);
  const shown = instances
    .map((inst, i) => {
      const set = bestChoice[i] ?? [];
      return `${inst.id}: ${set.length === 0 ? '—' : set.map((m) => m.split('/').pop()).join('+')}`;
    })
    .join('; ');
  return {
    name: 'model_loads',
    ms: Number.isFinite(best) ? best : 0,
    detail: `divisible work after one load per model per instance, best load plan (${shown})`,
  };
}

/** Every model is loaded at least once, on some instance that can run a job naming it. */
function weakLoadTerm(
  classes: readonly BClass[],
  instances: readonly BInstance[],
  loadOf: (key: string) => number,
  fullMask: number,
  extraWork: number,
): BoundTerm {
  const where = new Map<string, number>();
  for (const c of classes) for (const m of c.models) where.set(m, (where.get(m) ?? 0) | c.mask);
  let extra = 0;
  for (const [m, mask] of where) {
    let slowest = Number.POSITIVE_INFINITY;
    instances.forEach((inst, i) => {
      if (mask & (1 << i)) slowest = Math.min(slowest, inst.speed);
    });
    if (Number.isFinite(slowest)) extra += slowest * loadOf(m);
  }
  const work = classes.reduce((s, c) => s + c.work, 0);
  const speed = speedOf(instances, fullMask);
  return {
    name: 'model_loads',
    ms: speed > 0 ? (work + extraWork + extra) / speed : 0,
    detail:
      'total work + one load of every model (on the slowest instance that has it) ÷ fleet speed',
  };
}

/** Fleets too large for bit masks: total work and the longest job only. */
function simpleOnly(workload: Workload): LowerBoundDetail {
  let work = 0;
  let longest = 0;
  const speed = workload.instances.reduce((n, i) => n + i.speed * Math.max(1, i.max_concurrent), 0);
  for (const job of workload.jobs) {
    let fastest = 0;
    for (const i of workload.instances) {
      const ok = canRun(job.requirements, {
        id: i.id,
        capabilities: i.capabilities,
        tags: i.tags,
      }).ok;
      if (ok) fastest = Math.max(fastest, i.speed);
    }
    if (fastest <= 0) continue;
    work += job.work_ms;
    longest = Math.max(longest, job.submit_at + job.work_ms / fastest);
  }
  const terms: BoundTerm[] = [
    { name: 'total_work', ms: speed > 0 ? work / speed : 0, detail: 'total work ÷ fleet speed' },
    { name: 'longest_job', ms: longest, detail: 'longest job on its fastest capable instance' },
  ];
  const best = (terms[0] as BoundTerm).ms >= (terms[1] as BoundTerm).ms ? terms[0] : terms[1];
  return { ms: (best as BoundTerm).ms, binding: (best as BoundTerm).name, terms };
}
