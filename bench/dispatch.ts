/**
 * bench/dispatch: sustained jobs/s through the whole gateway path — accept (validation, SQLite
 * commit) → queue → place → claim → upload/POST /prompt → events → collect outputs → complete —
 * against 50 instant emulated instances hosted in two child processes (so this process only
 * carries the gateway), and the gateway's RSS with 10,000 jobs queued.
 *
 * Jobs are submitted by `DISPATCH_CLIENTS` concurrent submitters (default 32, each waiting for
 * its accept before the next, as HTTP clients would). Besides jobs/s, the gateway's CPU time per
 * job (process.cpuUsage) and the store's transactions per job are reported, with the machine's
 * load average: on a shared 2-core machine, CPU per job is the steadier figure.
 *
 * npm run bench -- dispatch      (DISPATCH_JOBS=5000 DISPATCH_INSTANCES=50 DISPATCH_CLIENTS=32)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulator } from '../src/emulator/index.js';
import type { RunningEmulator } from '../src/emulator/options.js';
import { openGateway } from '../src/scheduler/dispatch/testing/gateway.js';
import { emptySave } from '../src/scheduler/dispatch/testing/workflows.js';
import { GroupCommit } from '../src/store/index.js';

const HOST_FLAG = '--emulator-host';
const here = fileURLToPath(import.meta.url);
const repoRoot = path.resolve(path.dirname(here), '..');

/** Child mode: start `count` instant emulators, print their ports, live until stdin closes. */
async function hostEmulators(count: number): Promise<void> {
  const emus: RunningEmulator[] = [];
  for (let i = 0; i < count; i++) {
    emus.push(await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY, maxHistory: 2000 }));
  }
  process.stdout.write(`ports ${emus.map((e) => e.port).join(',')}\n`);
  const stop = async () => {
    await Promise.all(emus.map((e) => e.close()));
    process.exit(0);
  };
  process.stdin.on('end', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
}

interface Host {
  child: ChildProcess;
  ports: number[];
  stop(): Promise<void>;
}

