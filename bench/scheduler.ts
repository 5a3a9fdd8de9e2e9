/**
 * bench/scheduler: the standard scheduling workload (`standardWorkload()`: speeds 2×, 1×, 1×,
 * 0.5×, different models and node packs per instance, 300 mixed jobs from three owners) on a real
 * emulated fleet (emulator child processes, sped up by a time scale), once per placement
 * strategy through the real dispatch path (SQLite store, registry, monitor, dispatcher, runner)
 * and once per seed baseline (round robin / least queue length chosen at submit time, every job
 * POSTed straight into an instance's queue). Prints makespan ÷ lower bound, p50 / p95 wait
 * (submit → execution start, from the instances' history) and utilisation per instance, side
 * by side.
 *
 * npm run bench -- scheduler     (SCHED_SCALE=5 SCHED_JOBS=150 by default; upscale jobs dropped,
 * see main)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ComfyClient, type HistoryRecord } from '../src/comfy/index.js';
import { openGateway } from '../src/scheduler/dispatch/testing/gateway.js';
import {
  canRun,
  lowerBound,
  STRATEGIES,
  type StrategyName,
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
  instance: string;
  start: number;
  end: number;
}

function timingOf(record: HistoryRecord | undefined, instance: string): Timing | undefined {
  const messages = record?.status?.messages ?? [];
  let start: number | undefined;
  let end: number | undefined;
  for (const m of messages) {
    if (!Array.isArray(m)) continue;
    const [type, data] = m as [string, { timestamp?: number }];
    if (type === 'execution_start') start = data.timestamp;
    if (type === 'execution_success' || type === 'execution_error') end = data.timestamp;
  }
  return start !== undefined && end !== undefined ? { instance, start, end } : undefined;
}

interface Result {
  policy: string;
  makespan: number;
  ratio: number;
  /** makespan ÷ the bound recomputed from the run times measured in this run. */
  measuredRatio: number;
  p50: number;
  p95: number;
  util: Record<string, number>;
  jobs: Record<string, number>;
  done: number;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))] ?? 0;
}

function summarise(
  policy: string,
  w: Workload,
  t0: number,
  timings: Timing[],
  bound: number,
): Result {
  const end = Math.max(...timings.map((t) => t.end));
  const makespan = end - t0;
  const waits = timings.map((t) => t.start - t0).sort((a, b) => a - b);
  const util: Record<string, number> = {};
  const jobs: Record<string, number> = {};
  for (const inst of w.instances) {
    const mine = timings.filter((t) => t.instance === inst.id);
    util[inst.id] = mine.reduce((n, t) => n + (t.end - t.start), 0) / makespan;
    jobs[inst.id] = mine.length;
  }
  // The emulator also spends real CPU (pixels, PNG encoding, contention for the cores), which
  // the nominal bound leaves out. Measured work: each job's run time × its instance's speed.
  const speedOf = new Map(w.instances.map((i) => [i.id, i.speed]));
  const totalSpeed = w.instances.reduce((n, i) => n + i.speed * i.max_concurrent, 0);
  const measuredWork = timings.reduce(
    (n, t) => n + (t.end - t.start) * (speedOf.get(t.instance) ?? 1),
    0,
  );
  return {
    policy,
    makespan,
    ratio: makespan / bound,
    measuredRatio: makespan / Math.max(bound, measuredWork / totalSpeed),
    p50: percentile(waits, 0.5),
    p95: percentile(waits, 0.95),
    util,
    jobs,
    done: timings.length,
  };
}

