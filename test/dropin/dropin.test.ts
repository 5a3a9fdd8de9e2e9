import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { comfyRoutes } from '../../src/api/routes/comfy/index.js';
import { type Harness, harness, until } from '../../src/api/testing/harness.js';
import { createJobServices, type JobServices } from '../../src/jobs/index.js';
import { Dispatcher, type JobEvents, JobService } from '../../src/scheduler/dispatch/index.js';
import type { EventBus } from '../../src/store/index.js';
import { ComfySocket, call, isDone } from './comfyui-test-client.js';

const WORKFLOWS = '/work/shared/comfyui-protocol/workflows';
const workflow = (
  name: string,
): Record<string, { class_type: string; inputs: Record<string, unknown> }> =>
  JSON.parse(readFileSync(path.join(WORKFLOWS, name), 'utf8'));

interface FileEntry {
  filename: string;
  subfolder: string;
  type: string;
}
interface HistoryRecord {
  prompt: unknown[];
  outputs: Record<string, { images: FileEntry[] }>;
  status: { status_str: string; completed: boolean; messages: Array<[string, unknown]> };
  meta: Record<string, unknown>;
}

/** GET /history/{id}: the record, or undefined when `{}`. */
async function history(id: string, query = ''): Promise<HistoryRecord | undefined> {
  const body = (await call(base, 'GET', `/history/${id}${query}`)).json as Record<
    string,
    HistoryRecord
  >;
  return body[id];
}

async function queueRemaining(): Promise<number> {
  return ((await call(base, 'GET', '/prompt')).json as { exec_info: { queue_remaining: number } })
    .exec_info.queue_remaining;
}

let h: Harness;
let services: JobServices;
let dispatcher: Dispatcher;
let service: JobService;
let base: string;
let wsBase: string;
const sockets: ComfySocket[] = [];

async function socket(clientId?: string, prefix = ''): Promise<ComfySocket> {
  const s = await ComfySocket.open(
    `${wsBase}${prefix}/ws${clientId === undefined ? '' : `?clientId=${clientId}`}`,
  );
  sockets.push(s);
  await s.waitFor((m) => m.type === 'status', 5_000, 'status on connect');
  return s;
}

function png(w: number, h: number, seed: number): Buffer {
  const p = new PNG({ width: w, height: h });
  for (let i = 0; i < p.data.length; i++) p.data[i] = (i * 7 + seed) % 256;
  return PNG.sync.write(p);
}

async function upload(name: string, bytes: Buffer, fields: Record<string, string> = {}) {
  const form = new FormData();
  form.append('image', new Blob([bytes], { type: 'image/png' }), name);
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  return call(base, 'POST', '/upload/image', undefined, { raw: form });
}

/** Submits, then waits for the client's done signal. */
async function run(s: ComfySocket, clientId: string, prompt: unknown) {
  const r = await call(base, 'POST', '/prompt', { client_id: clientId, prompt });
  expect(r.status, r.text).toBe(200);
  const id = (r.json as { prompt_id: string }).prompt_id;
  await s.waitFor(isDone(id), 15_000, `done of ${id}`);
  return id;
}

beforeAll(async () => {
  h = await harness({ emulators: 2, logLevel: 'warn' });
  const bus = h.bus as unknown as EventBus<JobEvents>;
  services = createJobServices(h.store, { dataDir: path.join(h.dir, 'data') });
  dispatcher = new Dispatcher({ ...services, registry: h.registry, monitor: h.monitor, bus });
  service = new JobService({ services, dispatcher, bus });
  await h.app.register(comfyRoutes, { service, services, bus });
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = h.app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  base = `http://127.0.0.1:${addr.port}`;
  wsBase = `ws://127.0.0.1:${addr.port}`;
  await until(
    () =>
      h.ids.every(
        (id) =>
          h.monitor.capabilities(id) !== undefined && h.monitor.health(id).health === 'healthy',
      ),
    10_000,
    'instances healthy with capabilities',
  );
  await dispatcher.start();
}, 30_000);

afterAll(async () => {
  for (const s of sockets) await s.close();
  service?.close();
  await dispatcher?.stop();
  await h?.close();
});

describe('drop-in: what clients probe first', () => {
  it('GET /prompt answers the queue count as JSON, with unknown query params ignored', async () => {
    const r = await call(base, 'GET', '/prompt?clientId=abc&foo=1');
    expect(r.status).toBe(200);
    expect(r.type).toContain('application/json');
    expect(r.json).toEqual({ exec_info: { queue_remaining: 0 } });
  });

  it('/object_info is the fleet union; unknown class gives {} with 200', async () => {
    const all = (await call(base, 'GET', '/object_info')).json as Record<string, unknown>;
    expect(Object.keys(all)).toContain('SaveImage');
    const one = await call(base, 'GET', '/object_info/SaveImage');
    expect(Object.keys(one.json as object)).toEqual(['SaveImage']);
    const none = await call(base, 'GET', '/object_info/NoSuchNode');
    expect(none.status).toBe(200);
    expect(none.json).toEqual({});
    expect((await call(base, 'GET', '/api/object_info/NoSuchNode')).json).toEqual({});
  });

  it('/system_stats lists every instance device, named after the instance', async () => {
    const r = await call(base, 'GET', '/system_stats');
    expect(r.status).toBe(200);
    const body = r.json as { system: Record<string, unknown>; devices: Array<{ name: string }> };
    expect(typeof body.system.comfyui_version).toBe('string');
    const names = body.devices.map((d) => d.name);
    expect(names.some((n) => n.startsWith('emu0: '))).toBe(true);
    expect(names.some((n) => n.startsWith('emu1: '))).toBe(true);
  });

  it('models, embeddings, extensions, features, logs subscribe, all also under /api', async () => {
    for (const prefix of ['', '/api']) {
      const models = await call(base, 'GET', `${prefix}/models`);
      expect(models.json).toContain('checkpoints');
      expect(Array.isArray((await call(base, 'GET', `${prefix}/models/checkpoints`)).json)).toBe(
        true,
      );
      expect((await call(base, 'GET', `${prefix}/extensions`)).json).toEqual([]);
      expect(Array.isArray((await call(base, 'GET', `${prefix}/embeddings`)).json)).toBe(true);
      expect((await call(base, 'GET', `${prefix}/features`)).json).toMatchObject({
        supports_preview_metadata: true,
      });
    }
    const unknown = await call(base, 'GET', '/models/not_a_folder');
    expect(unknown.status).toBe(404);
    expect(unknown.json).toBeDefined();
    expect(
      (await call(base, 'PATCH', '/internal/logs/subscribe', { clientId: 'x', enabled: true }))
        .status,
    ).toBe(200);
  });
});

