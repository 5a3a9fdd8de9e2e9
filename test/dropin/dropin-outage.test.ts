/**
 * POST /prompt while the whole fleet is down: validated against what the instances last
 * reported, the prompt waits in the gateway and runs when an instance is back.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { comfyRoutes } from '../../src/api/routes/comfy/index.js';
import { type Harness, harness, until } from '../../src/api/testing/harness.js';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { createJobServices } from '../../src/jobs/index.js';
import { Dispatcher, type JobEvents, JobService } from '../../src/scheduler/dispatch/index.js';
import type { EventBus } from '../../src/store/index.js';
import { ComfySocket, call, isDone } from './comfyui-test-client.js';

let h: Harness;
let dispatcher: Dispatcher;
let service: JobService;
let base: string;
let back: RunningEmulator | undefined;
let socket: ComfySocket | undefined;

beforeAll(async () => {
  h = await harness({ emulators: 1, logLevel: 'warn' });
  const bus = h.bus as unknown as EventBus<JobEvents>;
  const services = createJobServices(h.store, { dataDir: path.join(h.dir, 'data') });
  dispatcher = new Dispatcher({ ...services, registry: h.registry, monitor: h.monitor, bus });
  service = new JobService({ services, dispatcher, bus });
  await h.app.register(comfyRoutes, { service, services, bus });
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = h.app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  base = `http://127.0.0.1:${addr.port}`;
  const id = h.ids[0] ?? '';
  await until(
    () => h.monitor.capabilities(id) !== undefined && h.monitor.health(id).health === 'healthy',
    10_000,
    'instance healthy with capabilities',
  );
  await dispatcher.start();
}, 30_000);

afterAll(async () => {
  await socket?.close();
  service?.close();
  await dispatcher?.stop();
  await back?.close();
  await h?.close();
});

describe('drop-in: the fleet down for a moment', () => {
  it('accepts a valid prompt (the last known capabilities), keeps it pending, runs it when the instance is back', async () => {
    const emu = h.emulators[0] as RunningEmulator;
    const id = h.ids[0] ?? '';
    const port = emu.port;
    await emu.close();
    await until(() => h.monitor.health(id).health === 'unhealthy', 10_000, 'instance unhealthy');

    socket = await ComfySocket.open(`${base.replace('http', 'ws')}/ws?clientId=outage`);
    const r = await call(base, 'POST', '/prompt', {
      client_id: 'outage',
      prompt: {
        '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 3 } },
        '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'outage' } },
      },
    });
    expect(r.status, r.text).toBe(200);
    const promptId = (r.json as { prompt_id: string }).prompt_id;
    const q = (await call(base, 'GET', '/queue')).json as { queue_pending: unknown[][] };
    expect(q.queue_pending.map((x) => x[1])).toEqual([promptId]);
    // A node no instance ever had is still refused.
    const unknown = await call(base, 'POST', '/prompt', {
      prompt: { '1': { class_type: 'NoSuchNode', inputs: {} } },
    });
    expect(unknown.status).toBe(400);

    back = await startEmulator({ port, speed: Number.POSITIVE_INFINITY });
    await socket.waitFor(isDone(promptId), 20_000, 'done after the instance came back');
    const hist = (await call(base, 'GET', `/history/${promptId}`)).json as Record<
      string,
      { status: { status_str: string } }
    >;
    expect(hist[promptId]?.status.status_str).toBe('success');
  }, 40_000);
});
