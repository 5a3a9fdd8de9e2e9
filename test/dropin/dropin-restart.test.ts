/**
 * The drop-in routes across a gateway restart (startGateway, as `serve` runs it, on one data
 * dir): a client-chosen prompt_id is the job id, so /history/{that id} still answers afterwards.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGateway, startGateway } from '../../src/api/server.js';
import { FAST_MONITOR, until } from '../../src/api/testing/harness.js';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { ComfySocket, call, isDone } from './comfyui-test-client.js';

let dir: string;
let emu: RunningEmulator;
let gateway: RunningGateway | undefined;
const sockets: ComfySocket[] = [];

const quiet = () =>
  new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });

async function start(): Promise<RunningGateway> {
  const gw = await startGateway({
    port: 0,
    dataDir: dir,
    env: {},
    logDestination: quiet(),
    monitor: FAST_MONITOR,
    dashboardDir: false,
    quickInstances: [{ name: 'emu', host: '127.0.0.1', port: emu.port }],
  });
  await until(
    async () => {
      const info = (await call(gw.url, 'GET', '/object_info/SaveImage')).json;
      return info !== undefined && Object.keys(info as object).length > 0;
    },
    10_000,
    'the instance is known to the gateway',
  );
  return gw;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cc-dropin-restart-'));
  emu = await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY });
}, 30_000);

afterAll(async () => {
  for (const s of sockets) await s.close();
  await gateway?.close();
  await emu?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('drop-in: client prompt_id across a restart', () => {
  it('GET /history/{client prompt_id} answers the record after the gateway restarted; a reused id is refused', async () => {
    gateway = await start();
    const clientId = `c-${randomUUID()}`;
    const s = await ComfySocket.open(
      `${gateway.url.replace('http', 'ws')}/ws?clientId=${clientId}`,
    );
    sockets.push(s);
    const mine = randomUUID();
    const prompt = {
      '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 9 } },
      '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'restart' } },
    };
    const r = await call(gateway.url, 'POST', '/prompt', {
      client_id: clientId,
      prompt_id: mine,
      prompt,
    });
    expect(r.status, r.text).toBe(200);
    expect((r.json as { prompt_id: string }).prompt_id).toBe(mine);
    await s.waitFor(isDone(mine), 15_000, 'done');
    const before = (await call(gateway.url, 'GET', `/history/${mine}`)).json as Record<
      string,
      { prompt: unknown[]; outputs: Record<string, { images: unknown[] }> }
    >;
    expect(Object.keys(before)).toEqual([mine]);

    // This client removes it from its own view of the history; that survives the restart too.
    await call(gateway.url, 'POST', `/history?clientId=${clientId}`, { delete: [mine] });

    await s.close();
    await gateway.close();
    gateway = await start();

    expect((await call(gateway.url, 'GET', `/history/${mine}?clientId=${clientId}`)).json).toEqual(
      {},
    );

    const after = await call(gateway.url, 'GET', `/history/${mine}`);
    expect(after.status).toBe(200);
    const rec = (after.json as typeof before)[mine];
    expect(rec?.prompt[1]).toBe(mine);
    expect(rec?.outputs).toEqual(before[mine]?.outputs);
    const image = rec?.outputs['2']?.images[0] as { filename: string; subfolder: string };
    const view = await call(
      gateway.url,
      'GET',
      `/view?filename=${image.filename}&subfolder=${image.subfolder}&type=output`,
    );
    expect(view.status).toBe(200);
    expect(((await call(gateway.url, 'GET', `/api/jobs/${mine}`)).json as { id: string }).id).toBe(
      mine,
    );
    // The prompt_id is the job id of the native API too.
    expect((await call(gateway.url, 'GET', `/api/v1/jobs/${mine}`)).status).toBe(200);
    expect(Object.keys((await call(gateway.url, 'GET', '/history')).json as object)).toContain(
      mine,
    );

    // ComfyUI would queue a reused prompt_id a second time; a job id is unique, so the gateway
    // answers 400 in the prompt error shape.
    const again = await call(gateway.url, 'POST', '/prompt', { prompt_id: mine, prompt });
    expect(again.status).toBe(400);
    expect(again.json).toEqual({
      error: {
        type: 'invalid_prompt_id',
        message: 'Invalid prompt_id',
        details: `${mine} is already in use`,
        extra_info: {},
      },
      node_errors: {},
    });
  }, 60_000);
});