describe('drop-in: /free', () => {
  it('forwards unload_models / free_memory to every instance and answers a bare 200', async () => {
    const count = () => h.emulators.map((e) => e.stats().requests['POST /free'] ?? 0);
    const before = count();
    const r = await call(base, 'POST', '/free', { unload_models: true, free_memory: true });
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
    expect(count()).toEqual(before.map((n) => n + 1));
    expect((await call(base, 'POST', '/api/free', { free_memory: true })).status).toBe(200);
    expect(count()).toEqual(before.map((n) => n + 2));
    // No flag set: nothing to do (ComfyUI sets no flag either).
    expect((await call(base, 'POST', '/free', {})).status).toBe(200);
    expect(count()).toEqual(before.map((n) => n + 2));
  });
});

describe('drop-in: a prompt from submit to history', () => {
  it('runs empty_save (text/plain body), WS in ComfyUI order ending with executing null; history and /view', async () => {
    const clientId = `c-${randomUUID()}`;
    const s = await socket(clientId);
    expect(s.messages[0]).toMatchObject({ type: 'status', data: { sid: clientId } });
    const observer = await socket(`obs-${randomUUID()}`);
    const wf = workflow('empty_save.json');
    const r = await call(
      base,
      'POST',
      '/prompt',
      { client_id: clientId, prompt: wf, extra_data: { extra_pnginfo: {} } },
      { contentType: 'text/plain;charset=UTF-8' },
    );
    expect(r.status, r.text).toBe(200);
    const answer = r.json as { prompt_id: string; number: number; node_errors: object };
    expect(answer.node_errors).toEqual({});
    expect(typeof answer.number).toBe('number');
    const id = answer.prompt_id;
    // At the done signal the record must already be in /history (clients fetch it right away).
    await s.waitFor(isDone(id), 15_000, 'executing null');
    const rec = await history(id);
    const types = s.forPrompt(id).map((m) => m.type);
    expect(types[0]).toBe('execution_start');
    expect(types[1]).toBe('execution_cached');
    expect(types).toContain('executed');
    expect(types.indexOf('executed')).toBeLessThan(types.indexOf('execution_success'));
    expect(types.at(-1)).toBe('executing');
    // The status that lowers the count comes after execution_success and before executing null.
    const all = s.messages;
    const success = all.findIndex((m) => m.type === 'execution_success' && m.data.prompt_id === id);
    const done = all.findIndex(isDone(id));
    expect(all.slice(success, done).some((m) => m.type === 'status')).toBe(true);
    expect(s.nonJsonText).toEqual([]);

    if (!rec) throw new Error('no history record at executing null');
    expect(rec.prompt[1]).toBe(id);
    expect(rec.prompt[4]).toEqual(['2']);
    expect(rec.prompt[3]).toMatchObject({ client_id: clientId, extra_pnginfo: {} });
    expect(rec.status).toMatchObject({ status_str: 'success', completed: true });
    expect(rec.status.messages.map((m) => m[0])).toEqual([
      'execution_start',
      'execution_cached',
      'execution_success',
    ]);
    const image = rec.outputs['2']?.images[0];
    if (!image) throw new Error('no output image');
    expect(image).toMatchObject({ type: 'output' });
    expect(typeof image.subfolder).toBe('string');
    expect(rec.meta['2']).toMatchObject({ node_id: '2', display_node: '2' });

    // The gateway serves the file; its bytes equal the instance's copy.
    const view = await call(
      base,
      'GET',
      `/view?filename=${image.filename}&subfolder=${image.subfolder}&type=output`,
    );
    expect(view.status).toBe(200);
    expect(view.type).toBe('image/png');
    expect(view.headers.get('content-disposition')).toContain(image.filename);
    const job = await service.get(id);
    const outs = await service.outputs(id);
    const inst = h.emulators[h.ids.indexOf(job?.instance_id ?? '')];
    const orig = await call(
      inst?.url ?? '',
      'GET',
      `/view?filename=${outs[0]?.filename}&subfolder=${outs[0]?.subfolder ?? ''}&type=output`,
    );
    expect(orig.status).toBe(200);
    expect(view.bytes.equals(orig.bytes)).toBe(true);
    const ranged = await call(
      base,
      'GET',
      `/api/view?filename=${image.filename}&subfolder=${image.subfolder}`,
      undefined,
      { headers: { range: 'bytes=0-7' } },
    );
    expect(ranged.status).toBe(206);
    expect(ranged.bytes.equals(orig.bytes.subarray(0, 8))).toBe(true);

    // Another client's socket saw no execution message of this prompt.
    expect(observer.forPrompt(id)).toEqual([]);
    expect(observer.messages.every((m) => m.type === 'status')).toBe(true);

    const list = (await call(base, 'GET', '/history?max_items=1')).json as Record<string, unknown>;
    expect(Object.keys(list)).toEqual([id]);
    const apiJob = (await call(base, 'GET', `/api/jobs/${id}`)).json as Record<string, unknown> & {
      execution_status: { status_str: string };
    };
    expect(apiJob).toMatchObject({ id, status: 'completed', outputs_count: 1 });
    expect(apiJob.execution_status.status_str).toBe('success');
  });

  it('keeps a client-chosen prompt_id and sends events without client_id to nobody', async () => {
    const clientId = `c-${randomUUID()}`;
    const s = await socket(clientId);
    const mine = randomUUID();
    const wf = workflow('empty_save.json');
    (wf['1'] as { inputs: Record<string, unknown> }).inputs.color = 123;
    const r = await call(base, 'POST', '/prompt', {
      client_id: clientId,
      prompt_id: mine,
      prompt: wf,
    });
    expect((r.json as { prompt_id: string }).prompt_id).toBe(mine);
    await s.waitFor(isDone(mine), 15_000, 'done');
    expect((await history(mine))?.prompt[1]).toBe(mine);
    expect(((await call(base, 'GET', `/api/jobs/${mine}`)).json as { id: string }).id).toBe(mine);
  });

  it('uploads with ComfyUI naming rules, then LoadImage uses the upload', async () => {
    const a = png(16, 16, 1);
    const first = await upload('gw_upload.png', a);
    expect(first.json).toEqual({ name: 'gw_upload.png', subfolder: '', type: 'input' });
    expect((await upload('gw_upload.png', a)).json).toEqual({
      name: 'gw_upload.png',
      subfolder: '',
      type: 'input',
    });
    expect(((await upload('gw_upload.png', png(16, 16, 2))).json as { name: string }).name).toBe(
      'gw_upload (1).png',
    );
    expect(
      (
        (await upload('gw_upload.png', png(16, 16, 3), { overwrite: 'true' })).json as {
          name: string;
        }
      ).name,
    ).toBe('gw_upload.png');
    const sub = await upload('x.png', a, { subfolder: 'sub' });
    expect(sub.json).toEqual({ name: 'x.png', subfolder: 'sub', type: 'input' });
    expect((await upload('x.png', a, { subfolder: '../../etc' })).status).toBe(400);
    const viaApi = await call(base, 'POST', '/api/upload/image', undefined, {
      raw: (() => {
        const f = new FormData();
        f.append('image', new Blob([a]), 'y.png');
        return f;
      })(),
    });
    expect(viaApi.status).toBe(200);
    const input = await call(base, 'GET', '/view?filename=x.png&subfolder=sub&type=input');
    expect(input.bytes.equals(a)).toBe(true);
    expect((await call(base, 'GET', '/view?filename=x.png [input]&subfolder=sub')).status).toBe(
      200,
    );

    const clientId = `c-${randomUUID()}`;
    const s = await socket(clientId);
    const wf = workflow('load_scale_invert_save.json');
    (wf['1'] as { inputs: Record<string, unknown> }).inputs.image = 'sub/x.png';
    const id = await run(s, clientId, wf);
    const rec = await history(id);
    expect(rec?.status.status_str).toBe('success');
    const img = rec?.outputs['4']?.images[0];
    if (!img) throw new Error('no output image');
    const out = await call(
      base,
      'GET',
      `/view?filename=${img.filename}&subfolder=${img.subfolder}&type=output`,
    );
    const decoded = PNG.sync.read(out.bytes);
    expect([decoded.width, decoded.height]).toEqual([32, 32]);
  });
});

