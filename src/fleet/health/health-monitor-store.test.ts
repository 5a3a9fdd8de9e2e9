/**
 * What the monitor keeps: health samples in a real SQLite store read back by time range, job
 * stats across restarts, and alerts raised and cleared in the store, on the bus and at an admin
 * webhook (a real HTTP server on 127.0.0.1).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type EmulatorOptions, type RunningEmulator, startEmulator } from '../../emulator/index.js';
import { openStore, type Store } from '../../store/index.js';
import { HealthMonitor } from './health-monitor.js';
import type { HealthMonitorOptions } from './monitor-options.js';
import { freePort, openRegistry, tempDir, until } from './testing/support.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

const FAST: Partial<HealthMonitorOptions> = {
  intervalMs: 100,
  checkTimeoutMs: 1_000,
  recheckDelayMs: 50,
  probeInitialDelayMs: 100,
  probeMaxDelayMs: 300,
  // The test machine's own RAM is what the emulator reports: keep that alert out of the way.
  alerts: { ramUseRatio: 1 },
  eventStream: {
    clientIdPrefix: 'store-test',
    reconnectInitialDelayMs: 50,
    reconnectMaxDelayMs: 200,
  },
  logger: { warn: () => undefined },
};

async function emulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const emu = await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY, ...options });
  cleanups.push(() => emu.close());
  return emu;
}

async function fixture() {
  const tmp = await tempDir('cc-health-store-');
  cleanups.push(tmp.remove);
  const store = await openStore({ kind: 'sqlite', file: path.join(tmp.dir, 'cc.db') });
  cleanups.push(() => store.close());
  const { registry, bus, events } = await openRegistry(tmp.dir);
  cleanups.push(() => registry.close());
  const start = (options: Partial<HealthMonitorOptions> = {}) => {
    const monitor = new HealthMonitor({ ...FAST, ...options, fleet: registry, bus, store });
    cleanups.push(() => monitor.close());
    return monitor.start();
  };
  return { store, registry, bus, events, start };
}

interface Hook {
  url: string;
  received: { event: string; alert: { kind: string; instance_id: string } }[];
  attempts: number;
}

/** An admin webhook that answers 503 to the first attempt, then 200. */
async function webhookServer(): Promise<Hook> {
  const hook: Hook = { url: '', received: [], attempts: 0 };
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hook.attempts++;
      if (hook.attempts === 1) {
        res.writeHead(503).end();
        return;
      }
      hook.received.push(JSON.parse(Buffer.concat(chunks).toString()) as Hook['received'][number]);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hook.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`;
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return hook;
}

function alertEvents(events: Awaited<ReturnType<typeof fixture>>['events'], kind: string) {
  return events.flatMap((e) =>
    (e.type === 'alert.raised' || e.type === 'alert.cleared') && e.payload.alert.kind === kind
      ? [{ type: e.type, alert: e.payload.alert }]
      : [],
  );
}

async function openAlerts(store: Store, id: string, kind: string) {
  return (await store.alerts.list({ instanceId: id, open: true })).filter((a) => a.kind === kind);
}

describe('HealthMonitor with a store', () => {
  it('persists a health sample per check, readable by time range', async () => {
    const port = await freePort();
    let emu = await startEmulator({ port, speed: Number.POSITIVE_INFINITY });
    cleanups.push(() => emu.close());
    const { registry, start } = await fixture();
    const { id } = await registry.create({ name: 'gpu', host: '127.0.0.1', port });
    const monitor = start();
    await until(() => (monitor.report(id)?.checks.total ?? 0) >= 5, 3_000, 'five checks');
    await emu.close();
    await until(() => monitor.health(id).health === 'unhealthy', 2_000, 'unhealthy');
    await monitor.idle();

    const all = await monitor.history(id);
    expect(all.length).toBeGreaterThanOrEqual(8);
    const times = all.map((s) => s.sampled_at);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const good = all.filter((s) => s.ok);
    expect(good[0]).toMatchObject({
      instance_id: id,
      health: 'healthy',
      queue_running: 0,
      error: null,
    });
    expect(good[0]?.latency_ms).toBeGreaterThanOrEqual(0);
    expect(good[0]?.vram_total).toBeGreaterThan(0);
    const bad = all.filter((s) => !s.ok);
    expect(bad.length).toBeGreaterThanOrEqual(3);
    expect(bad.at(-1)).toMatchObject({ health: 'unhealthy', latency_ms: null });
    expect(bad.at(-1)?.error).toMatch(/connection refused/);

    const from = all[1]?.sampled_at ?? 0;
    const to = all[3]?.sampled_at ?? 0;
    const range = await monitor.history(id, { from, to });
    expect(range.length).toBeGreaterThanOrEqual(3);
    expect(range).toEqual(all.filter((s) => s.sampled_at >= from && s.sampled_at <= to));
    expect(await monitor.history(id, { from: Date.now() + 60_000 })).toEqual([]);
    expect(await monitor.history(id, { limit: 2 })).toEqual(all.slice(-2));

    emu = await startEmulator({ port, speed: Number.POSITIVE_INFINITY });
    await until(() => monitor.health(id).health === 'healthy', 5_000, 'healthy again');
  });

  it('keeps job stats across a restart of the monitor', async () => {
    const emu = await emulator();
    const { registry, store, start } = await fixture();
    const { id } = await registry.create({ name: 'gpu', host: '127.0.0.1', port: emu.port });
    const first = start();
    first.recordJobResult(id, { ok: true, execution_ms: 1_000 });
    first.recordJobResult(id, { ok: true, execution_ms: 3_000 });
    first.recordJobResult(id, { ok: false, error: 'boom' });
    await first.close();
    expect(await store.instanceStats.get(id)).toMatchObject({
      jobs_total: 3,
      jobs_succeeded: 2,
      jobs_failed: 1,
      avg_run_ms: 2_000,
      last_error: 'boom',
    });

    const second = start();
    await second.idle();
    second.recordJobResult(id, { ok: true, execution_ms: 5_000 });
    expect(second.report(id)?.jobs).toMatchObject({
      total: 4,
      succeeded: 3,
      failed: 1,
      avg_execution_ms: 3_000,
      last_error: 'boom',
    });
  });

  it('raises and clears alerts: slow check, job errors; in the store, on the bus and at the webhook (with a retry)', async () => {
    const emu = await emulator();
    const hook = await webhookServer();
    const { registry, store, events, start } = await fixture();
    const { id } = await registry.create({ name: 'gpu', host: '127.0.0.1', port: emu.port });
    const monitor = start({
      alerts: { ramUseRatio: 1, slowCheckMs: 100, jobErrors: 5, jobErrorWindowMs: 400 },
      degraded: { slowResponseMs: 10_000 },
      webhook: { url: hook.url, retryDelayMs: 20 },
    });
    await until(() => monitor.health(id).health === 'healthy', 3_000, 'healthy');

    emu.setFaults({ slowResponsesMs: 200 });
    await until(() => alertEvents(events, 'slow_check').length === 1, 3_000, 'slow_check raised');
    expect(alertEvents(events, 'slow_check')[0]).toMatchObject({
      type: 'alert.raised',
      alert: { instance_id: id, kind: 'slow_check', cleared_at: null },
    });
    expect(alertEvents(events, 'slow_check')[0]?.alert.reason).toMatch(
      /health check took \d+ ms \(threshold 100 ms\)/,
    );
    expect((await openAlerts(store, id, 'slow_check'))[0]?.value).toBeGreaterThan(100);
    expect(monitor.openAlerts(id).map((a) => a.kind)).toEqual(['slow_check']);

    emu.setFaults({ slowResponsesMs: 0 });
    await until(() => alertEvents(events, 'slow_check').length === 2, 3_000, 'slow_check cleared');
    expect(alertEvents(events, 'slow_check')[1]?.type).toBe('alert.cleared');
    expect(await openAlerts(store, id, 'slow_check')).toEqual([]);

    for (let i = 0; i < 6; i++) monitor.recordJobResult(id, { ok: false, error: `e${i}` });
    await until(() => alertEvents(events, 'job_errors').length === 1, 2_000, 'job_errors raised');
    expect(alertEvents(events, 'job_errors')[0]?.alert).toMatchObject({ value: 6 });
    // The window passes; the next check clears it.
    await until(() => alertEvents(events, 'job_errors').length === 2, 3_000, 'job_errors cleared');

    await monitor.idle();
    expect(hook.attempts).toBe(5); // one 503, then four deliveries
    expect(hook.received.map((r) => `${r.event} ${r.alert.kind}`)).toEqual([
      'alert.raised slow_check',
      'alert.cleared slow_check',
      'alert.raised job_errors',
      'alert.cleared job_errors',
    ]);
    const stored = await store.alerts.list({ instanceId: id });
    expect(stored.every((a) => a.cleared_at !== null)).toBe(true);
  });

  it('raises an unhealthy alert while the circuit is open and a VRAM alert above 90 %', async () => {
    const port = await freePort();
    const emu = await startEmulator({
      port,
      speed: Number.POSITIVE_INFINITY,
      device: {
        name: 'cuda:0 Full GPU',
        type: 'cuda',
        vram_total: 10 * 2 ** 30,
        vram_free: 2 ** 29,
      },
    });
    cleanups.push(() => emu.close());
    const { registry, store, events, start } = await fixture();
    const { id } = await registry.create({ name: 'gpu', host: '127.0.0.1', port });
    const monitor = start();
    await until(() => alertEvents(events, 'vram_high').length === 1, 3_000, 'vram_high raised');
    expect(alertEvents(events, 'vram_high')[0]?.alert).toMatchObject({ value: 95 });

    await emu.close();
    await until(() => alertEvents(events, 'unhealthy').length === 1, 2_000, 'unhealthy raised');
    expect(alertEvents(events, 'unhealthy')[0]?.alert.reason).toMatch(
      /^circuit open after 3 consecutive failures/,
    );

    // Back with a roomier card: both conditions end.
    const back = await startEmulator({ port, speed: Number.POSITIVE_INFINITY });
    cleanups.push(() => back.close());
    await until(() => alertEvents(events, 'unhealthy').length === 2, 5_000, 'unhealthy cleared');
    await until(() => alertEvents(events, 'vram_high').length === 2, 2_000, 'vram_high cleared');
    await monitor.idle();
    expect(await store.alerts.list({ instanceId: id, open: true })).toEqual([]);
  });

  it('clears alerts a previous run left open once their condition is seen to have ended', async () => {
    const emu = await emulator();
    const { registry, store, start } = await fixture();
    const { id } = await registry.create({ name: 'gpu', host: '127.0.0.1', port: emu.port });
    await store.alerts.raise({ instance_id: id, kind: 'unhealthy', reason: 'old', raised_at: 1 });
    await store.alerts.raise({
      instance_id: 'gone',
      kind: 'unhealthy',
      reason: 'old',
      raised_at: 1,
    });
    const monitor = start();
    await until(() => monitor.health(id).health === 'healthy', 3_000, 'healthy');
    await monitor.idle();
    expect(await store.alerts.list({ open: true })).toEqual([]);
  });
});
