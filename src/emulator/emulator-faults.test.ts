import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator } from './index.js';
import type { RunningEmulator } from './options.js';
import { http, postJson, WORKFLOWS, WsProbe } from './testing/test-kit.js';

describe('faults, stats and control routes', () => {
  const running: RunningEmulator[] = [];
  const probes: WsProbe[] = [];
  const start = async (options: Parameters<typeof startEmulator>[0] = {}) => {
    const emu = await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY, ...options });
    running.push(emu);
    return emu;
  };
  afterEach(async () => {
    await Promise.all(probes.splice(0).map((p) => p.close()));
    await Promise.all(running.splice(0).map((e) => e.close()));
  });

  it('counts requests per route with the /api prefix folded in', async () => {
    const emu = await start();
    await http(emu.url, 'GET', '/system_stats');
    await http(emu.url, 'GET', '/api/system_stats');
    await http(emu.url, 'GET', '/history/abc');
    await http(emu.url, 'GET', '/api/jobs');
    await http(emu.url, 'GET', '/__emulator/stats');
    const probe = await WsProbe.open(emu.url, { clientId: 'c' });
    probes.push(probe);
    const stats = emu.stats();
    expect(stats.requests).toEqual({
      'GET /system_stats': 2,
      'GET /history/{prompt_id}': 1,
      'GET /api/jobs': 1,
      'GET /ws': 1,
    });
    expect(stats.websockets).toEqual({ opened: 1, open: 1 });
    emu.resetStats();
    expect(emu.stats().requests).toEqual({});
  });

  it('answers configured routes with a 5xx and delays responses', async () => {
    const emu = await start({ faults: { httpErrors: { '/prompt': 503, '/system_stats': 500 } } });
    const busy = await postJson(emu.url, '/api/prompt', { prompt: WORKFLOWS.emptySave() });
    expect(busy.status).toBe(503);
    expect(busy.text).toBe('503: Service Unavailable');
    const crash = await http(emu.url, 'GET', '/system_stats');
    expect(crash.status).toBe(500);
    expect(crash.text).toBe('500 Internal Server Error\n\nServer got itself in trouble');
    expect((await http(emu.url, 'GET', '/queue')).status).toBe(200);
    emu.setFaults({ httpErrors: {}, slowResponsesMs: 120 });
    const t0 = performance.now();
    expect((await http(emu.url, 'GET', '/queue')).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(100);
    emu.clearFaults();
  });

  it('hangs: accepts connections and never answers, until close()', async () => {
    const emu = await start({ faults: { hang: true } });
    const port = Number(new URL(emu.url).port);
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET /system_stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await new Promise((r) => setTimeout(r, 150));
    expect(received).toEqual([]);
    await emu.close();
    await closed;
    expect(received).toEqual([]);
  });

  it('drops WebSockets and refuses new ones while dropWebSockets is set', async () => {
    const emu = await start();
    const probe = await WsProbe.open(emu.url, { clientId: 'x' });
    probes.push(probe);
    const closed = new Promise<void>((resolve) => probe.socket.once('close', () => resolve()));
    emu.setFaults({ dropWebSockets: true });
    await closed;
    await expect(WsProbe.open(emu.url, { clientId: 'y' })).rejects.toThrow(/503/);
    emu.setFaults({ dropWebSockets: false });
    const again = await WsProbe.open(emu.url, { clientId: 'y' });
    probes.push(again);
    expect(emu.stats().websockets.open).toBe(1);
  });

  it('takes faults, speed and models over the control routes', async () => {
    const emu = await start();
    const faults = await postJson(emu.url, '/__emulator/faults', { oomNodes: ['SaveImage'] });
    expect(faults.json()).toEqual({ oomNodes: ['SaveImage'] });
    expect((await postJson(emu.url, '/__emulator/faults', { nope: 1 })).status).toBe(400);
    expect((await postJson(emu.url, '/__emulator/speed', { speed: 'Infinity' })).json()).toEqual({
      speed: 'Infinity',
    });
    expect((await postJson(emu.url, '/__emulator/speed', { speed: 0 })).status).toBe(400);
    const models = await postJson(emu.url, '/__emulator/models', {
      checkpoints: ['z.safetensors'],
    });
    expect(models.status).toBe(200);
    expect((await http(emu.url, 'GET', '/models/checkpoints')).json()).toEqual(['z.safetensors']);
    // In-process instances cannot be told to exit.
    expect((await postJson(emu.url, '/__emulator/exit', {})).status).toBe(404);
    const stats = (await http(emu.url, 'GET', '/__emulator/stats')).json() as { requests: object };
    expect(stats.requests).toEqual({ 'GET /models/{folder}': 1 });
  });

  it('runs pending prompts by (number, prompt_id), front ones last-in first-out', async () => {
    const emu = await start({ speed: 1, nodeDurations: { EmptyImage: 60_000 } });
    const probe = await WsProbe.open(emu.url, { clientId: 'order' });
    probes.push(probe);
    const submit = async (extra: Record<string, unknown>, color: number) => {
      const res = await postJson(emu.url, '/prompt', {
        prompt: WORKFLOWS.emptySave(color),
        client_id: 'order',
        ...extra,
      });
      return (res.json() as { prompt_id: string }).prompt_id;
    };
    const blocker = await submit({}, 1);
    await probe.waitFor((m) => m.kind === 'text' && m.type === 'execution_start');
    const late = await submit({ number: 100 }, 2);
    const normal = await submit({}, 3);
    const front1 = await submit({ front: true }, 4);
    const front2 = await submit({ front: true }, 5);
    const early = await submit({ number: -50 }, 6);
    emu.setSpeed(Number.POSITIVE_INFINITY);
    await postJson(emu.url, '/interrupt', { prompt_id: blocker });
    await probe.waitDone(late);
    const starts = probe.messages
      .filter((m) => m.kind === 'text' && m.type === 'execution_start')
      .map((m) => (m.kind === 'text' ? m.data.prompt_id : ''));
    expect(starts).toEqual([blocker, early, front2, front1, normal, late]);
  });
});