describe('drop-in: mask upload', () => {
  it('replaces the original alpha with the mask alpha (PNG), and a bad original writes nothing', async () => {
    const original = png(8, 8, 5);
    await upload('masked-src.png', original);
    const mask = new PNG({ width: 8, height: 8 });
    for (let i = 0; i < mask.data.length; i += 4)
      mask.data[i + 3] = i < mask.data.length / 2 ? 0 : 255;
    const form = new FormData();
    form.append('image', new Blob([PNG.sync.write(mask)]), 'mask.png');
    form.append(
      'original_ref',
      JSON.stringify({ filename: 'masked-src.png', subfolder: '', type: 'input' }),
    );
    const r = await call(base, 'POST', '/upload/mask', undefined, { raw: form });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ name: 'mask.png', subfolder: '', type: 'input' });
    const stored = PNG.sync.read(
      (await call(base, 'GET', '/view?filename=mask.png&type=input')).bytes,
    );
    const src = PNG.sync.read(original);
    expect(stored.data[3]).toBe(0);
    expect(stored.data[stored.data.length - 1]).toBe(255);
    expect([stored.data[0], stored.data[1], stored.data[2]]).toEqual([
      src.data[0],
      src.data[1],
      src.data[2],
    ]);

    const bad = new FormData();
    bad.append('image', new Blob([PNG.sync.write(mask)]), 'orphan-mask.png');
    bad.append('original_ref', JSON.stringify({ filename: 'nope.png', type: 'input' }));
    const r2 = await call(base, 'POST', '/api/upload/mask', undefined, { raw: bad });
    expect(r2.status).toBe(200);
    expect((await call(base, 'GET', '/view?filename=orphan-mask.png&type=input')).status).toBe(404);
  });
});

