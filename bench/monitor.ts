/**
 * bench/monitor: what the health monitor costs with 100 instances.
 *
 * The 100 emulated ComfyUI instances run in 4 child processes of 25 each (this file, started
 * with BENCH_MONITOR_HOST=<count>), so this process holds only what a gateway would: the
 * registry, the monitor (one client + one WebSocket per instance, checks, circuit breakers,
 * capabilities cache) and a SQLite store receiving a health sample per check. Its CPU
 * (process.cpuUsage) and RSS are therefore the monitor's own. Requests per second are counted by
 * the emulators themselves (GET /__emulator/stats, which is not counted).
 *
 * Each run warms up first (first checks and the capabilities fetch of every instance: ~22
 * requests per instance, once per connection), then measures a fixed window.
 *
 * Environment: BENCH_MONITOR_INSTANCES (100), BENCH_MONITOR_HOSTS (4),
 * BENCH_MONITOR_RUNS ("1000:15,30000:60" = interval ms : seconds measured, per run).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pidusage from 'pidusage';
import type { RunningEmulator } from '../src/emulator/index.js';
import type { HealthEvents } from '../src/fleet/health/index.js';
import { HealthMonitor } from '../src/fleet/health/index.js';
import { type FleetEvents, InstanceRegistry } from '../src/fleet/index.js';
import { InProcessEventBus, openStore } from '../src/store/index.js';
import { fixed } from './lib/stats.js';

const INSTANCES = Number(process.env.BENCH_MONITOR_INSTANCES ?? 100);
const HOSTS = Number(process.env.BENCH_MONITOR_HOSTS ?? 4);
/** "0": run without a store (no health samples written), to see the store's share. */
const WITH_STORE = process.env.BENCH_MONITOR_STORE !== '0';
const RUNS = (process.env.BENCH_MONITOR_RUNS ?? '1000:15,30000:60').split(',').map((run) => {
  const [interval, seconds] = run.split(':').map(Number);
  return { intervalMs: interval ?? 1000, seconds: seconds ?? 15 };
});

// ----- child: hosts N emulators --------------------------------------------------------------

async function hostEmulators(count: number): Promise<void> {
  const { startEmulator } = await import('../src/emulator/index.js');
  const emulators: RunningEmulator[] = [];
  for (let i = 0; i < count; i++) {
    emulators.push(await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY }));
  }
  process.stdout.write(`${JSON.stringify({ ports: emulators.map((e) => e.port) })}\n`);
  const stop = async () => {
    await Promise.all(emulators.map((e) => e.close()));
    process.exit(0);
  };
  process.stdin.on('end', () => void stop());
  process.stdin.resume();
  process.on('SIGTERM', () => void stop());
}

if (process.env.BENCH_MONITOR_HOST) {
  await hostEmulators(Number(process.env.BENCH_MONITOR_HOST));
}

// ----- parent --------------------------------------------------------------------------------

interface Host {
  child: ChildProcess;
  ports: number[];
}

async function startHost(count: number): Promise<Host> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, BENCH_MONITOR_HOST: String(count) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const ports = await new Promise<number[]>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`emulator host exited with ${code}`)));
    lines.once('line', (line) => resolve((JSON.parse(line) as { ports: number[] }).ports));
  });
  return { child, ports };
}

