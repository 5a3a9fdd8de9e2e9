/**
 * bench/scheduler, in two parts.
 *
 * 1. Simulation (deterministic, the same `Scheduler` core the dispatcher calls): the standard
 *    workload (`standardWorkload()`: speeds 2×, 1×, 1×, 0.5×, different models and node packs
 *    per instance, 300 mixed jobs from three owners) and other mixes (other seeds, long jobs,
 *    arrivals over time, one model per instance, per-job overhead, small jobs). Every strategy
 *    and both seed baselines (round robin / least queue length chosen at submit time, pushed
 *    straight into instance queues): makespan ÷ the lower bound (`lowerBoundDetail`: divisible
 *    relaxation over job classes × instances with capability restrictions and model loads; its
 *    terms are printed), p50 / p95 wait, utilisation per instance.
 * 2. Emulated fleet (emulator child processes sped up by a time scale; SCHED_REAL=0 skips it):
 *    each strategy through the real dispatch path (SQLite store, registry, monitor, dispatcher,
 *    runner) and both seed baselines POSTing into instance queues. The emulator spends real CPU
 *    per job (pixels, PNG encoding) on top of its simulated time, so the nominal bound is not a
 *    bound of these runs: the measured bound adds to every job the least overhead any job of
 *    its kind showed (over all runs) and solves the same relaxation; the simulation of that
 *    calibrated workload is printed beside the real run, to check that they agree. Per run it
 *    also prints where each instance idled (before its first job, between jobs, after its last)
 *    and, as a diagnostic only, the makespan ÷ the time the jobs only some instances can run
 *    took as they ran ÷ those instances' slots. SCHED_POLICIES picks runs, SCHED_TIMINGS=file
 *    writes the raw timings.
 *
 * npm run bench -- scheduler     (SCHED_SCALE=5 SCHED_JOBS=150 by default; upscale jobs dropped
 * from the emulated part, see main)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ComfyClient, type HistoryRecord } from '../src/comfy/index.js';
import { openGateway } from '../src/scheduler/dispatch/testing/gateway.js';
import {
  canRun,
  compareStrategies,
  DEFAULT_STRATEGY,
  formatBound,
  type LowerBoundDetail,
  lowerBoundDetail,
  type SimOptions,
  type SimReport,
  STRATEGIES,
  type StrategyName,
  simulate,
  standardWorkload,
  type Workload,
  type WorkloadInstance,
  type WorkloadJob,
} from '../src/scheduler/index.js';
import { type EmulatorProcess, startEmulatorProcess } from './lib/processes.js';

interface Fleet {
  emus: Map<string, EmulatorProcess>;
  clients: Map<string, ComfyClient>;
  stop(): Promise<void>;
}

async function startFleet(w: Workload, scale: number): Promise<Fleet> {
  const emus = new Map<string, EmulatorProcess>();
  const clients = new Map<string, ComfyClient>();
  await Promise.all(
    w.instances.map(async (inst) => {
      const models = Object.entries(inst.models)
        .map(([folder, files]) => `${folder}=${files.join(',')}`)
        .join(';');
      const args = ['--speed', String(inst.speed * scale), '--models', models];
      if (inst.node_packs.length > 0) args.push('--node-packs', inst.node_packs.join(','));
      const emu = await startEmulatorProcess(args);
      emus.set(inst.id, emu);
      clients.set(inst.id, new ComfyClient({ baseUrl: emu.url, timeoutMs: 30_000 }));
    }),
  );
  return {
    emus,
    clients,
    stop: async () => {
      for (const c of clients.values()) c.close();
      await Promise.all([...emus.values()].map((e) => e.stop()));
    },
  };
}

interface Timing {
  job: WorkloadJob;
  instance: string;
  start: number;
  end: number;
}

function timingOf(
  record: HistoryRecord | undefined,
  instance: string,
  job: WorkloadJob,
): Timing | undefined {
  const messages = record?.status?.messages ?? [];
  let start: number | undefined;
  let end: number | undefined;
  for (const m of messages) {
    if (!Array.isArray(m)) continue;
    const [type, data] = m as [string, { timestamp?: number }];
    if (type === 'execution_start') start = data.timestamp;
    if (type === 'execution_success' || type === 'execution_error') end = data.timestamp;
  }
  return start !== undefined && end !== undefined ? { job, instance, start, end } : undefined;
}

/** One policy's run on the emulated fleet. */
interface RealRun {
  policy: string;
  t0: number;
  timings: Timing[];
}