describe('drop-in: /view preview and channel', () => {
  it('re-encodes as ComfyUI: preview=jpeg;80, webp otherwise, channel=rgb and a as PNG', async () => {
    const src = png(12, 10, 9);
    await upload('view-src.png', src);
    const q = 'filename=view-src.png&type=input';
    const jpeg = await call(base, 'GET', `/view?${q}&preview=jpeg;80`);
    expect(jpeg.type).toBe('image/jpeg');
    expect(jpeg.bytes.subarray(0, 2).toString('hex')).toBe('ffd8');
    const webp = await call(base, 'GET', `/view?${q}&preview=gif`);
    expect(webp.type).toBe('image/webp');
    expect(webp.bytes.subarray(8, 12).toString('latin1')).toBe('WEBP');
    const rgb = PNG.sync.read((await call(base, 'GET', `/view?${q}&channel=rgb`)).bytes);
    const orig = PNG.sync.read(src);
    expect(rgb.data[3]).toBe(255);
    expect([rgb.data[0], rgb.data[1], rgb.data[2]]).toEqual([
      orig.data[0],
      orig.data[1],
      orig.data[2],
    ]);
    const a = PNG.sync.read((await call(base, 'GET', `/view?${q}&channel=a`)).bytes);
    expect([a.data[0], a.data[1], a.data[2], a.data[3]]).toEqual([0, 0, 0, orig.data[3]]);
  });
});

describe('drop-in: validation answers in ComfyUI shapes', () => {
  it('unknown class, bad combo, missing upload, no prompt, bad prompt_id, bad JSON', async () => {
    const unknown = await call(base, 'POST', '/prompt', {
      prompt: { '1': { class_type: 'NoSuchNode', inputs: {} } },
    });
    expect(unknown.status).toBe(400);
    // ComfyUI 0.8.0 (the recordings) answers an unknown class this way.
    expect(unknown.json).toMatchObject({
      error: { type: 'invalid_prompt', details: "Node ID '#1'" },
      node_errors: {},
    });
    expect(JSON.stringify(unknown.json)).toContain('NoSuchNode');

    const combo = workflow('load_scale_invert_save.json');
    (combo['1'] as { inputs: Record<string, unknown> }).inputs.image = 'missing-file.png';
    const missing = await call(base, 'POST', '/prompt', { prompt: combo });
    expect(missing.status).toBe(400);
    const m = missing.json as {
      error: { type: string };
      node_errors: Record<string, { errors: Array<{ type: string }>; class_type: string }>;
    };
    expect(m.error.type).toBe('prompt_outputs_failed_validation');
    expect(m.node_errors['1']?.class_type).toBe('LoadImage');
    expect(m.node_errors['1']?.errors[0]?.type).toBe('custom_validation_failed');

    const scale = workflow('load_scale_invert_save.json');
    (scale['2'] as { inputs: Record<string, unknown> }).inputs.upscale_method = 'nope';
    (scale['1'] as { inputs: Record<string, unknown> }).inputs.image = 'gw_upload.png';
    const bad = await call(base, 'POST', '/api/prompt', { prompt: scale });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain('value_not_in_list');

    expect((await call(base, 'POST', '/prompt', { client_id: 'x' })).json).toEqual({
      error: {
        type: 'no_prompt',
        message: 'No prompt provided',
        details: 'No prompt provided',
        extra_info: {},
      },
      node_errors: {},
    });
    // A JSON array body is no prompt either (ComfyUI 0.8.0).
    expect((await call(base, 'POST', '/prompt', [1, 2])).json).toMatchObject({
      error: { type: 'no_prompt' },
    });
    const badId = await call(base, 'POST', '/prompt', {
      prompt_id: 'ABC',
      prompt: workflow('empty_save.json'),
    });
    expect(badId.status).toBe(400);
    expect(badId.json).toMatchObject({ error: { type: 'invalid_prompt_id' } });
    const notJson = await call(base, 'POST', '/prompt', undefined, {
      raw: '{nope',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
    expect(notJson.json).toBeDefined();
    const noOutput = await call(base, 'POST', '/prompt', {
      prompt: workflow('no_output_node.json'),
    });
    expect(noOutput.json).toMatchObject({ error: { type: 'prompt_no_outputs' } });
  });

  it("answers number as ComfyUI: the counter, negated with front, the client's own as given", async () => {
    const clientId = `c-${randomUUID()}`;
    const s = await socket(clientId);
    const submit = async (extra: Record<string, unknown>, color: number) => {
      const wf = workflow('empty_save.json');
      (wf['1'] as { inputs: Record<string, unknown> }).inputs.color = color;
      const r = await call(base, 'POST', '/prompt', { client_id: clientId, prompt: wf, ...extra });
      expect(r.status, r.text).toBe(200);
      const body = r.json as { prompt_id: string; number: number };
      await s.waitFor(isDone(body.prompt_id), 15_000, 'done');
      return body.number;
    };
    const first = await submit({}, 6001);
    expect(Number.isInteger(first)).toBe(true);
    expect(await submit({ front: true }, 6002)).toBe(-(first + 1));
    expect(await submit({ number: 5.5 }, 6003)).toBe(5.5);
    expect(await submit({}, 6004)).toBe(first + 2);
  });

  it('runs the valid outputs of a partly invalid prompt: 200 with node_errors', async () => {
    const clientId = `c-${randomUUID()}`;
    const s = await socket(clientId);
    const wf: Record<string, { class_type: string; inputs: Record<string, unknown> }> = {
      ...workflow('empty_save.json'),
      '3': { class_type: 'ImageInvert', inputs: {} },
      '4': { class_type: 'SaveImage', inputs: { images: ['3', 0], filename_prefix: 'bad' } },
    };
    (wf['1'] as { inputs: Record<string, unknown> }).inputs.color = 4242;
    const r = await call(base, 'POST', '/prompt', { client_id: clientId, prompt: wf });
    expect(r.status, r.text).toBe(200);
    const body = r.json as {
      prompt_id: string;
      node_errors: Record<string, { dependent_outputs: string[] }>;
    };
    expect(body.node_errors['3']?.dependent_outputs).toEqual(['4']);
    await s.waitFor(isDone(body.prompt_id), 15_000, 'done');
    const rec = await history(body.prompt_id);
    expect(rec?.status.status_str).toBe('success');
    expect(Object.keys(rec?.outputs ?? {})).toEqual(['2']);
    expect(rec?.prompt[4]).toEqual(['2']);
  });

  it('answers JSON errors on /api/jobs and ComfyUI statuses on /view', async () => {
    const nf = await call(base, 'GET', `/api/jobs/${randomUUID()}`);
    expect(nf.status).toBe(404);
    expect(nf.json).toEqual({ error: 'Job not found' });
    const bad = await call(base, 'POST', '/api/jobs/cancel', { job_ids: ['not-a-uuid'] });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ invalid_ids: ['not-a-uuid'] });
    expect((await call(base, 'GET', '/api/jobs?status=bogus')).status).toBe(400);
    expect((await call(base, 'GET', '/history/unknown-id')).json).toEqual({});
    expect((await call(base, 'GET', '/view?filename=nope.png')).status).toBe(404);
    expect((await call(base, 'GET', '/view')).status).toBe(404);
    expect((await call(base, 'GET', '/view?filename=../../etc/passwd')).status).toBe(400);
    expect((await call(base, 'GET', '/view?filename=x.png&subfolder=../../..')).status).toBe(403);
    expect((await call(base, 'GET', '/view?filename=x.png&type=bogus')).status).toBe(400);
  });

  it('bodiless answers are empty application/octet-stream, as ComfyUI (aiohttp) sends them', async () => {
    for (const [method, route, body] of [
      ['POST', '/queue', { delete: [] }],
      ['POST', '/history', { delete: [] }],
      ['POST', '/api/interrupt', { prompt_id: randomUUID() }],
      ['GET', '/view', undefined],
      ['GET', '/view?filename=../../etc/passwd', undefined],
      ['GET', '/view?filename=x.png&subfolder=../../..', undefined],
    ] as const) {
      const r = await call(base, method, route, body);
      expect([r.type, r.text], `${method} ${route}`).toEqual(['application/octet-stream', '']);
    }
    // A body that is not JSON counts as no body on /interrupt (ComfyUI: a global interrupt).
    const lenient = await call(base, 'POST', '/interrupt?clientId=nobody-here', undefined, {
      raw: '{not json',
      headers: { 'content-type': 'application/json' },
    });
    expect([lenient.status, lenient.type, lenient.text]).toEqual([
      200,
      'application/octet-stream',
      '',
    ]);
    // A plain GET of the socket path: ComfyUI's 400 (no Upgrade header).
    const ws = await call(base, 'GET', '/ws');
    expect(ws.status).toBe(400);
    expect(ws.text).toContain('No WebSocket UPGRADE hdr');
  });
});

