/**
 * The health monitor against real emulated ComfyUI servers on 127.0.0.1, driven through a real
 * instance registry: figures, degraded reasons, the cache TTL and single flight, dispatch
 * failures and the circuit breaker, capabilities per connection, following the registry.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ComfyUnreachableError, ComfyValidationError } from '../../comfy/index.js';
import { type EmulatorOptions, type RunningEmulator, startEmulator } from '../../emulator/index.js';
import type { InstanceRegistry } from '../instance-registry.js';
import { HealthMonitor } from './health-monitor.js';
import type { HealthMonitorOptions } from './monitor-options.js';
import { openRegistry, requests, sleep, tempDir, until } from './testing/support.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

const warnings: string[] = [];
const FAST: Partial<HealthMonitorOptions> = {
  intervalMs: 200,
  checkTimeoutMs: 1_000,
  recheckDelayMs: 100,
  probeInitialDelayMs: 200,
  probeMaxDelayMs: 600,
  eventStream: {
    clientIdPrefix: 'health-test',
    reconnectInitialDelayMs: 50,
    reconnectMaxDelayMs: 300,
  },
  logger: { warn: (_obj, msg) => void warnings.push(msg) },
};

async function emulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const emu = await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY, ...options });
  cleanups.push(() => emu.close());
  return emu;
}

interface Setup {
  registry: InstanceRegistry;
  monitor: HealthMonitor;
  events: Awaited<ReturnType<typeof openRegistry>>['events'];
  ids: string[];
}

async function setup(
  emus: RunningEmulator[],
  options: Partial<HealthMonitorOptions> = {},
): Promise<Setup> {
  const tmp = await tempDir('cc-health-');
  cleanups.push(tmp.remove);
  const { registry, bus, events } = await openRegistry(tmp.dir);
  cleanups.push(() => registry.close());
  const ids: string[] = [];
  for (const [i, emu] of emus.entries()) {
    const view = await registry.create({ name: `emu${i}`, host: '127.0.0.1', port: emu.port });
    ids.push(view.id);
  }
  const monitor = new HealthMonitor({ ...FAST, ...options, fleet: registry, bus });
  cleanups.push(() => monitor.close());
  monitor.start();
  return { registry, monitor, events, ids };
}

function healthEvents(events: Setup['events'], id: string) {
  return events.flatMap((e) =>
    e.type === 'instance.health' && e.payload.id === id ? [e.payload] : [],
  );
}

describe('HealthMonitor', () => {
  it('reports a healthy instance with its figures, on the bus and on demand', async () => {
    const emu = await emulator({ version: '0.8.0' });
    const { monitor, events, ids } = await setup([emu]);
    const id = ids[0] ?? '';
    await until(() => monitor.health(id).health === 'healthy', 3_000, 'healthy');
    await until(
      () => (monitor.report(id)?.events_connection ?? '') === 'connected',
      3_000,
      'socket',
    );

    const report = monitor.report(id);
    expect(report).toMatchObject({
      instance_id: id,
      health: 'healthy',
      circuit: 'closed',
      reasons: [],
      comfyui_version: '0.8.0',
      consecutive_failures: 0,
      queue: { running: 0, pending: 0 },
      events_connection: 'connected',
    });
    expect(report?.devices[0]?.name).toContain('RTX 4090');
    expect(report?.vram_total).toBeGreaterThan(0);
    expect(report?.ram?.total).toBeGreaterThan(0);
    expect(report?.response_ms.last).toBeGreaterThan(0);
    expect(report?.response_ms.avg).toBeGreaterThan(0);
    expect(report?.last_healthy_at).not.toBeNull();
    expect(healthEvents(events, id)[0]).toMatchObject({ health: 'healthy', previous: 'unknown' });

    // Checks keep running on the interval, /system_stats and /queue each time.
    const before = requests(emu, '/system_stats');
    await until(() => requests(emu, '/system_stats') >= before + 2, 3_000, 'two more checks');
    expect(requests(emu, '/queue')).toBeGreaterThanOrEqual(before + 2);

    const handle = monitor.connectionFor(id);
    expect(handle?.events.connected).toBe(true);
    expect((await handle?.client.getQueue())?.queue_running).toEqual([]);
    expect(monitor.connectionFor('nope')).toBeUndefined();
    expect(monitor.health('nope').health).toBe('unknown');
  });

  it('gives 100 concurrent readers the cached state: no extra requests reach the instance', async () => {
    const emu = await emulator();
    // A long interval: after the first check only readers could cause requests.
    const { monitor, ids } = await setup([emu], { intervalMs: 60_000, cacheTtlMs: 30_000 });
    const id = ids[0] ?? '';
    await until(() => monitor.health(id).health === 'healthy', 3_000, 'healthy');
    emu.resetStats();

    const reports = await Promise.all(Array.from({ length: 100 }, () => monitor.refresh(id)));
    for (let i = 0; i < 100; i++) monitor.report(id);
    expect(reports.every((r) => r?.health === 'healthy')).toBe(true);
    expect(requests(emu, '/system_stats')).toBe(0);
    expect(requests(emu, '/queue')).toBe(0);

    // Readers that insist on fresh state share one check between them.
    await Promise.all(Array.from({ length: 100 }, () => monitor.refresh(id, { maxAgeMs: 0 })));
    expect(requests(emu, '/system_stats')).toBe(1);
    expect(requests(emu, '/queue')).toBe(1);
  });

  it('names the reason of a degraded instance: slow answers, low VRAM', async () => {
    const slow = await emulator();
    const lowVram = await emulator({
      device: {
        name: 'cuda:0 Tiny GPU',
        type: 'cuda',
        vram_total: 8 * 2 ** 30,
        vram_free: 2 ** 28,
      },
    });
    const { monitor, ids } = await setup([slow, lowVram], {
      degraded: { slowResponseMs: 100, minVramFreeRatio: 0.05 },
    });
    const [slowId = '', lowId = ''] = ids;
    await until(() => monitor.health(slowId).health === 'healthy', 3_000, 'healthy first');

    slow.setFaults({ slowResponsesMs: 300 });
    await until(() => monitor.health(slowId).health === 'degraded', 5_000, 'degraded (slow)');
    const r = monitor.report(slowId);
    expect(r?.reason_details.map((d) => d.code)).toEqual(['slow_response']);
    expect(r?.reasons[0]).toMatch(
      /^slow_response: answers in \d+ ms on average \(threshold 100 ms\)/,
    );

    slow.setFaults({ slowResponsesMs: 0 });
    await until(() => monitor.health(slowId).health === 'healthy', 5_000, 'healthy again');

    await until(() => monitor.health(lowId).health === 'degraded', 3_000, 'degraded (vram)');
    expect(monitor.report(lowId)?.reason_details[0]).toMatchObject({
      code: 'low_vram',
      threshold: 0.05,
    });
    expect(monitor.health(lowId).reasons[0]).toContain('Tiny GPU');
  });

  it('degrades on a high job failure rate and keeps job stats from the scheduler', async () => {
    const emu = await emulator();
    const { monitor, ids } = await setup([emu], { degraded: { minJobs: 4, jobFailureRate: 0.5 } });
    const id = ids[0] ?? '';
    await until(() => monitor.health(id).health === 'healthy', 3_000, 'healthy');
    monitor.recordJobResult(id, { ok: true, execution_ms: 100 });
    monitor.recordJobResult(id, { ok: true, execution_ms: 300 });
    monitor.recordJobResult(id, { ok: false, error: 'CUDA out of memory' });
    expect(monitor.health(id).health).toBe('healthy');
    monitor.recordJobResult(id, { ok: false, error: 'node error' });
    expect(monitor.health(id).health).toBe('degraded');
    expect(monitor.report(id)?.jobs).toMatchObject({
      total: 4,
      succeeded: 2,
      failed: 2,
      avg_execution_ms: 200,
      last_error: 'node error',
      recent_failure_rate: 0.5,
    });
    expect(monitor.report(id)?.reason_details[0]?.code).toBe('job_failure_rate');
  });

  it('opens the circuit on dispatch failures reported by the scheduler; a half-open probe closes it', async () => {
    const emu = await emulator();
    const { monitor, events, ids } = await setup([emu], { probeInitialDelayMs: 400 });
    const id = ids[0] ?? '';
    await until(() => monitor.health(id).health === 'healthy', 3_000, 'healthy');

    const rejected = new ComfyValidationError(
      {
        error: { type: 'prompt_no_outputs', message: 'no outputs', details: '', extra_info: {} },
        node_errors: {},
      },
      '{}',
    );
    expect(monitor.reportDispatchFailure(id, rejected)).toBe(false);
    expect(monitor.health(id).consecutive_failures).toBe(0);

    const down = () => new ComfyUnreachableError('connection refused', 'ECONNREFUSED', 'connect');
    expect(monitor.reportDispatchFailure(id, down())).toBe(true);
    monitor.reportDispatchFailure(id, down());
    monitor.reportDispatchFailure(id, down());
    const open = monitor.report(id);
    expect(open).toMatchObject({ health: 'unhealthy', circuit: 'open', consecutive_failures: 3 });
    expect(open?.reasons[0]).toMatch(
      /^circuit_open: 3 consecutive failures; last: dispatch failed/,
    );
    expect(open?.next_probe_at).not.toBeNull();
    expect(open?.last_error_kind).toBe('refused');

    // The instance is fine: the first probe (after the backoff) closes the circuit.
    await until(() => monitor.health(id).health === 'healthy', 3_000, 'closed by the probe');
    const circuits = healthEvents(events, id).map((e) => e.circuit);
    expect(circuits).toEqual(expect.arrayContaining(['open', 'half_open', 'closed']));
    expect(circuits.indexOf('half_open')).toBeGreaterThan(circuits.indexOf('open'));

    // A success resets the count of a closed circuit.
    monitor.reportDispatchFailure(id, down());
    monitor.reportDispatchSuccess(id);
    expect(monitor.health(id).consecutive_failures).toBe(0);
  });

  it('counts an instance refusing dispatch (5xx on POST /prompt) toward the circuit, not a rejected workflow', async () => {
    const emu = await emulator();
    const { monitor, ids } = await setup([emu], { probeInitialDelayMs: 5_000 });
    const id = ids[0] ?? '';
    await until(() => monitor.health(id).health === 'healthy', 3_000, 'healthy');
    const client = monitor.connectionFor(id)?.client;
    if (!client) throw new Error('no client');
    const dispatch = () =>
      client.queuePrompt({ prompt: { '1': { class_type: 'NoSuchNode', inputs: {} } } }).then(
        () => new Error('dispatch was accepted'),
        (err: unknown) => err,
      );

    // The instance answers 400 with node_errors: the workflow's fault, never the instance's.
    const invalid = await dispatch();
    expect(invalid).toBeInstanceOf(ComfyValidationError);
    for (let i = 0; i < 4; i++) expect(monitor.reportDispatchFailure(id, invalid)).toBe(false);
    expect(monitor.report(id)).toMatchObject({ circuit: 'closed', consecutive_failures: 0 });

    // /system_stats still answers, but POST /prompt is refused: three refusals open the circuit.
    emu.setFaults({ httpErrors: { '/prompt': 503 } });
    const checksBefore = monitor.report(id)?.checks.total ?? 0;
    for (let i = 1; i <= 3; i++) {
      const refused = await dispatch();
      expect(refused).toMatchObject({ status: 503 });
      expect(monitor.reportDispatchFailure(id, refused)).toBe(true);
      expect(monitor.health(id).consecutive_failures).toBe(i);
      if (i === 3) break;
      // Checks keep passing meanwhile; they do not wipe out the refusals.
      await until(() => (monitor.report(id)?.checks.total ?? 0) > checksBefore + i, 3_000, 'check');
      expect(monitor.health(id).consecutive_failures).toBe(i);
    }
    expect(monitor.report(id)).toMatchObject({
      health: 'unhealthy',
      circuit: 'open',
      last_error_kind: 'http_status',
    });
    expect(monitor.report(id)?.reasons[0]).toMatch(/dispatch failed: .*503/);
  });

  it('a successful dispatch clears refusals; a probe of the open circuit lets it try again', async () => {
    const emu = await emulator();
    const { monitor, ids } = await setup([emu], { probeInitialDelayMs: 300 });
    const id = ids[0] ?? '';
    await until(() => monitor.health(id).health === 'healthy', 3_000, 'healthy');
    const client = monitor.connectionFor(id)?.client;
    if (!client) throw new Error('no client');
    emu.setFaults({ httpErrors: { '/prompt': 500 } });
    const refused = await client
      .queuePrompt({ prompt: { '1': { class_type: 'X', inputs: {} } } })
      .then(
        () => new Error('accepted'),
        (err: unknown) => err,
      );
    expect(monitor.reportDispatchFailure(id, refused)).toBe(true);
    monitor.reportDispatchSuccess(id);
    expect(monitor.health(id).consecutive_failures).toBe(0);
    for (let i = 0; i < 3; i++) monitor.reportDispatchFailure(id, refused);
    expect(monitor.health(id).circuit).toBe('open');
    await until(() => monitor.health(id).circuit === 'closed', 3_000, 'closed by a probe');
    expect(monitor.health(id).consecutive_failures).toBe(0);
  });

  it('fetches capabilities once per connection, again after a reconnect, and on demand', async () => {
    const emu = await emulator();
    const { monitor, events, ids } = await setup([emu]);
    const id = ids[0] ?? '';
    await until(() => monitor.capabilities(id) !== undefined, 3_000, 'capabilities');
    const caps = monitor.capabilities(id);
    expect(caps?.node_classes.KSampler?.input.required).toHaveProperty('seed');
    expect(caps?.models.checkpoints).toContain('sd_xl_base_1.0.safetensors');
    expect(caps?.models).not.toHaveProperty('custom_nodes');
    expect(Date.parse(caps?.fetched_at ?? '')).not.toBeNaN();

    // Several checks later, still one /object_info.
    const checks = requests(emu, '/system_stats');
    await until(() => requests(emu, '/system_stats') >= checks + 3, 3_000, 'three more checks');
    expect(requests(emu, '/object_info')).toBe(1);

    // A new WebSocket connection means a new fetch.
    emu.setFaults({ dropWebSockets: true });
    await until(
      () => monitor.report(id)?.events_connection !== 'connected',
      2_000,
      'socket dropped',
    );
    emu.setFaults({ dropWebSockets: false });
    await until(() => requests(emu, '/object_info') === 2, 3_000, 'refetch after reconnect');
    await until(
      () => events.filter((e) => e.type === 'instance.capabilities').length === 2,
      2_000,
      'second capabilities event',
    );

    await monitor.refreshCapabilities(id);
    expect(requests(emu, '/object_info')).toBe(3);
    await expect(monitor.refreshCapabilities('nope')).rejects.toThrow(/not monitored/);
  });

  it('follows the registry: stopped instances are not checked, resumed and new ones are', async () => {
    const a = await emulator();
    const b = await emulator();
    const { registry, monitor, events, ids } = await setup([a]);
    const id = ids[0] ?? '';
    await until(() => monitor.health(id).health === 'healthy', 3_000, 'healthy');

    await registry.pause(id);
    expect(monitor.monitored()).toEqual([id]);
    await registry.resume(id);

    await registry.stop(id);
    expect(monitor.monitored()).toEqual([]);
    expect(monitor.health(id).health).toBe('unknown');
    expect(healthEvents(events, id).at(-1)).toMatchObject({
      health: 'unknown',
      previous: 'healthy',
    });
    await until(() => a.stats().websockets.open === 0, 2_000, 'socket closed');
    const after = requests(a, '/system_stats');
    await sleep(500);
    expect(requests(a, '/system_stats')).toBe(after);

    await registry.start(id);
    await until(() => monitor.health(id).health === 'healthy', 3_000, 'healthy after start');

    // A new address: a new connection to the other server.
    await registry.update(id, { port: b.port });
    await until(() => requests(b, '/system_stats') > 0, 3_000, 'checks on the new port');
    await until(() => monitor.health(id).health === 'healthy', 3_000, 'healthy on the new port');
    await until(() => a.stats().websockets.open === 0, 2_000, 'old socket closed');

    const added = await registry.create({ name: 'late', host: '127.0.0.1', port: a.port });
    await until(
      () => monitor.health(added.id).health === 'healthy',
      3_000,
      'added instance healthy',
    );
    await registry.delete(added.id);
    expect(monitor.monitored()).toEqual([id]);
  });

  it('rejects unusable options with the option named, and never shows the webhook', async () => {
    const tmp = await tempDir('cc-health-opts-');
    cleanups.push(tmp.remove);
    const { registry } = await openRegistry(tmp.dir);
    cleanups.push(() => registry.close());
    expect(() => new HealthMonitor({ fleet: registry, intervalMs: -1 })).toThrow(
      'HealthMonitor: intervalMs must be a positive number, got -1',
    );
    expect(() => new HealthMonitor({ fleet: registry, failureThreshold: 1.5 })).toThrow(
      /failureThreshold must be a whole number >= 1/,
    );
    expect(() => new HealthMonitor({ fleet: registry, webhook: 'ftp://ops.example/x' })).toThrow(
      /webhook url must be http\(s\)/,
    );
    const monitor = new HealthMonitor({
      fleet: registry,
      webhook: { url: 'http://127.0.0.1:9/hook?token=s3cret', headers: { 'x-key': 'k' } },
    });
    cleanups.push(() => monitor.close());
    expect(monitor.settings).toMatchObject({
      webhook: true,
      intervalMs: 30_000,
      failureThreshold: 3,
    });
    expect(JSON.stringify(monitor.settings)).not.toMatch(/s3cret|x-key/);
  });

  it('close() stops checks and closes every socket', async () => {
    const emu = await emulator();
    const { monitor, ids } = await setup([emu]);
    const id = ids[0] ?? '';
    await until(() => monitor.report(id)?.events_connection === 'connected', 3_000, 'connected');
    const handle = monitor.connectionFor(id);
    await monitor.close();
    expect(handle?.client.closed).toBe(true);
    expect(handle?.events.state).toBe('closed');
    await until(() => emu.stats().websockets.open === 0, 2_000, 'socket closed at the server');
    const after = requests(emu, '/system_stats');
    await sleep(500);
    expect(requests(emu, '/system_stats')).toBe(after);
    expect(monitor.monitored()).toEqual([]);
    await monitor.close();
  });
});