/**
 * Where an instance was idle in a real run: before its first job, between jobs (the dispatch
 * path did not keep it fed, or a hold), after its last job until the end (end-of-batch tail).
 */
function idleOf(
  run: RealRun,
  id: string,
  end: number,
): { first: number; between: number; tail: number } {
  const mine = run.timings.filter((t) => t.instance === id).sort((a, b) => a.start - b.start);
  if (mine.length === 0) return { first: end - run.t0, between: 0, tail: 0 };
  let between = 0;
  for (let k = 1; k < mine.length; k++) {
    between += Math.max(0, (mine[k] as Timing).start - (mine[k - 1] as Timing).end);
  }
  const last = Math.max(...mine.map((t) => t.end));
  return { first: (mine[0] as Timing).start - run.t0, between, tail: end - last };
}

/**
 * A diagnostic, NOT a bound: over every set J of instances, the time the jobs only J can run took
 * as they ran in this run ÷ J's slots. A makespan near it means the instances that limited the
 * run were busy with what only they could do; what is left is per-job time (emulator CPU).
 */
function asRun(w: Workload, run: RealRun): { ms: number; ids: string[] } {
  const index = new Map(w.instances.map((inst, i) => [inst.id, i]));
  const maskOf = new Map<string, number>();
  for (const job of w.jobs) {
    let mask = 0;
    w.instances.forEach((inst, i) => {
      if (canRun(job.requirements, { id: inst.id, capabilities: inst.capabilities, tags: [] }).ok)
        mask |= 1 << i;
    });
    maskOf.set(job.id, mask);
  }
  const sets = new Set<number>([0]);
  for (const m of new Set(maskOf.values())) for (const u of [...sets]) sets.add(u | m);
  let best = { ms: 0, ids: [] as string[] };
  for (const J of sets) {
    if (J === 0) continue;
    let busy = 0;
    for (const t of run.timings) {
      if (((maskOf.get(t.job.id) ?? 0) & ~J) === 0 && index.has(t.instance))
        busy += t.end - t.start;
    }
    const members = w.instances.filter((_, i) => J & (1 << i));
    const slots = members.reduce((n, i) => n + Math.max(1, i.max_concurrent), 0);
    if (slots > 0 && busy / slots > best.ms)
      best = { ms: busy / slots, ids: members.map((i) => i.id) };
  }
  return best;
}

function idleLine(run: RealRun, ids: string[]): string {
  const end = Math.max(run.t0, ...run.timings.map((t) => t.end));
  const parts = ids.map((id) => {
    const i = idleOf(run, id, end);
    return `${id} ${s(i.first)} / ${s(i.between)} / ${s(i.tail)}`;
  });
  return `    ${run.policy}: idle before first / between jobs / after last: ${parts.join(', ')}`;
}

/** A row of a table: a simulated or a real run, summarised alike. */
interface Row {
  policy: string;
  makespan: number;
  p50: number;
  p95: number;
  util: Record<string, number>;
  jobs: Record<string, number>;
  done: number;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx] ?? 0;
}

function realRow(w: Workload, run: RealRun): Row {
  const { t0, timings } = run;
  const end = Math.max(t0, ...timings.map((t) => t.end));
  const makespan = end - t0;
  const waits = timings.map((t) => t.start - t0).sort((a, b) => a - b);
  const util: Record<string, number> = {};
  const jobs: Record<string, number> = {};
  for (const inst of w.instances) {
    const mine = timings.filter((t) => t.instance === inst.id);
    util[inst.id] = makespan > 0 ? mine.reduce((n, t) => n + (t.end - t.start), 0) / makespan : 0;
    jobs[inst.id] = mine.length;
  }
  return {
    policy: run.policy,
    makespan,
    p50: percentile(waits, 0.5),
    p95: percentile(waits, 0.95),
    util,
    jobs,
    done: timings.length,
  };
}

