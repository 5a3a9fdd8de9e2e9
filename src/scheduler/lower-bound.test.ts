import { describe, expect, it } from 'vitest';
import { lowerBound, lowerBoundDetail, unrelatedBound } from './lower-bound.js';
import { seededRandom } from './prng.js';
import { compareStrategies } from './simulation.js';
import { standardWorkload, type Workload, type WorkloadInstance } from './workload.js';

/** Jobs of the standard workload with given works on copies of one all-capable instance. */
function tiny(works: number[], speeds: number[], loads = false): Workload {
  const base = standardWorkload({ seed: 1, jobs: works.length, kind_weights: { upscale: 0 } });
  return {
    ...base,
    model_load_ms: loads ? base.model_load_ms : {},
    instances: speeds.map((speed, i) => ({
      ...(base.instances[0] as WorkloadInstance),
      id: `i${i}`,
      speed,
    })),
    jobs: base.jobs.map((j, i) => ({ ...j, work_ms: works[i] ?? 0 })),
  };
}

describe('lowerBoundDetail', () => {
  it('is total work ÷ total speed, or the longest job on the fastest instance', () => {
    expect(lowerBound(tiny([3000, 3000], [2, 1]))).toBe(2000);
    const b = lowerBoundDetail(tiny([9000, 100], [2, 1]));
    expect(b.ms).toBe(4500);
    expect(b.binding).toBe('longest_job');
  });

  it('counts work only some instances can run against those instances alone', () => {
    const w = standardWorkload({ seed: 1, jobs: 200 });
    const b = lowerBoundDetail({ ...w, model_load_ms: {} });
    const total = b.terms.find((t) => t.name === 'total_work')?.ms ?? 0;
    // SDXL-heavy seed: SDXL cannot run on the slow instance.
    const heavy = standardWorkload({ seed: 1, jobs: 200, kind_weights: { 'sdxl-batch4': 40 } });
    const hb = lowerBoundDetail({ ...heavy, model_load_ms: {} });
    const restricted = hb.terms.find((t) => t.name === 'restricted');
    const htotal = hb.terms.find((t) => t.name === 'total_work')?.ms ?? 0;
    expect(total).toBeGreaterThan(0);
    expect(restricted?.ms).toBeGreaterThan(htotal);
    expect(restricted?.detail).toContain('gpu-fast, gpu-a, gpu-b');
    expect(restricted?.detail).not.toContain('gpu-slow');
  });

  it('adds the first load of each model on every instance that runs it', () => {
    // Two instances, two models: each instance loads one model and runs its job.
    const w = tiny([1000, 1000], [1, 1]);
    const [a, b] = w.jobs;
    if (!a || !b) throw new Error('no jobs');
    const jobs = [
      {
        ...a,
        requirements: {
          ...a.requirements,
          models: [{ folder: 'checkpoints', file: 'sd15.safetensors' }],
        },
      },
      {
        ...b,
        requirements: {
          ...b.requirements,
          models: [{ folder: 'checkpoints', file: 'sdxl.safetensors' }],
        },
      },
    ];
    const loads = {
      'checkpoints/sd15.safetensors': 500,
      'checkpoints/sdxl.safetensors': 500,
    };
    const detail = lowerBoundDetail({ ...w, jobs, model_load_ms: loads });
    expect(detail.ms).toBe(1500);
    expect(detail.binding).toBe('longest_job');
    expect(detail.terms.find((t) => t.name === 'model_loads')?.ms).toBe(1500);
    // Four such jobs: the loads can no longer hide behind the longest job.
    const four = [...jobs, ...jobs.map((j) => ({ ...j, id: `${j.id}-2` }))];
    const d4 = lowerBoundDetail({ ...w, jobs: four, model_load_ms: loads });
    expect(d4.binding).toBe('model_loads');
    expect(d4.ms).toBe(2500);
    expect(d4.terms.find((t) => t.name === 'total_work')?.ms).toBe(2000);
  });

  it('adds arrivals: a late batch cannot finish before it arrives plus its own work', () => {
    const w = standardWorkload({ seed: 2, jobs: 100, arrival_window_ms: 600_000 });
    const b = lowerBoundDetail(w);
    expect(b.terms.find((t) => t.name === 'arrivals')?.ms).toBeGreaterThan(600_000);
  });

  it('uses a linear program when jobs carry an overhead that does not scale with speed', () => {
    const w = tiny([2000, 2000, 2000, 2000], [4, 1]);
    const plain = lowerBound(w);
    const withOverhead = lowerBoundDetail({ ...w, job_overhead_ms: 1000 });
    expect(plain).toBeCloseTo(8000 / 5, 6);
    // 4 jobs of 2000 ms work + 1000 ms overhead; the fast one takes 1500 ms per job, the slow
    // 3000: the best split gives both the same finish, 4 ÷ (1/1500 + 1/3000) = 4000 ms.
    expect(withOverhead.ms).toBeCloseTo(4000, 6);
    expect(withOverhead.terms.find((t) => t.name === 'restricted')?.detail).toContain(
      'linear program',
    );
  });

  it('is never above the makespan any simulated policy reaches (it is a true bound)', () => {
    const rand = seededRandom(42);
    for (let k = 0; k < 12; k++) {
      const base = standardWorkload({
        seed: 100 + k,
        jobs: 10 + Math.floor(rand() * 25),
        arrival_window_ms: k % 3 === 0 ? 20_000 : 0,
      });
      const w: Workload = {
        ...base,
        instances: base.instances.map((i) => ({ ...i, speed: 0.25 + rand() * 2 })),
        job_overhead_ms: k % 2 === 0 ? Math.floor(rand() * 800) : 0,
      };
      const bound = lowerBound(w);
      for (const r of compareStrategies(w, { lower_bound_ms: bound })) {
        expect(r.makespan_ms, `case ${k} ${r.policy}`).toBeGreaterThanOrEqual(bound - 1e-6);
      }
      for (const r of compareStrategies(w, { model_cache: 1, lower_bound_ms: bound })) {
        expect(r.makespan_ms, `case ${k} ${r.policy}, one model`).toBeGreaterThanOrEqual(
          bound - 1e-6,
        );
      }
    }
  });
});

describe('unrelatedBound', () => {
  it('splits a divisible class so that every instance finishes together', () => {
    expect(unrelatedBound([[1000, 2000]], [1, 1])).toBeCloseTo(2000 / 3, 6);
    // Two slots on the second instance double its share.
    expect(unrelatedBound([[1000, 2000]], [1, 2])).toBeCloseTo(500, 6);
  });

  it('starts after the preload and is Infinity when a class can run nowhere', () => {
    expect(unrelatedBound([[1000, Number.POSITIVE_INFINITY]], [1, 1], [500, 0])).toBeCloseTo(
      1500,
      6,
    );
    expect(unrelatedBound([[Number.POSITIVE_INFINITY]], [1])).toBe(Number.POSITIVE_INFINITY);
  });
});
