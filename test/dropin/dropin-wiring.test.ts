/**
 * The drop-in routes registered the way the gateway wires them (next to the job API over the
 * same job layer): no route clashes, and a drop-in prompt is a job of the native API too.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerJobApi } from '../../src/api/app.js';
import { type JobLayer, openJobLayer } from '../../src/api/routes/jobs/index.js';
import { type Harness, harness, until } from '../../src/api/testing/harness.js';
import type { EventBus } from '../../src/store/index.js';
import { ComfySocket, call, isDone } from './comfyui-test-client.js';

let h: Harness;
let layer: JobLayer;
let base: string;
let socket: ComfySocket | undefined;

beforeAll(async () => {
  h = await harness({ emulators: 1, logLevel: 'warn' });
  layer = await openJobLayer({
    store: h.store,
    registry: h.registry,
    monitor: h.monitor,
    bus: h.bus as unknown as EventBus<Record<string, unknown>>,
    dataDir: path.join(h.dir, 'data'),
  });
  await registerJobApi(h.app, layer, { dashboardDir: false });
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = h.app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  base = `http://127.0.0.1:${addr.port}`;
  await until(() => h.monitor.capabilities(h.ids[0] ?? '') !== undefined, 10_000, 'capabilities');
}, 30_000);

afterAll(async () => {
  await socket?.close();
  await layer?.close();
  await h?.close();
});

describe('drop-in routes beside the job API', () => {
  it('a /prompt submission runs and is a job of /api/v1/jobs; the seed routes still answer', async () => {
    socket = await ComfySocket.open(`${base.replace('http', 'ws')}/ws?clientId=wired`);
    const r = await call(base, 'POST', '/prompt', {
      client_id: 'wired',
      prompt: {
        '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 1 } },
        '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'w' } },
      },
    });
    expect(r.status, r.text).toBe(200);
    const id = (r.json as { prompt_id: string }).prompt_id;
    await socket.waitFor(isDone(id), 15_000, 'done');
    const native = await call(base, 'GET', `/api/v1/jobs/${id}`);
    expect(native.status).toBe(200);
    expect(native.json).toMatchObject({ status: 'completed' });
    expect((await call(base, 'GET', `/api/jobs/${id}`)).json).toMatchObject({
      id,
      status: 'completed',
    });
    expect((await call(base, 'GET', `/api/jobs/${id}/status`)).status).toBe(200);
  });
});
