import { describe, expect, it } from 'vitest';
import { canRun } from './capability.js';
import { lowerBound } from './lower-bound.js';
import { DEFAULT_STRATEGY } from './scheduler.js';
import { compareStrategies, type SimOptions, type SimReport, simulate } from './simulation.js';
import { STRATEGIES } from './types.js';
import { standardWorkload, type Workload } from './workload.js';

const SEEDS = [1, 2, 3, 4, 5];

describe('standardWorkload', () => {
  const w = standardWorkload({ seed: 1 });

  it('is a heterogeneous fleet and a mixed batch, some jobs runnable on only some instances', () => {
    expect(w.instances.map((i) => i.speed)).toEqual([2, 1, 1, 0.5]);
    expect(w.jobs).toHaveLength(300);
    const capableCounts = w.jobs.map(
      (j) => w.instances.filter((i) => canRun(j.requirements, i).ok).length,
    );
    expect(Math.min(...capableCounts)).toBe(2);
    expect(capableCounts.filter((n) => n < 4).length).toBeGreaterThan(100);
    expect(new Set(w.jobs.map((j) => j.kind)).size).toBe(6);
    const works = w.jobs.map((j) => j.work_ms);
    expect(Math.max(...works) / Math.min(...works)).toBeGreaterThan(30);
    expect(new Set(w.jobs.map((j) => j.owner))).toEqual(new Set(['studio', 'alice', 'bob']));
  });

  it('is the same for the same seed and different for another', () => {
    expect(standardWorkload({ seed: 1 })).toEqual(w);
    expect(standardWorkload({ seed: 2 }).jobs.map((j) => j.work_ms)).not.toEqual(
      w.jobs.map((j) => j.work_ms),
    );
  });
});

describe('simulation of the standard workload', () => {
  const reports = new Map<number, SimReport[]>(
    SEEDS.map((seed) => [seed, compareStrategies(standardWorkload({ seed }))]),
  );
  const get = (seed: number, policy: string): SimReport => {
    const r = reports.get(seed)?.find((x) => x.policy === policy);
    if (r === undefined) throw new Error(`no report ${policy}`);
    return r;
  };

  it('runs every job, and the default strategy stays within 1.05 × the lower bound', () => {
    for (const seed of SEEDS) {
      const r = get(seed, DEFAULT_STRATEGY);
      expect(r.unplaced).toBe(0);
      expect(Object.values(r.jobs_per_instance).reduce((a, b) => a + b, 0)).toBe(300);
      expect(r.ratio, `seed ${seed}`).toBeLessThanOrEqual(1.05);
      expect(r.ratio).toBeGreaterThanOrEqual(1);
    }
  });

  it('beats both seed baselines (round robin and least queue at submit time)', () => {
    for (const seed of SEEDS) {
      const ours = get(seed, DEFAULT_STRATEGY);
      for (const baseline of ['seed: round robin at submit', 'seed: least queue at submit']) {
        const other = get(seed, baseline);
        expect(ours.makespan_ms, `seed ${seed} vs ${baseline}`).toBeLessThan(other.makespan_ms);
        expect(ours.wait_p95_ms).toBeLessThan(other.wait_p95_ms);
      }
    }
  });

  it('has the best mean ratio of all strategies (the reason it is the default)', () => {
    const mean = (policy: string) =>
      SEEDS.reduce((n, seed) => n + get(seed, policy).ratio, 0) / SEEDS.length;
    for (const s of STRATEGIES) expect(mean(DEFAULT_STRATEGY)).toBeLessThanOrEqual(mean(s));
  });

  it('keeps every instance busy under the default, while the baselines leave the fast one idle', () => {
    const ours = get(1, DEFAULT_STRATEGY);
    expect(Math.min(...Object.values(ours.utilisation))).toBeGreaterThan(0.9);
    expect(get(1, 'seed: round robin at submit').utilisation['gpu-fast']).toBeLessThan(0.8);
  });

  it('is deterministic', () => {
    const w = standardWorkload({ seed: 7, jobs: 120 });
    const policy = { kind: 'scheduler', strategy: DEFAULT_STRATEGY } as const;
    expect(simulate(w, policy)).toEqual(simulate(w, policy));
  });

  it('loads models again when instances can keep fewer loaded', () => {
    const w = standardWorkload({ seed: 3, jobs: 150 });
    const policy = { kind: 'scheduler', strategy: DEFAULT_STRATEGY } as const;
    const all = simulate(w, policy);
    const one = simulate(w, policy, { model_cache: 1 });
    expect(all.model_loads).toBeLessThanOrEqual(11);
    expect(one.model_loads).toBeGreaterThan(all.model_loads);
    expect(one.makespan_ms).toBeGreaterThan(all.makespan_ms);
  });
});

describe('simulation of other mixes', () => {
  const mixes: { name: string; w: Workload; o?: SimOptions }[] = [
    {
      name: 'long jobs',
      w: standardWorkload({ seed: 3, kind_weights: { 'sdxl-batch4': 30, sd15: 50 } }),
    },
    { name: 'arrivals over time', w: standardWorkload({ seed: 4, arrival_window_ms: 300_000 }) },
    { name: 'one model per instance', w: standardWorkload({ seed: 5 }), o: { model_cache: 1 } },
    { name: 'per-job overhead', w: { ...standardWorkload({ seed: 6 }), job_overhead_ms: 300 } },
  ];

  it('keeps the default within 1.05 × the lower bound and ahead of both seed baselines', () => {
    for (const { name, w, o } of mixes) {
      const reports = compareStrategies(w, { ...o, lower_bound_ms: lowerBound(w) });
      const ours = reports.find((r) => r.policy === DEFAULT_STRATEGY);
      expect(ours?.ratio, name).toBeLessThanOrEqual(1.05);
      for (const r of reports.filter((x) => x.policy.startsWith('seed'))) {
        expect(ours?.makespan_ms, `${name} vs ${r.policy}`).toBeLessThan(r.makespan_ms);
      }
    }
  });
});

describe('cold start with prompt guesses (work_hint_ms)', () => {
  it('shortens small batches on a cold gateway, on average over five seeds', () => {
    let cold = 0;
    let hinted = 0;
    for (const seed of [1, 2, 3, 4, 5]) {
      const w = standardWorkload({ seed, jobs: 44 });
      const bound = lowerBound(w);
      const policy = { kind: 'scheduler', strategy: DEFAULT_STRATEGY } as const;
      cold += simulate(w, policy, { lower_bound_ms: bound }).ratio;
      hinted += simulate(w, policy, { lower_bound_ms: bound, work_hints: true }).ratio;
    }
    expect(hinted).toBeLessThan(cold);
  });
});
