import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NodeInfo } from '../comfy/protocol.js';
import { RuntimeEstimator } from './estimator.js';
import { hasFreeSlot, isEligible } from './placement.js';
import { Scheduler } from './scheduler.js';
import type { Assignment, SchedulerInstance, SchedulerJob, StrategyName } from './types.js';
import { STRATEGIES } from './types.js';

const NODES = ['CheckpointLoaderSimple', 'KSampler', 'SaveImage', 'InspyrenetRembg'];
const SDXL = { folder: 'checkpoints', file: 'sdxl.safetensors' };

function instance(
  id: string,
  o: Partial<SchedulerInstance> & { nodes?: string[] } = {},
): SchedulerInstance {
  const { nodes = NODES, ...rest } = o;
  return {
    id,
    max_concurrent: 1,
    prefetch: 1,
    health: 'healthy',
    accepting: true,
    priority: 1,
    tags: [],
    capabilities: {
      node_classes: Object.fromEntries(nodes.map((n) => [n, {} as NodeInfo])),
      models: { checkpoints: ['sdxl.safetensors', 'sd15.safetensors'] },
    },
    loaded_models: [],
    vram_free: 8e9,
    in_flight: [],
    ...rest,
  };
}

let clock = 0;
function job(id: string, o: Partial<SchedulerJob> = {}): SchedulerJob {
  return {
    id,
    owner: 'studio',
    priority: 0,
    requirements: {
      node_classes: ['CheckpointLoaderSimple', 'KSampler', 'SaveImage'],
      models: [SDXL],
    },
    shape: 'txt2img',
    submitted_at: ++clock,
    ...o,
  };
}

/** Runs decisions until none is `assign`, adding each job to its instance's queue as a runner would. */
function dispatch(s: Scheduler, fleet: SchedulerInstance[], now = 0): Assignment[] {
  const out: Assignment[] = [];
  for (let i = 0; i < 1000; i++) {
    const d = s.nextAssignment(fleet, now);
    if (d.type !== 'assign') break;
    out.push(d);
    const idx = fleet.findIndex((f) => f.id === d.instance_id);
    const target = fleet[idx] as SchedulerInstance;
    fleet[idx] = {
      ...target,
      in_flight: [
        ...target.in_flight,
        { job_id: d.job.id, owner: d.job.owner, shape: d.job.shape, started_at: null },
      ],
    };
  }
  return out;
}

function running(shape: string, startedAt: number, owner = 'x') {
  return { job_id: `r-${shape}-${startedAt}`, owner, shape, started_at: startedAt };
}