function simRow(r: SimReport): Row {
  return {
    policy: r.policy,
    makespan: r.makespan_ms,
    p50: r.wait_p50_ms,
    p95: r.wait_p95_ms,
    util: r.utilisation,
    jobs: r.jobs_per_instance,
    done: Object.values(r.jobs_per_instance).reduce((a, b) => a + b, 0),
  };
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function header(ids: string[], extra = ''): string {
  return `  ${'policy'.padEnd(30)} ${'ratio'.padStart(6)}${extra} ${'makespan'.padStart(9)} ${'wait p50'.padStart(9)} ${'wait p95'.padStart(9)}   utilisation ${ids.join(' / ')}   jobs per instance`;
}

function line(r: Row, bound: number, ids: string[], extra = ''): string {
  const mark = r.policy === DEFAULT_STRATEGY ? ' (default)' : '';
  const util = ids.map((id) => `${Math.round((r.util[id] ?? 0) * 100)}%`.padStart(5)).join(' ');
  const jobs = ids.map((id) => String(r.jobs[id] ?? 0).padStart(4)).join(' ');
  return `  ${(r.policy + mark).padEnd(30)} ${(r.makespan / bound).toFixed(3).padStart(6)}${extra} ${s(r.makespan).padStart(9)} ${s(r.p50).padStart(9)} ${s(r.p95).padStart(9)}   ${util}   ${jobs}`;
}

function printBound(b: LowerBoundDetail): void {
  process.stdout.write(`  lower bound ${s(b.ms)} = max(${formatBound(b)})\n`);
  const binding = b.terms.find((t) => t.name === b.binding);
  if (binding) process.stdout.write(`    binding: ${binding.name}: ${binding.detail}\n`);
}

/** The verdict line of a table: default's ratio, and whether it beats both seed baselines. */
function verdict(rows: Row[], bound: number): { ratio: number; ahead: boolean; text: string } {
  const ours = rows.find((r) => r.policy === DEFAULT_STRATEGY);
  const seeds = rows.filter((r) => r.policy.startsWith('seed'));
  if (!ours) return { ratio: Number.NaN, ahead: false, text: 'no default row' };
  const ratio = ours.makespan / bound;
  const ahead = seeds.every((x) => ours.makespan < x.makespan && ours.p95 < x.p95);
  return {
    ratio,
    ahead,
    text: `default (${DEFAULT_STRATEGY}) ${ratio.toFixed(3)} × the bound (goal ≤ 1.05: ${ratio <= 1.05 ? 'met' : 'NOT met'}); ${ahead ? 'ahead of' : 'NOT ahead of'} both seed baselines (makespan and p95 wait)`,
  };
}

interface Mix {
  name: string;
  workload: Workload;
  options?: SimOptions;
}

/** The simulated mixes: the bench's default workload first. */
export function simulatedMixes(): Mix[] {
  return [
    { name: 'standard (seed 1, 300 jobs at once)', workload: standardWorkload({ seed: 1 }) },
    { name: 'standard, seed 2', workload: standardWorkload({ seed: 2 }) },
    {
      name: 'long jobs (seed 3: more SDXL batch 4)',
      workload: standardWorkload({ seed: 3, kind_weights: { 'sdxl-batch4': 30, sd15: 50 } }),
    },
    {
      name: 'arrivals over 300 s (seed 4)',
      workload: standardWorkload({ seed: 4, arrival_window_ms: 300_000 }),
    },
    {
      name: 'one model kept per instance (seed 5)',
      workload: standardWorkload({ seed: 5 }),
      options: { model_cache: 1 },
    },
    {
      name: '300 ms per-job overhead at any speed (seed 6)',
      workload: { ...standardWorkload({ seed: 6 }), job_overhead_ms: 300 },
    },
    {
      name: 'small jobs (seed 7)',
      workload: standardWorkload({
        seed: 7,
        kind_weights: { sd15: 60, 'remove-background': 30, sdxl: 5, 'sdxl-batch4': 0 },
      }),
    },
  ];
}

function runSimulation(): void {
  process.stdout.write(
    "\n--- simulation (deterministic; the dispatcher's Scheduler core decides every placement)\n",
  );
  const verdicts: string[] = [];
  for (const mix of simulatedMixes()) {
    const w = mix.workload;
    const ids = w.instances.map((i) => i.id);
    const bound = lowerBoundDetail(w);
    process.stdout.write(
      `\n${mix.name}: ${w.jobs.length} jobs on ${w.instances.map((i) => `${i.id} ${i.speed}×`).join(', ')}\n`,
    );
    printBound(bound);
    process.stdout.write(`${header(ids)}\n`);
    const rows = compareStrategies(w, mix.options).map(simRow);
    for (const r of rows) process.stdout.write(`${line(r, bound.ms, ids)}\n`);
    const v = verdict(rows, bound.ms);
    process.stdout.write(`  ${v.text}\n`);
    verdicts.push(
      `${mix.name.padEnd(48)} ${v.ratio.toFixed(3)}  ${v.ahead ? 'ahead' : 'NOT ahead'}`,
    );
  }
  process.stdout.write(
    '\nsmall batches (44 jobs) on a cold gateway, default ÷ bound: without / with prompt guesses (work_hint_ms; the dispatcher does not pass them yet) / seed least queue\n',
  );
  for (const seed of [1, 2, 3, 4, 5]) {
    const w = standardWorkload({ seed, jobs: 44 });
    const bound = lowerBoundDetail(w).ms;
    const policy = { kind: 'scheduler', strategy: DEFAULT_STRATEGY } as const;
    const cold = simulate(w, policy, { lower_bound_ms: bound });
    const hinted = simulate(w, policy, { lower_bound_ms: bound, work_hints: true });
    const lq = simulate(w, { kind: 'submit_least_queue' }, { lower_bound_ms: bound });
    process.stdout.write(
      `  seed ${seed}: ${cold.ratio.toFixed(3)} / ${hinted.ratio.toFixed(3)} / ${lq.ratio.toFixed(3)}\n`,
    );
  }
  process.stdout.write(`\nsimulation summary (default ÷ bound, vs seed baselines):\n`);
  for (const v of verdicts) process.stdout.write(`  ${v}\n`);
}

/** Our strategies: the whole gateway path, late binding. */
async function runStrategy(w: Workload, scale: number, strategy: StrategyName): Promise<RealRun> {
  const fleet = await startFleet(w, scale);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cc-bench-sched-'));
  const gw = await openGateway({
    dir,
    instances: w.instances.map((inst) => ({
      name: inst.id,
      port: fleet.emus.get(inst.id)?.port ?? 0,
      priority: inst.priority,
      max_concurrent: inst.max_concurrent,
      prefetch: inst.prefetch,
    })),
    scheduler: { strategy },
    healthIntervalMs: 1_000,
  });
  try {
    await gw.ready(30_000);
    const nameOf = new Map(gw.registry.list().map((i) => [i.id, i.name]));
    const t0 = Date.now();
    const ids: string[] = [];
    for (const job of w.jobs) {
      const r = await gw.service.submit(
        { workflow: job.prompt, priority: job.priority },
        { owner: job.owner },
      );
      ids.push(r.job.id);
    }
    await gw.dispatcher.idle();
    const timings: Timing[] = [];
    for (const [k, id] of ids.entries()) {
      const job = await gw.services.jobs.get(id);
      const name = job?.instance_id ? nameOf.get(job.instance_id) : undefined;
      const client = name ? fleet.clients.get(name) : undefined;
      const wj = w.jobs[k];
      if (!client || !name || !wj || job?.status !== 'completed') continue;
      const t = timingOf(await client.getHistoryItem(id), name, wj);
      if (t) timings.push(t);
    }
    return { policy: strategy, t0, timings };
  } finally {
    await gw.close();
    await fleet.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The seeds' balancers: choose at submit, push every job into the instance's queue. */
async function runSeedBaseline(
  w: Workload,
  scale: number,
  kind: 'round_robin' | 'least_queue',
): Promise<RealRun> {
  const fleet = await startFleet(w, scale);
  try {
    const capable = (job: WorkloadJob): WorkloadInstance[] =>
      w.instances.filter(
        (i) => canRun(job.requirements, { id: i.id, capabilities: i.capabilities, tags: [] }).ok,
      );
    let rr = 0;
    const placed: { id: string; instance: string; job: WorkloadJob }[] = [];
    const t0 = Date.now();
    for (const job of w.jobs) {
      const options = capable(job);
      if (options.length === 0) continue;
      let target: WorkloadInstance | undefined;
      if (kind === 'round_robin') {
        target = options[rr++ % options.length];
      } else {
        let best = Number.POSITIVE_INFINITY;
        for (const inst of options) {
          const q = await fleet.clients.get(inst.id)?.getQueue();
          const n = (q?.queue_pending.length ?? 0) + (q?.queue_running.length ?? 0);
          if (n < best) {
            best = n;
            target = inst;
          }
        }
      }
      const client = target ? fleet.clients.get(target.id) : undefined;
      if (!client || !target) continue;
      const queued = await client.queuePrompt({ prompt: job.prompt });
      placed.push({ id: queued.prompt_id, instance: target.id, job });
    }
    // As the seeds' clients do (submit → monitor → fetch → download), and as the gateway does
    // for our strategies: follow the history and download every output as its job completes,
    // so both sides spend the same CPU on this machine.
    const outDir = await mkdtemp(path.join(os.tmpdir(), 'cc-bench-seed-'));
    try {
      const pending = new Map<string, Set<string>>();
      for (const p of placed) {
        const set = pending.get(p.instance) ?? new Set<string>();
        set.add(p.id);
        pending.set(p.instance, set);
      }
      let n = 0;
      for (let round = 0; [...pending.values()].some((x) => x.size > 0); round++) {
        if (round > 50_000) throw new Error('seed baseline: jobs did not finish');
        for (const [instance, ids] of pending) {
          if (ids.size === 0) continue;
          const client = fleet.clients.get(instance);
          if (!client) continue;
          const history = await client.getHistory({ maxItems: 64 });
          for (const [id, record] of Object.entries(history)) {
            if (!ids.has(id) || record.status?.completed !== true) continue;
            ids.delete(id);
            for (const out of Object.values(record.outputs)) {
              for (const image of out.images ?? []) {
                const ref = image as { filename?: unknown; subfolder?: unknown; type?: unknown };
                if (typeof ref.filename !== 'string') continue;
                await client.downloadToFile(
                  {
                    filename: ref.filename,
                    subfolder: typeof ref.subfolder === 'string' ? ref.subfolder : '',
                    type: typeof ref.type === 'string' ? ref.type : 'output',
                  },
                  path.join(outDir, `${n++}.png`),
                );
              }
            }
          }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
    const timings: Timing[] = [];
    for (const p of placed) {
      const client = fleet.clients.get(p.instance);
      const t = timingOf(await client?.getHistoryItem(p.id), p.instance, p.job);
      if (t) timings.push(t);
    }
    return {
      policy:
        kind === 'round_robin' ? 'seed: round robin at submit' : 'seed: least queue at submit',
      t0,
      timings,
    };
  } finally {
    await fleet.stop();
  }
}

/**
 * The workload as the emulated fleet really ran it, in wall-clock ms: work ÷ the time scale, and
 * per job the least overhead (run time beyond the simulated one) any job of its kind showed on
 * any instance in any run. Used for the measured bound and to simulate the same fleet.
 */
export function calibrate(w: Workload, scale: number, runs: readonly RealRun[]): Workload {
  const speed = new Map(w.instances.map((i) => [i.id, i.speed]));
  const least = new Map<string, number>();
  for (const run of runs) {
    for (const t of run.timings) {
      const nominal = t.job.work_ms / ((speed.get(t.instance) ?? 1) * scale);
      const extra = Math.max(0, t.end - t.start - nominal);
      least.set(t.job.kind, Math.min(least.get(t.job.kind) ?? extra, extra));
    }
  }
  const loads: Record<string, number> = {};
  for (const [k, v] of Object.entries(w.model_load_ms)) loads[k] = v / scale;
  return {
    ...w,
    model_load_ms: loads,
    jobs: w.jobs.map((j) => ({
      ...j,
      work_ms: j.work_ms / scale,
      submit_at: j.submit_at / scale,
      overhead_ms: least.get(j.kind) ?? 0,
    })),
  };
}

async function runEmulated(): Promise<void> {
  const scale = Number(process.env.SCHED_SCALE ?? 5);
  const total = Number(process.env.SCHED_JOBS ?? 150);
  const full = standardWorkload({ seed: 1, jobs: total });
  // The emulator really upscales 4× and encodes a 16-megapixel PNG: ~4 s of CPU per upscale
  // job whatever its speed, which would measure the emulator's CPU, not placement. Dropped here
  // (the simulation keeps them). SCHED_UPSCALE=1 keeps them.
  const w: Workload =
    process.env.SCHED_UPSCALE === '1'
      ? full
      : { ...full, jobs: full.jobs.filter((j) => j.kind !== 'upscale') };
  const ids = w.instances.map((i) => i.id);
  const nominal = lowerBoundDetail(w).ms / scale;
  process.stdout.write(
    `\n--- emulated fleet: ${w.jobs.length} jobs (standard seed 1) on ${w.instances.map((i) => `${i.id} (${i.speed}×)`).join(', ')}; time scale ${scale}; real dispatch path\n`,
  );
  const runs: RealRun[] = [];
  // SCHED_POLICIES=fastest_completion,least_queue runs only those (names of strategies, or
  // round_robin_seed / least_queue for the seed baselines).
  const only = process.env.SCHED_POLICIES?.split(',').map((x) => x.trim());
  const wanted = (name: string) => only === undefined || only.includes(name);
  // SCHED_REPEAT=n runs the chosen policies n times in turn (paired runs under similar machine
  // load: the emulators compete for the same cores as everything else on the machine).
  const repeat = Math.max(1, Math.floor(Number(process.env.SCHED_REPEAT ?? 1)) || 1);
  for (let rep = 0; rep < repeat; rep++) {
    const label = (r: RealRun): RealRun =>
      rep === 0 ? r : { ...r, policy: `${r.policy} #${rep + 1}` };
    for (const strategy of STRATEGIES.filter(wanted)) {
      runs.push(label(await runStrategy(w, scale, strategy)));
      process.stdout.write(`  ran ${strategy}\n`);
    }
    for (const kind of ['round_robin', 'least_queue'] as const) {
      if (!wanted(kind === 'round_robin' ? 'round_robin_seed' : kind)) continue;
      runs.push(label(await runSeedBaseline(w, scale, kind)));
      process.stdout.write(`  ran seed baseline ${kind}\n`);
    }
  }
  const cal = calibrate(w, scale, runs);
  const measured = lowerBoundDetail(cal);
  const overheads = new Map(cal.jobs.map((j) => [j.kind, j.overhead_ms ?? 0]));
  process.stdout.write(
    `  nominal bound ${s(nominal)} (simulated node time only: NOT a bound of these runs, the emulator's own CPU comes on top)\n`,
  );
  process.stdout.write(
    `  least overhead per job seen, by kind: ${[...overheads].map(([k, v]) => `${k} ${Math.round(v)} ms`).join(', ')}\n`,
  );
  printBound(measured);
  const sims = new Map(compareStrategies(cal).map((r) => [r.policy, r]));
  process.stdout.write(`${header(ids, ` ${'nominal'.padStart(7)} ${'sim'.padStart(6)}`)}\n`);
  const rows = runs.map((r) => realRow(w, r));
  for (const r of rows) {
    const sim = sims.get(r.policy.replace(/ #\d+$/, ''));
    const extra = ` ${(r.makespan / nominal).toFixed(3).padStart(7)} ${sim ? (sim.makespan_ms / measured.ms).toFixed(3).padStart(6) : '     -'}`;
    process.stdout.write(
      `${line(r, measured.ms, ids, extra)}${r.done < w.jobs.length ? `  (${r.done} done)` : ''}\n`,
    );
  }
  process.stdout.write(
    '  (ratio: ÷ the measured bound; nominal: ÷ the nominal bound; sim: the simulation of the calibrated workload, same policy, ÷ the measured bound)\n',
  );
  process.stdout.write(`  ${verdict(rows, measured.ms).text}\n`);
  for (const run of runs) {
    const a = asRun(w, run);
    const end = Math.max(run.t0, ...run.timings.map((t) => t.end));
    process.stdout.write(
      `    ${run.policy}: makespan ÷ as-run work of ${a.ids.join(', ')} (${s(a.ms)}) = ${((end - run.t0) / a.ms).toFixed(3)} (diagnostic, not a bound)\n`,
    );
  }
  for (const run of runs) process.stdout.write(`${idleLine(run, ids)}\n`);
  const dump = process.env.SCHED_TIMINGS;
  if (dump) {
    const data = runs.map((r) => ({
      policy: r.policy,
      t0: r.t0,
      timings: r.timings.map((t) => ({
        id: t.job.id,
        kind: t.job.kind,
        work_ms: t.job.work_ms,
        instance: t.instance,
        start: t.start,
        end: t.end,
      })),
    }));
    await writeFile(dump, JSON.stringify({ scale, runs: data }, null, 1));
    process.stdout.write(`  timings written to ${dump}\n`);
  }
}

export async function main(): Promise<void> {
  runSimulation();
  if (process.env.SCHED_REAL !== '0') await runEmulated();
}
