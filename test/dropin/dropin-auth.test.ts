import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { comfyRoutes } from '../../src/api/routes/comfy/index.js';
import { type Harness, harness, until } from '../../src/api/testing/harness.js';
import { createJobServices } from '../../src/jobs/index.js';
import { Dispatcher, type JobEvents, JobService } from '../../src/scheduler/dispatch/index.js';
import type { EventBus } from '../../src/store/index.js';
import { ComfySocket, call, isDone } from './comfyui-test-client.js';

let h: Harness;
let dispatcher: Dispatcher;
let service: JobService;
let base: string;
let wsBase: string;
let alice: string;
let bob: string;
const sockets: ComfySocket[] = [];

const prompt = (color: number) => ({
  '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color } },
  '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'auth' } },
});

beforeAll(async () => {
  h = await harness({ emulators: 1, logLevel: 'warn', app: { auth: 'required' } });
  const bus = h.bus as unknown as EventBus<JobEvents>;
  const services = createJobServices(h.store, { dataDir: path.join(h.dir, 'data') });
  dispatcher = new Dispatcher({ ...services, registry: h.registry, monitor: h.monitor, bus });
  service = new JobService({ services, dispatcher, bus });
  await h.app.register(comfyRoutes, { service, services, bus });
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = h.app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  base = `http://127.0.0.1:${addr.port}`;
  wsBase = `ws://127.0.0.1:${addr.port}`;
  alice = (await h.keys.create({ role: 'user', name: 'alice' })).key;
  bob = (await h.keys.create({ role: 'user', name: 'bob' })).key;
  await until(() => h.monitor.capabilities(h.ids[0] ?? '') !== undefined, 10_000, 'capabilities');
  await dispatcher.start();
}, 30_000);

afterAll(async () => {
  for (const s of sockets) await s.close();
  service?.close();
  await dispatcher?.stop();
  await h?.close();
});

describe('drop-in routes with API keys', () => {
  it('refuses a call without a key in JSON, accepts Bearer, ?access_token= and ?token=', async () => {
    const none = await call(base, 'GET', '/prompt');
    expect(none.status).toBe(401);
    expect(none.json).toBeDefined();
    const bearer = await call(base, 'GET', '/prompt', undefined, {
      headers: { authorization: `Bearer ${alice}` },
    });
    expect(bearer.status).toBe(200);
    expect((await call(base, 'GET', `/object_info/Nope?access_token=${alice}`)).json).toEqual({});
    // Clients that can only append a query parameter often name it `token`.
    expect((await call(base, 'GET', `/object_info/Nope?token=${alice}`)).json).toEqual({});
    expect((await call(base, 'GET', '/object_info/Nope?token=cck_wrong')).status).toBe(401);
  });

  it('runs a prompt over ?access_token= (HTTP and /ws); another key neither sees nor cancels it', async () => {
    const s = await ComfySocket.open(`${wsBase}/ws?clientId=alice-1&access_token=${alice}`);
    sockets.push(s);
    await s.waitFor((m) => m.type === 'status', 5_000, 'status');
    const bobSocket = await ComfySocket.open(`${wsBase}/ws?clientId=alice-1&access_token=${bob}`);
    sockets.push(bobSocket);
    const r = await call(base, 'POST', `/prompt?access_token=${alice}`, {
      client_id: 'alice-1',
      prompt: prompt(9),
    });
    expect(r.status, r.text).toBe(200);
    const id = (r.json as { prompt_id: string }).prompt_id;
    await s.waitFor(isDone(id), 15_000, 'done');
    // Same client id, other key: no execution messages of alice's prompt.
    expect(bobSocket.forPrompt(id)).toEqual([]);
    expect(
      Object.keys((await call(base, 'GET', `/history/${id}?access_token=${alice}`)).json as object),
    ).toEqual([id]);
    expect((await call(base, 'GET', `/history/${id}?access_token=${bob}`)).json).toEqual({});
    const bobJob = await call(base, 'GET', `/api/jobs/${id}?access_token=${bob}`);
    expect(bobJob.status).toBe(404);
    expect(bobJob.json).toEqual({ error: 'Job not found' });
  });
});