async function startHost(count: number): Promise<Host> {
  const child = spawn(process.execPath, ['--import', 'tsx', here, HOST_FLAG, String(count)], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const ports = await new Promise<number[]>((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /ports ([\d,]+)\n/.exec(buf);
      if (m?.[1]) resolve(m[1].split(',').map(Number));
    });
    child.once('exit', (code) => reject(new Error(`emulator host exited with ${code}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    ports,
    stop: async () => {
      child.stdin?.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}

export async function main(): Promise<void> {
  const instances = Number(process.env.DISPATCH_INSTANCES ?? 50);
  const jobs = Number(process.env.DISPATCH_JOBS ?? 5000);
  const queued = Number(process.env.DISPATCH_QUEUED ?? 10_000);
  const clients = Math.max(1, Number(process.env.DISPATCH_CLIENTS ?? 32));
  const half = Math.ceil(instances / 2);
  const hosts = await Promise.all([startHost(half), startHost(instances - half)]);
  const ports = hosts.flatMap((h) => h.ports);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cc-bench-dispatch-'));
  const gw = await openGateway({
    dir,
    instances: ports.map((port, i) => ({ name: `emu${i}`, port })),
    healthIntervalMs: 5_000,
  });
  try {
    await gw.ready(60_000);
    const writes = GroupCommit.of(gw.store.db);
    process.stdout.write(
      `${instances} instant instances in 2 child processes; max_concurrent 1 + prefetch 1 each; SQLite store; ${clients} concurrent submitters; load average ${loadAvg()} (${os.cpus().length} cores)\n`,
    );
    // Warm-up: JIT, connection pools, hasJobsApi.
    await runBatch(gw, 500, 'warm', clients);

    const w0 = writes.stats;
    const h0 = hostsCpuMs(hosts);
    const r = await runBatch(gw, jobs, 'run', clients);
    const h1 = hostsCpuMs(hosts);
    const w1 = writes.stats;
    process.stdout.write(
      `sustained: ${jobs} jobs accept → store → place → run → collect in ${(r.totalMs / 1000).toFixed(2)} s = ${Math.round((jobs * 1000) / r.totalMs)} jobs/s (accept alone: ${Math.round((jobs * 1000) / r.acceptMs)} jobs/s); gateway CPU ${(r.cpu * 100).toFixed(0)} % of a core = ${Math.round((r.cpu * r.totalMs * 1000) / jobs)} µs per job; ${((w1.batches - w0.batches) / jobs).toFixed(2)} store transactions per job (${((w1.units - w0.units) / jobs).toFixed(2)} writes grouped); emulator hosts ${h0 === null || h1 === null ? 'n/a' : `${Math.round(((h1 - h0) * 1000) / jobs)} µs`} CPU per job; load average now ${loadAvg()}\n`,
    );

    // RSS with a deep queue: every instance paused, jobs accepted and held in the gateway.
    for (const id of gw.ids) await gw.registry.pause(id);
    global.gc?.();
    const before = process.memoryUsage();
    const t0 = performance.now();
    await submitAll(gw, queued, 'q', clients);
    const acceptMs = performance.now() - t0;
    global.gc?.();
    const after = process.memoryUsage();
    process.stdout.write(
      `queued: ${queued} jobs waiting in the gateway: RSS ${mb(after.rss)} (${mb(before.rss)} before accepting them), heap used ${mb(after.heapUsed)} (${mb(before.heapUsed)} before), waiting ${gw.dispatcher.counters().waiting}; accepted at ${Math.round((queued * 1000) / acceptMs)} jobs/s\n`,
    );
    const t1 = performance.now();
    const c1 = process.cpuUsage();
    for (const id of gw.ids) await gw.registry.resume(id);
    await gw.dispatcher.idle();
    const drainMs = performance.now() - t1;
    const dc = process.cpuUsage(c1);
    const drainCpuMs = (dc.user + dc.system) / 1000;
    process.stdout.write(
      `drain: ${queued} queued jobs placed, run and collected in ${(drainMs / 1000).toFixed(2)} s = ${Math.round((queued * 1000) / drainMs)} jobs/s; gateway CPU ${((drainCpuMs / drainMs) * 100).toFixed(0)} % of a core = ${Math.round((drainCpuMs * 1000) / queued)} µs per job; load average now ${loadAvg()}\n`,
    );
    const counts = await gw.services.jobs.countByStatus();
    process.stdout.write(`store: ${JSON.stringify(counts)}\n`);
  } finally {
    await gw.close();
    await Promise.all(hosts.map((h) => h.stop()));
    await rm(dir, { recursive: true, force: true });
  }
}

/** CPU time (ms) the emulator host processes used so far (Linux /proc; null elsewhere). */
function hostsCpuMs(hosts: Host[]): number | null {
  try {
    const tick = 100; // USER_HZ on Linux
    let ms = 0;
    for (const h of hosts) {
      const stat = readFileSync(`/proc/${h.child.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ms += ((Number(fields[11]) + Number(fields[12])) * 1000) / tick;
    }
    return ms;
  } catch {
    return null;
  }
}

function loadAvg(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
}

/** `count` jobs from `clients` concurrent submitters, each waiting for its accept. */
async function submitAll(
  gw: Awaited<ReturnType<typeof openGateway>>,
  count: number,
  tag: string,
  clients: number,
): Promise<void> {
  let next = 0;
  const submitter = async () => {
    while (next < count) {
      const i = next++;
      await gw.service.submit({ workflow: emptySave({ prefix: `${tag}${i}`, color: i }) });
    }
  };
  await Promise.all(Array.from({ length: Math.min(clients, count) }, submitter));
}

async function runBatch(
  gw: Awaited<ReturnType<typeof openGateway>>,
  count: number,
  tag: string,
  clients: number,
): Promise<{ totalMs: number; acceptMs: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await submitAll(gw, count, tag, clients);
  const acceptMs = performance.now() - t0;
  await gw.dispatcher.idle();
  const totalMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { totalMs, acceptMs, cpu: (c.user + c.system) / 1000 / totalMs };
}

if (process.argv[2] === HOST_FLAG) {
  await hostEmulators(Number(process.argv[3] ?? 25));
}