describe('drop-in: queue, interrupt and cancel are scoped to the client', () => {
  it('shows running and pending items; another client cannot delete or interrupt them', async () => {
    for (const e of h.emulators) e.setSpeed(0.02);
    try {
      const clientId = `c-${randomUUID()}`;
      const s = await socket(clientId);
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const wf = workflow('slow_blur_chain.json');
        (wf['1'] as { inputs: Record<string, unknown> }).inputs.color = 1000 + i;
        const r = await call(base, 'POST', '/prompt', { client_id: clientId, prompt: wf });
        ids.push((r.json as { prompt_id: string }).prompt_id);
      }
      let q: { queue_running: unknown[][]; queue_pending: unknown[][] } = {
        queue_running: [],
        queue_pending: [],
      };
      await until(
        async () => {
          q = (await call(base, 'GET', '/queue')).json as typeof q;
          return q.queue_running.length > 0 && q.queue_pending.length > 0;
        },
        10_000,
        'running and pending items',
      );
      const item = q.queue_pending[0] as unknown[];
      expect(item).toHaveLength(5);
      expect(typeof item[0]).toBe('number');
      expect(ids).toContain(item[1]);
      expect(item[3]).toMatchObject({ client_id: clientId });
      expect(item[4]).toEqual(['99']);
      expect(await queueRemaining()).toBe(6);

      const pendingId = item[1] as string;
      await call(base, 'POST', `/queue?clientId=someone-else`, { delete: [pendingId] });
      expect((await service.get(pendingId))?.status).toBe('pending');
      await call(base, 'POST', `/queue?clientId=${clientId}`, { delete: [pendingId] });
      expect((await service.get(pendingId))?.status).toBe('cancelled');

      // A prompt that is executing on an instance (queue_running also holds prefetched ones).
      const started = await s.waitFor(
        (m) => m.type === 'execution_start' && m.data.prompt_id !== pendingId,
        10_000,
        'execution_start',
      );
      const running = started.data.prompt_id as string;
      expect(q.queue_running.map((x) => x[1]).concat(q.queue_pending.map((x) => x[1]))).toContain(
        running,
      );
      await call(base, 'POST', '/interrupt?clientId=someone-else', { prompt_id: running });
      await call(base, 'POST', '/interrupt', { prompt_id: running, client_id: 'someone-else' });
      expect((await service.get(running))?.cancel_requested).toBe(false);
      await call(base, 'POST', `/interrupt?clientId=${clientId}`, { prompt_id: running });
      await s.waitFor(isDone(running), 15_000, 'interrupted prompt done');
      const types = s.forPrompt(running).map((m) => m.type);
      expect(types).toContain('execution_interrupted');
      expect(types).not.toContain('execution_error');
      const rec = await history(running);
      expect(rec?.status.status_str).toBe('error');
      const interrupted = rec?.status.messages.at(-1) as [string, Record<string, unknown>];
      expect(interrupted[0]).toBe('execution_interrupted');
      // The instance's own data: the node it stopped at and its class.
      expect(typeof interrupted[1].node_type).toBe('string');

      const other = ids.find((id) => id !== running && id !== pendingId) as string;
      expect((await call(base, 'POST', `/api/jobs/${other}/cancel?clientId=nobody`)).json).toEqual({
        cancelled: false,
      });
      expect(
        (await call(base, 'POST', `/api/jobs/${other}/cancel?clientId=${clientId}`)).json,
      ).toEqual({ cancelled: true });
      const rest = ids.filter((id) => ![running, pendingId, other].includes(id));
      expect(
        (await call(base, 'POST', `/api/jobs/cancel?clientId=${clientId}`, { job_ids: rest })).json,
      ).toEqual({ cancelled: true });
      await until(async () => (await queueRemaining()) === 0, 15_000, 'queue empty');
    } finally {
      for (const e of h.emulators) e.setSpeed(Number.POSITIVE_INFINITY);
    }
  }, 40_000);

  it("POST /queue clear removes the caller's pending prompts only; POST /history clear hides only the caller's view", async () => {
    for (const e of h.emulators) e.setSpeed(0.02);
    const slow = (color: number) => {
      const wf = workflow('slow_blur_chain.json');
      (wf['1'] as { inputs: Record<string, unknown> }).inputs.color = color;
      return wf;
    };
    try {
      const [a, b, filler] = [`a-${randomUUID()}`, `b-${randomUUID()}`, `f-${randomUUID()}`];
      const submit = async (clientId: string, color: number) =>
        (
          (await call(base, 'POST', '/prompt', { client_id: clientId, prompt: slow(color) }))
            .json as { prompt_id: string }
        ).prompt_id;
      // Every instance slot (running + prefetched) is taken first, so the rest wait.
      for (let i = 0; i < 4; i++) await submit(filler, 7100 + i);
      const mine = [await submit(a, 7200), await submit(a, 7201)];
      const theirs = [await submit(b, 7300), await submit(b, 7301)];
      await until(
        async () => {
          const q = (await call(base, 'GET', '/queue')).json as { queue_pending: unknown[][] };
          return q.queue_pending.length === 4;
        },
        10_000,
        'four pending',
      );
      const r = await call(base, 'POST', `/queue?clientId=${a}`, { clear: true });
      expect([r.status, r.text]).toEqual([200, '']);
      const pending = ((await call(base, 'GET', '/queue')).json as { queue_pending: unknown[][] })
        .queue_pending;
      expect(pending.map((x) => x[1]).sort()).toEqual([...theirs].sort());
      for (const id of mine) expect((await service.get(id))?.status).toBe('cancelled');
      // A prompt removed before it ran has no history record (as in ComfyUI).
      expect(await history(mine[0] ?? '')).toBeUndefined();
    } finally {
      // Anonymous and without a client id: the single ComfyUI user, who may clear everything.
      await call(base, 'POST', '/queue', { clear: true });
      await call(base, 'POST', '/interrupt');
      for (const e of h.emulators) e.setSpeed(Number.POSITIVE_INFINITY);
      await until(async () => (await queueRemaining()) === 0, 15_000, 'queue empty');
      await until(
        () => h.ids.every((id) => h.monitor.health(id).health === 'healthy'),
        10_000,
        'instances healthy again',
      );
    }

    const c = `c-${randomUUID()}`;
    const s = await socket(c);
    const wf = workflow('empty_save.json');
    (wf['1'] as { inputs: Record<string, unknown> }).inputs.color = 7400;
    const id = await run(s, c, wf);
    expect(
      Object.keys((await call(base, 'GET', `/history?clientId=${c}`)).json as object),
    ).toContain(id);
    await call(base, 'POST', `/history?clientId=${c}`, { clear: true });
    expect(
      Object.keys((await call(base, 'GET', `/history?clientId=${c}`)).json as object),
    ).not.toContain(id);
    expect(
      Object.keys((await call(base, 'GET', '/history?clientId=other')).json as object),
    ).toContain(id);
  }, 40_000);

  it("whenever a status arrives, each of the client's prompts is in /queue or in /history", async () => {
    const clientId = `c-${randomUUID()}`;
    const s = await socket(clientId);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const wf = workflow('empty_save.json');
      (wf['1'] as { inputs: Record<string, unknown> }).inputs.color = 5000 + i;
      const r = await call(base, 'POST', '/prompt', { client_id: clientId, prompt: wf });
      ids.push((r.json as { prompt_id: string }).prompt_id);
    }
    let seen = 0;
    let checks = 0;
    const deadline = Date.now() + 15_000;
    while (!ids.every((id) => s.messages.some(isDone(id)))) {
      if (Date.now() > deadline) throw new Error('prompts did not finish');
      const statuses = s.messages.filter((m) => m.type === 'status').length;
      if (statuses > seen) {
        seen = statuses;
        checks++;
        const q = (await call(base, 'GET', '/queue')).json as {
          queue_running: unknown[][];
          queue_pending: unknown[][];
        };
        const queued = new Set([...q.queue_running, ...q.queue_pending].map((x) => x[1]));
        const hist = (await call(base, 'GET', '/history?max_items=50')).json as Record<
          string,
          unknown
        >;
        for (const id of ids) expect(queued.has(id) || id in hist, `prompt ${id} lost`).toBe(true);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(checks).toBeGreaterThan(0);
  });

  it('pages /history (max_items, offset) and /api/jobs (limit, status, sort) as ComfyUI', async () => {
    const newest = Object.keys((await call(base, 'GET', '/history?max_items=2')).json as object);
    expect(newest).toHaveLength(2);
    const all = Object.keys((await call(base, 'GET', '/history')).json as object);
    expect(all.slice(-2)).toEqual(newest);
    expect(
      Object.keys((await call(base, 'GET', '/history?offset=1&max_items=1')).json as object),
    ).toEqual([all[1]]);
    const page = (await call(base, 'GET', '/api/jobs?status=completed&limit=2&sort_order=asc'))
      .json as {
      jobs: Array<{ status: string; create_time: number }>;
      pagination: { offset: number; limit: number; total: number; has_more: boolean };
    };
    expect(page.jobs).toHaveLength(2);
    expect(page.jobs.every((j) => j.status === 'completed')).toBe(true);
    expect((page.jobs[0]?.create_time ?? 0) <= (page.jobs[1]?.create_time ?? 0)).toBe(true);
    expect(page.pagination).toMatchObject({ offset: 0, limit: 2, has_more: true });
    expect(page.pagination.total).toBeGreaterThan(2);
  });

  it('a socket reconnecting while its prompt runs gets executing {node} without prompt_id', async () => {
    for (const e of h.emulators) e.setSpeed(0.02);
    try {
      const clientId = `c-${randomUUID()}`;
      const s = await socket(clientId);
      const wf = workflow('slow_blur_chain.json');
      (wf['1'] as { inputs: Record<string, unknown> }).inputs.color = 777;
      const r = await call(base, 'POST', '/prompt', { client_id: clientId, prompt: wf });
      const id = (r.json as { prompt_id: string }).prompt_id;
      await s.waitFor(
        (m) => m.type === 'executing' && m.data.prompt_id === id && m.data.node !== null,
        10_000,
        'a node running',
      );
      const again = await socket(clientId);
      expect(again.messages[0]?.data.sid).toBe(clientId);
      const second = await again.waitFor(
        (m) => m.type === 'executing',
        5_000,
        'executing on connect',
      );
      expect(typeof second.data.node).toBe('string');
      expect(second.data.prompt_id).toBeUndefined();
      await call(base, 'POST', `/interrupt?clientId=${clientId}`);
      await again.waitFor(isDone(id), 15_000, 'done on the new socket');
    } finally {
      for (const e of h.emulators) e.setSpeed(Number.POSITIVE_INFINITY);
    }
  }, 30_000);

  it('POST /history delete hides the entry from that client only', async () => {
    const clientId = `c-${randomUUID()}`;
    const s = await socket(clientId);
    const wf = workflow('empty_save.json');
    (wf['1'] as { inputs: Record<string, unknown> }).inputs.color = 77;
    const id = await run(s, clientId, wf);
    await call(base, 'POST', `/history?clientId=${clientId}`, { delete: [id] });
    expect((await call(base, 'GET', `/history/${id}?clientId=${clientId}`)).json).toEqual({});
    expect(
      Object.keys((await call(base, 'GET', `/history/${id}?clientId=other`)).json as object),
    ).toEqual([id]);
  });

  it('a failing node ends with execution_error then executing null, only for its client', async () => {
    const clientId = `c-${randomUUID()}`;
    const s = await socket(clientId);
    const observer = await socket(`obs-${randomUUID()}`);
    const id = await run(s, clientId, workflow('runtime_error.json'));
    const types = s.forPrompt(id).map((m) => m.type);
    expect(types).toContain('execution_error');
    expect(types.at(-1)).toBe('executing');
    const err = s.forPrompt(id).find((m) => m.type === 'execution_error');
    expect(err?.data).toMatchObject({ prompt_id: id, node_id: '2', node_type: 'ImageToMask' });
    // The instance's own data: what ran before the failure, and the failing node's inputs.
    expect(err?.data.executed).toEqual(['1']);
    expect(Object.keys(err?.data.current_inputs as object)).toContain('channel');
    expect(observer.forPrompt(id)).toEqual([]);
    const rec = await history(id);
    expect(rec?.status).toMatchObject({ status_str: 'error', completed: false });
    // The record carries the instance's full error data too (as ComfyUI's history does).
    const last = rec?.status.messages.at(-1) as [string, Record<string, unknown>] | undefined;
    expect(last?.[0]).toBe('execution_error');
    expect(last?.[1]).toMatchObject({ prompt_id: id, node_id: '2', executed: ['1'] });
    expect(Object.keys(last?.[1].current_inputs as object)).toContain('channel');
    const apiJob = (await call(base, 'GET', `/api/jobs/${id}`)).json as Record<string, unknown>;
    expect(apiJob.execution_error).toEqual(last?.[1]);
  });

  it('forwards per-node messages of the instance: executing per node, progress_state, executed with gateway names', async () => {
    const clientId = `c-${randomUUID()}`;
    const s = await socket(clientId);
    const wf = workflow('load_scale_invert_save.json');
    (wf['1'] as { inputs: Record<string, unknown> }).inputs.image = 'gw_upload.png';
    (wf['2'] as { inputs: Record<string, unknown> }).inputs.scale_by = 1.5;
    const id = await run(s, clientId, wf);
    const msgs = s.forPrompt(id);
    const nodes = msgs
      .filter((m) => m.type === 'executing' && m.data.node !== null)
      .map((m) => m.data.node);
    expect(nodes).toEqual(['1', '2', '3', '4']);
    expect(msgs.some((m) => m.type === 'progress_state')).toBe(true);
    const executed = msgs.filter((m) => m.type === 'executed');
    expect(executed).toHaveLength(1);
    const out = executed[0]?.data.output as { images: FileEntry[] };
    const img = out.images[0];
    if (!img) throw new Error('no image in executed');
    expect(img.subfolder.startsWith('jobs/')).toBe(true);
    const view = await call(
      base,
      'GET',
      `/view?filename=${img.filename}&subfolder=${img.subfolder}&type=output`,
    );
    expect(view.status).toBe(200);
    expect(msgs.map((m) => m.type).slice(0, 2)).toEqual(['execution_start', 'execution_cached']);
  });

  it('serves a PreviewImage temp file from the instance that ran the job', async () => {
    const clientId = `c-${randomUUID()}`;
    const s = await socket(clientId);
    const id = await run(s, clientId, {
      '1': {
        class_type: 'EmptyImage',
        inputs: { width: 10, height: 6, batch_size: 1, color: 321 },
      },
      '2': { class_type: 'PreviewImage', inputs: { images: ['1', 0] } },
    });
    const executed = s.forPrompt(id).find((m) => m.type === 'executed');
    const img = (executed?.data.output as { images: FileEntry[] } | undefined)?.images[0];
    if (!img) throw new Error('no preview in executed');
    expect(img.type).toBe('temp');
    const view = await call(
      base,
      'GET',
      `/view?filename=${img.filename}&subfolder=${img.subfolder}&type=temp`,
    );
    expect(view.status).toBe(200);
    expect(view.type).toBe('image/png');
    const decoded = PNG.sync.read(view.bytes);
    expect([decoded.width, decoded.height]).toEqual([10, 6]);
    expect(
      (await call(base, 'GET', `/view?filename=nope.png&subfolder=${img.subfolder}&type=temp`))
        .status,
    ).toBe(404);

    // As in ComfyUI's history, the preview is listed under its node with type temp.
    const rec = await history(id);
    expect(rec?.outputs['2']?.images).toEqual([img]);
    const apiJob = (await call(base, 'GET', `/api/jobs/${id}`)).json as Record<string, unknown>;
    expect(apiJob).toMatchObject({ outputs_count: 1, preview_output: { ...img, nodeId: '2' } });
    expect(apiJob.outputs).toEqual({ '2': { images: [img] } });

    // The gateway keeps its own copy: the instance's temp folder may be wiped (restart).
    const job = await service.get(id);
    const inst = h.emulators[h.ids.indexOf(job?.instance_id ?? '')];
    if (!inst) throw new Error('no instance');
    await rm(inst.dirs.temp, { recursive: true, force: true });
    expect((await call(inst.url, 'GET', `/view?filename=${img.filename}&type=temp`)).status).toBe(
      404,
    );
    const kept = await call(
      base,
      'GET',
      `/view?filename=${img.filename}&subfolder=${img.subfolder}&type=temp`,
    );
    expect(kept.status).toBe(200);
    expect(kept.bytes.equals(view.bytes)).toBe(true);
  });

  it('forwards previews as binary type 1, or type 4 with metadata to a client that negotiated it', async () => {
    const plain = `c-${randomUUID()}`;
    const s1 = await socket(plain);
    const id1 = await run(s1, plain, workflow('save_image_websocket.json'));
    expect(s1.binary.length).toBeGreaterThan(0);
    expect(s1.binary.every((b) => b.readUInt32BE(0) === 1)).toBe(true);
    expect(s1.binary[0]?.subarray(8, 12).toString('latin1')).toBe('\x89PNG');
    expect(s1.forPrompt(id1).at(-1)?.type).toBe('executing');

    const meta = `c-${randomUUID()}`;
    const s2 = await socket(meta);
    s2.send({ type: 'feature_flags', data: { supports_preview_metadata: true } });
    await s2.waitFor((m) => m.type === 'feature_flags', 5_000, 'feature_flags');
    const wf = workflow('save_image_websocket.json');
    (wf['1'] as { inputs: Record<string, unknown> }).inputs.color = 254;
    const id2 = await run(s2, meta, wf);
    expect(s2.binary.length).toBeGreaterThan(0);
    const frame = s2.binary[0] as Buffer;
    expect(frame.readUInt32BE(0)).toBe(4);
    const len = frame.readUInt32BE(4);
    const json = JSON.parse(frame.subarray(8, 8 + len).toString('utf8')) as {
      prompt_id: string;
      node_id: string;
    };
    expect(json.prompt_id).toBe(id2);
    expect(json.node_id).toBe('2');
  });

  it('a prompt without client_id: progress, progress_state and previews reach every socket, execution messages nobody', async () => {
    const s = await socket(`c-${randomUUID()}`);
    const wf = workflow('save_image_websocket.json');
    (wf['1'] as { inputs: Record<string, unknown> }).inputs.color = 4321;
    const r = await call(base, 'POST', '/prompt', { prompt: wf });
    expect(r.status, r.text).toBe(200);
    const id = (r.json as { prompt_id: string }).prompt_id;
    await until(async () => (await history(id)) !== undefined, 15_000, 'history record');
    await s.waitFor(
      (m) => m.type === 'progress' && m.data.prompt_id === id,
      5_000,
      'progress of a prompt without client_id',
    );
    await until(() => s.binary.length > 0, 5_000, 'a preview');
    const types = new Set(s.forPrompt(id).map((m) => m.type));
    expect(types.has('progress')).toBe(true);
    expect(types.has('progress_state')).toBe(true);
    for (const t of ['execution_start', 'executing', 'executed', 'execution_success']) {
      expect(types.has(t), t).toBe(false);
    }
    expect(s.binary.length).toBeGreaterThan(0);
    expect(s.binary.every((b) => b.readUInt32BE(0) === 1)).toBe(true);
  });

  it('/api/ws works and answers feature_flags when the client sends them first', async () => {
    const s = await socket(undefined, '/api');
    const sid = s.messages[0]?.data.sid;
    expect(sid).toMatch(/^[0-9a-f]{32}$/);
    s.send({ type: 'feature_flags', data: { supports_preview_metadata: true } });
    const ff = await s.waitFor((m) => m.type === 'feature_flags', 5_000, 'feature_flags');
    expect(ff.data).toMatchObject({ supports_preview_metadata: true });
  });
});