/** Our strategies: the whole gateway path, late binding. */
async function runStrategy(
  w: Workload,
  scale: number,
  strategy: StrategyName,
  bound: number,
): Promise<Result> {
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
    for (const id of ids) {
      const job = await gw.services.jobs.get(id);
      const name = job?.instance_id ? nameOf.get(job.instance_id) : undefined;
      const client = name ? fleet.clients.get(name) : undefined;
      if (!client || !name || job?.status !== 'completed') continue;
      const t = timingOf(await client.getHistoryItem(id), name);
      if (t) timings.push(t);
    }
    return summarise(strategy, w, t0, timings, bound);
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
  bound: number,
): Promise<Result> {
  const fleet = await startFleet(w, scale);
  try {
    const capable = (job: WorkloadJob): WorkloadInstance[] =>
      w.instances.filter(
        (i) => canRun(job.requirements, { id: i.id, capabilities: i.capabilities, tags: [] }).ok,
      );
    let rr = 0;
    const placed: { id: string; instance: string }[] = [];
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
      placed.push({ id: queued.prompt_id, instance: target.id });
    }
    // Wait until every instance's queue is empty.
    for (const client of fleet.clients.values()) {
      for (;;) {
        const q = await client.getQueue();
        if (q.queue_pending.length === 0 && q.queue_running.length === 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const timings: Timing[] = [];
    for (const p of placed) {
      const t = timingOf(await fleet.clients.get(p.instance)?.getHistoryItem(p.id), p.instance);
      if (t) timings.push(t);
    }
    return summarise(
      kind === 'round_robin' ? 'seed: round robin at submit' : 'seed: least queue at submit',
      w,
      t0,
      timings,
      bound,
    );
  } finally {
    await fleet.stop();
  }
}

function row(r: Result, ids: string[]): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const util = ids.map((id) => `${Math.round((r.util[id] ?? 0) * 100)}%`.padStart(5)).join(' ');
  const jobs = ids.map((id) => String(r.jobs[id] ?? 0).padStart(4)).join(' ');
  return `${r.policy.padEnd(30)} ${r.ratio.toFixed(3).padStart(6)} ${r.measuredRatio.toFixed(3).padStart(7)} ${s(r.makespan).padStart(8)} ${s(r.p50).padStart(8)} ${s(r.p95).padStart(8)}   ${util}   ${jobs}   ${r.done}`;
}

export async function main(): Promise<void> {
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
  const count = w.jobs.length;
  const bound = lowerBound(w) / scale;
  const ids = w.instances.map((i) => i.id);
  process.stdout.write(
    `${count} jobs on ${w.instances.map((i) => `${i.id} (${i.speed}×)`).join(', ')}; time scale ${scale} (emulator speed = instance speed × ${scale}); lower bound ${(bound / 1000).toFixed(1)} s\n`,
  );
  process.stdout.write(
    '(ratio: makespan ÷ the nominal lower bound; ≈ratio*: ÷ the bound from the run times measured in that run, emulator CPU included)\n',
  );
  process.stdout.write(
    `${'policy'.padEnd(30)} ${'ratio'.padStart(6)} ${'≈ratio*'.padStart(7)} ${'makespan'.padStart(8)} ${'wait p50'.padStart(8)} ${'wait p95'.padStart(8)}   utilisation ${ids.join(' / ')}   jobs per instance   done\n`,
  );
  const results: Result[] = [];
  for (const strategy of STRATEGIES) {
    const r = await runStrategy(w, scale, strategy, bound);
    results.push(r);
    process.stdout.write(`${row(r, ids)}\n`);
  }
  for (const kind of ['round_robin', 'least_queue'] as const) {
    const r = await runSeedBaseline(w, scale, kind, bound);
    results.push(r);
    process.stdout.write(`${row(r, ids)}\n`);
  }
  const ours = results.find((r) => r.policy === 'fastest_completion');
  const seeds = results.filter((r) => r.policy.startsWith('seed'));
  if (ours) {
    const ahead = seeds.every((s) => ours.makespan < s.makespan);
    process.stdout.write(
      `default (fastest_completion): ${ours.ratio.toFixed(3)} × the nominal bound, ${ours.measuredRatio.toFixed(3)} × the measured one (goal ≤ 1.05); ${ahead ? 'ahead of' : 'NOT ahead of'} both seed baselines\n`,
    );
  }
}