describe('Scheduler strategies', () => {
  it('round_robin rotates over the free instances in id order', () => {
    const s = new Scheduler({ strategy: 'round_robin' });
    for (let i = 0; i < 6; i++) s.enqueue(job(`j${i}`));
    const fleet = [instance('c'), instance('a'), instance('b')];
    expect(dispatch(s, fleet).map((a) => a.instance_id)).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('least_loaded takes the instance with fewest prompts, then the one with the model loaded', () => {
    const s = new Scheduler({ strategy: 'least_loaded' });
    s.enqueue(job('j1'));
    const fleet = [
      instance('a', { in_flight: [running('txt2img', 0)] }),
      instance('b'),
      instance('c', { loaded_models: ['checkpoints/sdxl.safetensors'] }),
    ];
    const [first] = dispatch(s, fleet);
    expect(first?.instance_id).toBe('c');
    expect(first?.cold_models).toEqual([]);
    s.enqueue(job('j2'));
    expect(dispatch(s, fleet)[0]?.instance_id).toBe('b');
  });

  it('priority takes the lowest config priority while it has room, then the next', () => {
    const s = new Scheduler({ strategy: 'priority' });
    for (let i = 0; i < 3; i++) s.enqueue(job(`j${i}`));
    const fleet = [instance('backup', { priority: 5 }), instance('main', { priority: 1 })];
    expect(dispatch(s, fleet).map((a) => a.instance_id)).toEqual(['main', 'main', 'backup']);
  });

  it('fastest_completion sends work where it finishes first, from measured speeds', () => {
    const estimator = new RuntimeEstimator();
    estimator.record('fast', 'txt2img', 2000);
    estimator.record('slow', 'txt2img', 8000);
    const s = new Scheduler({ strategy: 'fastest_completion', estimator });
    for (let i = 0; i < 4; i++) s.enqueue(job(`j${i}`));
    const fleet = [
      instance('slow', { loaded_models: ['checkpoints/sdxl.safetensors'] }),
      instance('fast', { loaded_models: ['checkpoints/sdxl.safetensors'] }),
    ];
    // fast: finishes at 2 s, then 4 s (prefetch); slow: 8 s. The third goes to slow.
    const placed = dispatch(s, fleet).map((a) => a.instance_id);
    expect(placed.slice(0, 3)).toEqual(['fast', 'fast', 'slow']);
  });

  it('fastest_completion weighs model loading: a warm instance beats a slightly faster cold one', () => {
    const estimator = new RuntimeEstimator();
    estimator.record('cold', 'txt2img', 1000);
    estimator.record('warm', 'txt2img', 1100);
    const s = new Scheduler({ estimator });
    s.enqueue(job('j1'));
    const fleet = [
      instance('cold'),
      instance('warm', { loaded_models: ['checkpoints/sdxl.safetensors'] }),
    ];
    const [a] = dispatch(s, fleet);
    expect(a).toMatchObject({ instance_id: 'warm', model_load_ms: 0, estimated_run_ms: 1100 });
    expect(s.modelLoadMs(SDXL)).toBe(5000);
  });

  it('fastest_completion holds a long job for a 2× instance that frees in 1 s, and backfills', () => {
    const estimator = new RuntimeEstimator();
    estimator.record('fast', 'long', 20_000);
    estimator.record('slow', 'long', 80_000);
    estimator.record('fast', 'short', 500);
    estimator.record('slow', 'short', 2000);
    estimator.record('fast', 'busy', 5000);
    const s = new Scheduler({ estimator });
    s.enqueue(job('long', { shape: 'long' }));
    const fleet = [
      // Started 4 s ago on a 5 s estimate: frees in about 1 s. No prefetch slot.
      instance('fast', {
        prefetch: 0,
        in_flight: [running('busy', 6000)],
        loaded_models: ['checkpoints/sdxl.safetensors'],
      }),
      instance('slow', { loaded_models: ['checkpoints/sdxl.safetensors'] }),
    ];
    const d = s.nextAssignment(fleet, 10_000);
    expect(d).toEqual({
      type: 'hold',
      recheck_at: 11_000,
      held: [{ job_id: 'long', instance_id: 'fast' }],
    });
    s.enqueue(job('short', { shape: 'short' }));
    const next = s.nextAssignment(fleet, 10_000);
    expect(next).toMatchObject({ type: 'assign', instance_id: 'slow' });
    expect(next.type === 'assign' && next.job.id).toBe('short');
    expect(s.queue.has('long')).toBe(true);
  });

  it('still uses a slow free instance when the queue is deeper than what faster ones can absorb', () => {
    const estimator = new RuntimeEstimator();
    estimator.record('slow', 's', 10_000);
    const fleet = [instance('slow')];
    for (let i = 0; i < 19; i++) {
      estimator.record(`fast${i}`, 's', 1000);
      fleet.push(instance(`fast${i}`, { prefetch: 0, in_flight: [running('s', 0)] }));
    }
    const deep = new Scheduler({ estimator });
    for (let i = 0; i < 2000; i++)
      deep.enqueue(job(`d${i}`, { shape: 's', requirements: { node_classes: [], models: [] } }));
    expect(deep.nextAssignment(fleet, 500)).toMatchObject({ type: 'assign', instance_id: 'slow' });
    expect(deep.lastExamined).toBeLessThanOrEqual(64);

    const shallow = new Scheduler({ estimator });
    for (let i = 0; i < 20; i++)
      shallow.enqueue(job(`s${i}`, { shape: 's', requirements: { node_classes: [], models: [] } }));
    expect(shallow.nextAssignment(fleet, 500).type).toBe('hold');
  });

  it('without hold, sends the job to the free instance at once', () => {
    const estimator = new RuntimeEstimator();
    estimator.record('fast', 'long', 20_000);
    estimator.record('slow', 'long', 80_000);
    const s = new Scheduler({ estimator, hold: false });
    s.enqueue(job('long', { shape: 'long' }));
    const fleet = [
      instance('fast', { prefetch: 0, in_flight: [running('long', 0)] }),
      instance('slow'),
    ];
    expect(s.nextAssignment(fleet, 19_000)).toMatchObject({ type: 'assign', instance_id: 'slow' });
  });

  it('rejects an unknown strategy', () => {
    expect(() => new Scheduler({ strategy: 'fastest' as StrategyName })).toThrow(
      /unknown strategy/,
    );
  });
});

describe('Scheduler constraints', () => {
  it('never uses unhealthy, unknown, paused or full instances', () => {
    for (const strategy of STRATEGIES) {
      const s = new Scheduler({ strategy });
      s.enqueue(job('j'));
      const fleet = [
        instance('down', { health: 'unhealthy' }),
        instance('new', { health: 'unknown' }),
        instance('paused', { accepting: false }),
        instance('full', { prefetch: 0, in_flight: [running('txt2img', 0)] }),
      ];
      expect(s.nextAssignment(fleet, 1000).type).toBe('idle');
      fleet.push(instance('slowish', { health: 'degraded' }));
      expect(s.nextAssignment(fleet, 1000)).toMatchObject({
        type: 'assign',
        instance_id: 'slowish',
      });
    }
  });

  it('honours capabilities, exclusions, pins and tags, for every strategy', () => {
    const cases: [SchedulerJob, string][] = [
      [job('rembg', { requirements: { node_classes: ['InspyrenetRembg'], models: [] } }), 'b'],
      [job('retry', { excluded: ['a'] }), 'b'],
      [job('pinned', { pin: 'b' }), 'b'],
      [job('tagged', { tags: ['sdxl'] }), 'b'],
    ];
    for (const strategy of STRATEGIES) {
      for (const [j, expected] of cases) {
        const s = new Scheduler({ strategy });
        s.enqueue(j);
        // Left to itself every strategy would pick a: idle, first id, warm, preferred.
        const fleet = [
          instance('a', {
            nodes: ['CheckpointLoaderSimple', 'KSampler', 'SaveImage'],
            loaded_models: ['checkpoints/sdxl.safetensors'],
          }),
          instance('b', { tags: ['sdxl'], priority: 3, in_flight: [running('txt2img', 0)] }),
        ];
        if (j.id !== 'rembg')
          fleet[0] = instance('a', { loaded_models: ['checkpoints/sdxl.safetensors'] });
        const d = s.nextAssignment(fleet, 0);
        expect(d.type === 'assign' ? d.instance_id : d.type, `${strategy} ${j.id}`).toBe(expected);
      }
    }
  });

  it('retries an OOM job on an instance with more free VRAM, waiting for one if it is busy', () => {
    for (const strategy of STRATEGIES) {
      const s = new Scheduler({ strategy });
      s.enqueue(job('oom', { oom_vram_free: 8e9, excluded: ['small'] }));
      const fleet = [
        instance('small', { vram_free: 8e9 }),
        instance('medium', { vram_free: 6e9 }),
        instance('big', { vram_free: 40e9, prefetch: 0, in_flight: [running('txt2img', 0)] }),
      ];
      expect(s.nextAssignment(fleet, 1000).type).not.toBe('assign');
      fleet[2] = instance('big', { vram_free: 40e9 });
      fleet.push(instance('bigger', { vram_free: 70e9 }));
      expect(s.nextAssignment(fleet, 1000)).toMatchObject({ type: 'assign' });
    }
    // Nowhere has more: it still runs, on the instance with the most.
    const s = new Scheduler({ strategy: 'least_loaded' });
    s.enqueue(job('oom', { oom_vram_free: 80e9 }));
    const d = s.nextAssignment(
      [instance('a', { vram_free: 4e9 }), instance('b', { vram_free: 9e9 })],
      0,
    );
    expect(d).toMatchObject({ type: 'assign', instance_id: 'b' });
  });

  it('applies per-owner caps using the jobs already on instances', () => {
    const s = new Scheduler({ strategy: 'least_loaded', owner_caps: { batch: 1 } });
    s.enqueue(job('b1', { owner: 'batch' }));
    s.enqueue(job('b2', { owner: 'batch' }));
    s.enqueue(job('a1', { owner: 'artist' }));
    const fleet = [instance('x', { max_concurrent: 4 }), instance('y', { max_concurrent: 4 })];
    const placed = dispatch(s, fleet).map((a) => a.job.id);
    expect(placed).toEqual(['b1', 'a1']);
    expect(s.queue.has('b2')).toBe(true);
  });

  it("places another owner's 10 jobs among the first 20 behind 10 000, looking at few entries", () => {
    const s = new Scheduler();
    for (let i = 0; i < 10_000; i++) s.enqueue(job(`a${i}`, { owner: 'batch' }));
    for (let i = 0; i < 10; i++) s.enqueue(job(`b${i}`, { owner: 'artist' }));
    const owners: string[] = [];
    let examined = 0;
    for (let i = 0; i < 20; i++) {
      const d = s.nextAssignment([instance('gpu')], i);
      if (d.type === 'assign') owners.push(d.job.owner);
      examined = Math.max(examined, s.lastExamined);
    }
    expect(owners.filter((o) => o === 'artist')).toHaveLength(10);
    expect(examined).toBeLessThanOrEqual(2);
  });

  it('finds waiting jobs no instance can run any more', () => {
    const s = new Scheduler();
    s.enqueue(job('rembg', { requirements: { node_classes: ['InspyrenetRembg'], models: [] } }));
    s.enqueue(job('plain'));
    const stranded = s.unrunnable([
      instance('a', { nodes: ['CheckpointLoaderSimple', 'KSampler', 'SaveImage'] }),
    ]);
    expect(stranded.map((u) => u.job.id)).toEqual(['rembg']);
    expect(stranded[0]?.check.reason).toBe('no instance has node InspyrenetRembg');
    expect(s.unrunnable([instance('a')])).toEqual([]);
  });

  it('cancels waiting jobs', () => {
    const s = new Scheduler();
    s.enqueue(job('j'));
    expect(s.cancel('j')).toBe(true);
    expect(s.cancel('j')).toBe(false);
    expect(s.nextAssignment([instance('a')], 0).type).toBe('idle');
  });
});

describe('Scheduler.estimateCompletionSeconds', () => {
  it('grows with the work ahead and shrinks with a faster fleet', () => {
    const estimator = new RuntimeEstimator();
    estimator.record('a', 'txt2img', 10_000);
    const s = new Scheduler({ estimator });
    for (let i = 0; i < 10; i++) s.enqueue(job(`j${i}`));
    const one = [instance('a', { loaded_models: ['checkpoints/sdxl.safetensors'] })];
    const first = s.estimateCompletionSeconds('j0', one, 0);
    const last = s.estimateCompletionSeconds('j9', one, 0);
    expect(first).toBeCloseTo(10, 1);
    expect(last).toBeCloseTo(100, 1);
    const two = [...one, instance('b', { loaded_models: ['checkpoints/sdxl.safetensors'] })];
    expect(s.estimateCompletionSeconds('j9', two, 0)).toBeCloseTo(55, 1);
    expect(s.estimateCompletionSeconds('nope', one, 0)).toBeNull();
    expect(
      s.estimateCompletionSeconds('j0', [instance('x', { health: 'unhealthy' })], 0),
    ).toBeNull();
  });
});

describe('Scheduler placement properties', () => {
  const nodeSets = fc.subarray(NODES, { minLength: 1 });
  const instanceArb = fc.record({
    nodes: nodeSets,
    health: fc.constantFrom('healthy', 'degraded', 'unhealthy', 'unknown') as fc.Arbitrary<
      SchedulerInstance['health']
    >,
    accepting: fc.boolean(),
    max_concurrent: fc.integer({ min: 1, max: 3 }),
    prefetch: fc.integer({ min: 0, max: 2 }),
    busy: fc.integer({ min: 0, max: 4 }),
    tags: fc.subarray(['sdxl', 'fast']),
    vram: fc.integer({ min: 1, max: 48 }),
  });
  const jobArb = fc.record({
    nodes: nodeSets,
    owner: fc.constantFrom('a', 'b', 'c'),
    priority: fc.integer({ min: 0, max: 2 }),
    pin: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
    tags: fc.subarray(['sdxl', 'fast'], { maxLength: 1 }),
    excluded: fc.subarray([0, 1, 2, 3, 4, 5], { maxLength: 2 }),
    oom: fc.option(fc.integer({ min: 1, max: 48 }), { nil: undefined }),
    shape: fc.constantFrom('s1', 's2'),
  });

  it('never places a job where it cannot run, is excluded, or finds no free slot', () => {
    fc.assert(
      fc.property(
        fc.array(instanceArb, { minLength: 1, maxLength: 6 }),
        fc.array(jobArb, { minLength: 1, maxLength: 25 }),
        fc.constantFrom(...STRATEGIES),
        (specs, jobSpecs, strategy) => {
          const fleet = specs.map((sp, i) =>
            instance(`i${i}`, {
              nodes: sp.nodes,
              health: sp.health,
              accepting: sp.accepting,
              max_concurrent: sp.max_concurrent,
              prefetch: sp.prefetch,
              tags: sp.tags,
              vram_free: sp.vram * 1e9,
              in_flight: Array.from({ length: sp.busy }, (_, k) => running('s1', k)),
            }),
          );
          const s = new Scheduler({ strategy, owner_caps: { c: 1 } });
          const jobs = jobSpecs.map((j, k) =>
            job(`p${k}`, {
              owner: j.owner,
              priority: j.priority,
              requirements: { node_classes: [...j.nodes].sort(), models: [] },
              pin: j.pin === undefined ? undefined : `i${j.pin}`,
              tags: j.tags,
              excluded: j.excluded.map((e) => `i${e}`),
              oom_vram_free: j.oom === undefined ? undefined : j.oom * 1e9,
              shape: j.shape,
            }),
          );
          for (const j of jobs) s.enqueue(j);
          const seen = new Set<string>();
          for (let step = 0; step < 60; step++) {
            const d = s.nextAssignment(fleet, step * 100);
            if (d.type !== 'assign') break;
            const idx = fleet.findIndex((f) => f.id === d.instance_id);
            const target = fleet[idx];
            if (target === undefined) return false;
            if (!isEligible(target) || !hasFreeSlot(target)) return false;
            // Checked directly, not through canRun, so a bug there cannot hide here.
            const nodes = target.capabilities.node_classes;
            if (!d.job.requirements.node_classes.every((n) => Object.hasOwn(nodes, n)))
              return false;
            if (d.job.excluded?.includes(target.id)) return false;
            if (d.job.pin !== undefined && d.job.pin !== null && d.job.pin !== target.id)
              return false;
            if (!(d.job.tags ?? []).every((t) => target.tags.includes(t))) return false;
            if (seen.has(d.job.id) || s.queue.has(d.job.id)) return false;
            seen.add(d.job.id);
            fleet[idx] = {
              ...target,
              in_flight: [
                ...target.in_flight,
                { job_id: d.job.id, owner: d.job.owner, shape: d.job.shape, started_at: null },
              ],
            };
          }
          const cOnInstances = fleet.flatMap((f) => f.in_flight).filter((j) => j.owner === 'c');
          return cOnInstances.length <= 1;
        },
      ),
      { numRuns: 300, seed: 20240601 },
    );
  });
});

describe('Scheduler gateway-wide cap (MAX_CONCURRENT_JOBS)', () => {
  const fleetOf = (n: number) => Array.from({ length: n }, (_, k) => instance(`gpu${k}`));
  const total = (fleet: SchedulerInstance[]) => fleet.reduce((n, i) => n + i.in_flight.length, 0);

  it('sends at most the cap in total, one per idle instance rather than queued behind another', () => {
    for (const strategy of STRATEGIES) {
      const s = new Scheduler({ strategy, max_concurrent_jobs: 3 });
      for (let i = 0; i < 10; i++) s.enqueue(job(`j${i}`));
      const fleet = fleetOf(4);
      const sent = dispatch(s, fleet);
      expect(sent, strategy).toHaveLength(3);
      expect(new Set(sent.map((a) => a.instance_id)).size, strategy).toBe(3);
      expect(s.queue.size).toBe(7);
    }
  });

  it('counts jobs already on instances, also on instances that take no new work', () => {
    const s = new Scheduler({ max_concurrent_jobs: 3 });
    for (let i = 0; i < 5; i++) s.enqueue(job(`j${i}`));
    const fleet = [
      instance('paused', {
        accepting: false,
        in_flight: [running('txt2img', 0), running('txt2img', 0)],
      }),
      instance('gpu1'),
      instance('gpu2'),
    ];
    expect(dispatch(s, fleet)).toHaveLength(1);
    expect(total(fleet)).toBe(3);
  });

  it('sends the next job when one finishes, and fills prefetch slots when the cap allows', () => {
    const s = new Scheduler({ strategy: 'least_loaded', max_concurrent_jobs: 3 });
    for (let i = 0; i < 6; i++) s.enqueue(job(`j${i}`));
    const fleet = fleetOf(2);
    expect(dispatch(s, fleet)).toHaveLength(3);
    expect(fleet.map((i) => i.in_flight.length).sort()).toEqual([1, 2]);
    const busy = fleet.findIndex((i) => i.in_flight.length === 1);
    fleet[busy] = { ...(fleet[busy] as SchedulerInstance), in_flight: [] };
    expect(dispatch(s, fleet)).toHaveLength(1);
    expect(total(fleet)).toBe(3);
  });

  it('has no cap at 0 or null, and can be changed at run time', () => {
    const s = new Scheduler({ max_concurrent_jobs: 0 });
    expect(s.maxConcurrentJobs).toBeNull();
    for (let i = 0; i < 20; i++) s.enqueue(job(`j${i}`));
    const fleet = fleetOf(3);
    expect(dispatch(s, fleet)).toHaveLength(6); // 3 × (1 running + 1 prefetched)
    s.maxConcurrentJobs = 2;
    expect(s.maxConcurrentJobs).toBe(2);
    expect(dispatch(s, fleetOf(4))).toHaveLength(2);
    s.maxConcurrentJobs = null;
    expect(dispatch(s, fleetOf(4))).toHaveLength(8);
    s.maxConcurrentJobs = Number.NaN;
    expect(s.maxConcurrentJobs).toBeNull();
  });
});

describe('Scheduler cold start', () => {
  it('estimates an unmeasured shape from the prompt guess of the job', () => {
    const s = new Scheduler();
    s.enqueue(job('long', { shape: 'never-seen', work_hint_ms: 24_000 }));
    const d = s.nextAssignment([instance('gpu1')], 0);
    expect(d.type).toBe('assign');
    if (d.type === 'assign') expect(d.estimated_run_ms).toBe(24_000);
  });
});