async function stopHost(host: Host): Promise<void> {
  if (host.child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => host.child.once('exit', () => resolve()));
  host.child.stdin?.end();
  const timer = setTimeout(() => host.child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function totalRequests(ports: number[]): Promise<Record<string, number>> {
  const sums: Record<string, number> = {};
  await Promise.all(
    ports.map(async (port) => {
      const res = await fetch(`http://127.0.0.1:${port}/__emulator/stats`);
      const stats = (await res.json()) as { requests: Record<string, number> };
      for (const [route, n] of Object.entries(stats.requests)) sums[route] = (sums[route] ?? 0) + n;
    }),
  );
  return sums;
}

async function resetRequests(ports: number[]): Promise<void> {
  await Promise.all(
    ports.map(async (port) => {
      const res = await fetch(`http://127.0.0.1:${port}/__emulator/stats/reset`, {
        method: 'POST',
      });
      await res.arrayBuffer();
    }),
  );
}

async function waitFor(predicate: () => boolean, limitMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cc-bench-monitor-'));
  const hosts: Host[] = [];
  try {
    const per = Math.ceil(INSTANCES / HOSTS);
    for (let left = INSTANCES; left > 0; left -= per)
      hosts.push(await startHost(Math.min(per, left)));
    const ports = hosts.flatMap((h) => h.ports);

    const bus = new InProcessEventBus<FleetEvents & HealthEvents>();
    const registry = await InstanceRegistry.open({
      configFile: path.join(dir, 'comfyui_instances.json'),
      env: {},
      bus,
    });
    for (const [i, port] of ports.entries()) {
      await registry.create({ name: `emu${i}`, host: '127.0.0.1', port });
    }
    const store = await openStore({ kind: 'sqlite', file: path.join(dir, 'cc.db') });
    const ids = registry.list().map((i) => i.id);

    const baseline = process.memoryUsage();
    process.stdout.write(
      `${ports.length} emulated instances in ${hosts.length} child processes; the monitor, registry and ${WITH_STORE ? 'a SQLite store' : 'no store'} in this process (RSS before the monitor: ${fixed(baseline.rss / 2 ** 20, 1)} MB, heap ${fixed(baseline.heapUsed / 2 ** 20, 1)} MB)\n`,
    );
    process.stdout.write(
      'interval_ms  seconds  req/s  checks/s  monitor_cpu_%  cpu_ms/check  rss_MB  heap_MB  hosts_cpu_%  samples/s\n',
    );
    for (const run of RUNS) {
      const monitor = new HealthMonitor({
        fleet: registry,
        bus,
        ...(WITH_STORE ? { store } : {}),
        intervalMs: run.intervalMs,
        logger: { warn: (obj, msg) => process.stderr.write(`${msg} ${JSON.stringify(obj)}\n`) },
      }).start();
      // Warm-up: every instance checked, connected and its capabilities fetched.
      await waitFor(
        () =>
          ids.every(
            (id) =>
              monitor.health(id).health === 'healthy' &&
              monitor.capabilities(id) !== undefined &&
              monitor.report(id)?.events_connection === 'connected',
          ),
        60_000,
        'every instance healthy with capabilities',
      );
      await monitor.idle();
      await resetRequests(ports);
      const samplesBefore = await store.healthSamples.count(ids[0] ?? '');
      for (const h of hosts) if (h.child.pid) await pidusage(h.child.pid);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, run.seconds * 1000));
      const cpu = process.cpuUsage(cpu0);
      const elapsedS = (performance.now() - t0) / 1000;
      const hostCpu = await Promise.all(
        hosts.map(async (h) => (h.child.pid ? (await pidusage(h.child.pid)).cpu : 0)),
      );
      const requests = await totalRequests(ports);
      const samplesAfter = await store.healthSamples.count(ids[0] ?? '');
      const mem = process.memoryUsage();
      await monitor.close();

      const total = Object.values(requests).reduce((a, b) => a + b, 0);
      const checks = requests['GET /system_stats'] ?? 0;
      const cpuMs = (cpu.user + cpu.system) / 1000;
      const line = [
        String(run.intervalMs).padStart(11),
        fixed(elapsedS, 1).padStart(7),
        fixed(total / elapsedS, 1).padStart(6),
        fixed(checks / elapsedS, 1).padStart(9),
        fixed((cpuMs / (elapsedS * 1000)) * 100, 2).padStart(14),
        fixed(checks > 0 ? cpuMs / checks : Number.NaN, 3).padStart(13),
        fixed(mem.rss / 2 ** 20, 1).padStart(7),
        fixed(mem.heapUsed / 2 ** 20, 1).padStart(8),
        fixed(
          hostCpu.reduce((a, b) => a + b, 0),
          1,
        ).padStart(12),
        fixed(((samplesAfter - samplesBefore) * ids.length) / elapsedS, 1).padStart(10),
      ];
      process.stdout.write(`${line.join('  ')}\n`);
      const other = Object.entries(requests).filter(
        ([route]) => route !== 'GET /system_stats' && route !== 'GET /queue',
      );
      if (other.length > 0)
        process.stdout.write(`  other requests: ${JSON.stringify(Object.fromEntries(other))}\n`);
    }
    await store.close();
    await registry.close();
    pidusage.clear();
  } finally {
    await Promise.all(hosts.map((h) => stopHost(h)));
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && !process.env.BENCH_MONITOR_HOST) {
  await main();
}
