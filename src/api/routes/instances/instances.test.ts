/**
 * /api/v1/instances and /api/v1/config against a real registry (temp config file), real
 * emulators and the real health monitor.
 */
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, type HarnessOptions, harness, until } from '../../testing/harness.js';

const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

async function setup(options: HarnessOptions = {}): Promise<Harness> {
  const h = await harness(options);
  open.push(h);
  return h;
}

/** A port on 127.0.0.1 nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const json = { 'content-type': 'application/json' };

type Item = Record<string, unknown> & {
  id: string;
  name: string;
  status: string;
  health: string;
  active: boolean;
  figures: Record<string, unknown>;
};

async function healthy(h: Harness, i = 0): Promise<string> {
  const id = h.ids[i] ?? '';
  await until(() => h.monitor.health(id).health === 'healthy', 5_000, `${id} healthy`);
  return id;
}

describe('instances API', () => {
  it('lists instances with status, health and figures', async () => {
    const h = await setup({ emulators: 2 });
    await healthy(h, 0);
    await healthy(h, 1);
    const res = await h.app.inject({ url: '/api/v1/instances' });
    expect(res.statusCode).toBe(200);
    const { instances } = JSON.parse(res.body) as { instances: Item[] };
    expect(instances.map((i) => i.name)).toEqual(['emu0', 'emu1']);
    expect(instances[0]).toMatchObject({
      status: 'running',
      health: 'healthy',
      active: true,
      auth: null,
      health_details: {
        circuit: 'closed',
        comfyui_version: '0.8.0',
        devices: [
          {
            name: expect.stringContaining('cuda'),
            type: 'cuda',
            vram_total: expect.any(Number),
            vram_free: expect.any(Number),
          },
        ],
      },
      figures: { in_flight: 0, jobs_total: 0, instance_queue: { running: 0, pending: 0 } },
    });
  });

  it('gets one by id or name with the full report; 404 otherwise', async () => {
    const h = await setup();
    const id = await healthy(h);
    const byId = await h.app.inject({ url: `/api/v1/instances/${id}` });
    expect(byId.statusCode).toBe(200);
    expect(JSON.parse(byId.body)).toMatchObject({
      id,
      report: { instance_id: id, devices: [expect.objectContaining({ type: 'cuda' })] },
    });
    const byName = await h.app.inject({ url: '/api/v1/instances/EMU0' });
    expect(JSON.parse(byName.body)).toMatchObject({ id });
  });

  it('creates, updates and deletes, with the fleet validation as field errors', async () => {
    const h = await setup();
    const port = await closedPort();
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/instances',
      headers: json,
      payload: { name: 'spare', host: '127.0.0.1', port, tags: ['sdxl'], enabled: false },
    });
    expect(created.statusCode).toBe(201);
    const item = JSON.parse(created.body) as Item;
    expect(created.headers.location).toBe(`/api/v1/instances/${item.id}`);
    expect(item).toMatchObject({ name: 'spare', status: 'stopped', source: 'api', tags: ['sdxl'] });
    const file = JSON.parse(await readFile(h.registry.configFile, 'utf8')) as {
      instances: { name: string }[];
    };
    expect(file.instances.map((i) => i.name)).toContain('spare');

    const duplicate = await h.app.inject({
      method: 'POST',
      url: '/api/v1/instances',
      headers: json,
      payload: { name: 'SPARE', host: '127.0.0.1', port: port === 65535 ? 1 : port + 1 },
    });
    expect(duplicate.statusCode).toBe(400);
    expect(JSON.parse(duplicate.body).error).toMatchObject({
      code: 'validation_failed',
      details: [{ path: 'name', message: expect.stringContaining('spare') }],
    });
    const badHost = await h.app.inject({
      method: 'POST',
      url: '/api/v1/instances',
      headers: json,
      payload: { host: 'http://10.0.0.5:8188' },
    });
    expect(badHost.statusCode).toBe(400);
    expect(JSON.parse(badHost.body).error.details[0].path).toBe('host');

    const patched = await h.app.inject({
      method: 'PATCH',
      url: `/api/v1/instances/${item.id}`,
      headers: json,
      payload: { tags: ['sdxl', 'flux'], priority: 2 },
    });
    expect(patched.statusCode).toBe(200);
    // Fields the patch leaves out keep their values (not reset to the schema's defaults).
    expect(JSON.parse(patched.body)).toMatchObject({
      tags: ['sdxl', 'flux'],
      priority: 2,
      port,
      enabled: false,
    });
    const fixed = await h.app.inject({
      method: 'PATCH',
      url: `/api/v1/instances/${item.id}`,
      headers: json,
      payload: { id: 'other', source: 'file' },
    });
    expect(fixed.statusCode).toBe(400);
    expect(JSON.parse(fixed.body).error.code).toBe('validation_failed');

    const removed = await h.app.inject({ method: 'DELETE', url: `/api/v1/instances/${item.id}` });
    expect(removed.statusCode).toBe(204);
    expect(removed.body).toBe('');
    expect((await h.app.inject({ url: `/api/v1/instances/${item.id}` })).statusCode).toBe(404);
  });

  it('start, stop, pause and resume follow the lifecycle; a wrong move is a 409', async () => {
    const h = await setup();
    const id = await healthy(h);
    const post = (action: string) =>
      h.app.inject({ method: 'POST', url: `/api/v1/instances/${id}/${action}`, headers: json });
    expect(JSON.parse((await post('pause')).body)).toMatchObject({ status: 'paused' });
    expect(JSON.parse((await post('resume')).body)).toMatchObject({ status: 'running' });
    const stopped = await post('stop');
    expect(JSON.parse(stopped.body)).toMatchObject({ status: 'stopped', enabled: false });
    const pause = await post('pause');
    expect(pause.statusCode).toBe(409);
    expect(JSON.parse(pause.body).error.code).toBe('invalid_state');
    expect(JSON.parse((await post('start')).body)).toMatchObject({ status: 'running' });
  });

  it('tests the connection: versions and devices, or why it failed', async () => {
    const h = await setup();
    const id = await healthy(h);
    const ok = await h.app.inject({ method: 'POST', url: `/api/v1/instances/${id}/test` });
    expect(ok.statusCode).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({
      instance_id: id,
      result: { ok: true, comfyui_version: '0.8.0', devices: [expect.any(Object)] },
    });
    const dead = await h.registry.create({
      name: 'dead',
      host: '127.0.0.1',
      port: await closedPort(),
      enabled: false,
    });
    const failed = await h.app.inject({
      method: 'POST',
      url: `/api/v1/instances/${dead.id}/test?timeout_ms=2000`,
    });
    expect(failed.statusCode).toBe(200);
    expect(JSON.parse(failed.body)).toMatchObject({ result: { ok: false, kind: 'refused' } });
    const badTimeout = await h.app.inject({
      method: 'POST',
      url: `/api/v1/instances/${id}/test?timeout_ms=1`,
    });
    expect(badTimeout.statusCode).toBe(400);
  });

  it('tests an unsaved instance definition without saving it; field errors as on create', async () => {
    const h = await setup();
    await healthy(h);
    const emu = h.emulators[0];
    if (!emu) throw new Error('no emulator');
    const before = await readFile(h.registry.configFile, 'utf8');
    const ok = await h.app.inject({
      method: 'POST',
      url: '/api/v1/instances/test',
      headers: json,
      payload: { name: 'draft', host: '127.0.0.1', port: emu.port, kind: 'remote' },
    });
    expect(ok.statusCode).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({
      result: expect.objectContaining({
        ok: true,
        comfyui_version: '0.8.0',
        devices: [expect.objectContaining({ type: 'cuda' })],
        round_trip_ms: expect.any(Number),
      }),
    });
    // Nothing was saved, and an existing instance's name or port is no conflict for a test.
    expect(await readFile(h.registry.configFile, 'utf8')).toBe(before);
    expect(h.registry.list().map((i) => i.name)).toEqual(['emu0']);

    const refused = await h.app.inject({
      method: 'POST',
      url: '/api/v1/instances/test?timeout_ms=2000',
      headers: json,
      payload: { host: '127.0.0.1', port: await closedPort() },
    });
    expect(JSON.parse(refused.body)).toMatchObject({
      result: { ok: false, kind: 'refused', message: expect.stringContaining('127.0.0.1') },
    });

    const invalid = await h.app.inject({
      method: 'POST',
      url: '/api/v1/instances/test',
      headers: json,
      payload: { host: 'http://10.0.0.5:8188', port: 70_000 },
    });
    expect(invalid.statusCode).toBe(400);
    const error = JSON.parse(invalid.body).error;
    expect(error.code).toBe('validation_failed');
    expect(error.details.map((d: { path: string }) => d.path)).toEqual(
      expect.arrayContaining(['port']),
    );
    const badHost = await h.app.inject({
      method: 'POST',
      url: '/api/v1/instances/test',
      headers: json,
      payload: { host: 'http://10.0.0.5:8188' },
    });
    expect(badHost.statusCode).toBe(400);
    expect(JSON.parse(badHost.body).error.details[0].path).toBe('host');
  });

  it('tests edits of a saved instance with its stored credentials (credentials_of)', async () => {
    const h = await setup();
    const seen: Array<string | undefined> = [];
    const proxy = createHttpServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{}');
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const port = (proxy.address() as AddressInfo).port;
      const saved = await h.registry.create({
        name: 'behind-proxy',
        host: '127.0.0.1',
        port: await closedPort(),
        enabled: false,
        auth: { type: 'bearer', token: 'stored-secret' },
      });
      const test = (query: string) =>
        h.app.inject({
          method: 'POST',
          url: `/api/v1/instances/test?timeout_ms=2000${query}`,
          headers: json,
          payload: { name: 'behind-proxy', host: '127.0.0.1', port },
        });
      const withStored = await test(`&credentials_of=${saved.id}`);
      expect(JSON.parse(withStored.body)).toMatchObject({
        result: { ok: false, kind: 'http_status', status: 401 },
      });
      expect(withStored.body).not.toContain('stored-secret');
      const without = await test('');
      expect(JSON.parse(without.body).result.status).toBe(401);
      expect(seen.slice(0, 1)).toEqual(['Bearer stored-secret']);
      expect(seen.at(-1)).toBeUndefined();
      expect((await test('&credentials_of=nope')).statusCode).toBe(404);
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  });

  it('tells whether a port is free for a managed instance, who holds it, and a free one to use', async () => {
    const h = await setup();
    const emu = h.emulators[0];
    if (!emu) throw new Error('no emulator');
    const get = async (query: string) => {
      const res = await h.app.inject({ url: `/api/v1/instances/ports?${query}` });
      return { status: res.statusCode, body: JSON.parse(res.body) };
    };

    // The emulator listens in this process: held, by us, and a configured instance uses it.
    const held = await get(`port=${emu.port}`);
    expect(held.status).toBe(200);
    expect(held.body).toMatchObject({
      port: emu.port,
      host: '127.0.0.1',
      available: false,
      holder: { pid: process.pid },
      used_by: { id: h.ids[0], name: 'emu0' },
    });
    expect(held.body.suggested).toBeGreaterThan(emu.port);
    const next = await get(`port=${held.body.suggested}`);
    expect(next.body).toMatchObject({ available: true, suggested: held.body.suggested });

    // A free port configured for a (stopped) local instance is not available either.
    const spare = await closedPort();
    await h.registry.create({ name: 'spare', host: 'localhost', port: spare, enabled: false });
    const configured = await get(`port=${spare}`);
    expect(configured.body).toMatchObject({ available: false, used_by: { name: 'spare' } });
    expect(configured.body.suggested).not.toBe(spare);
    expect(configured.body).not.toHaveProperty('holder');
    const editing = await get(`port=${spare}&exclude=${h.registry.resolve('spare').id}`);
    expect(editing.body).toMatchObject({ available: true, suggested: spare });

    // Only this machine is probed; bad values are field errors.
    const remote = await get('port=8188&host=10.255.254.253');
    expect(remote.status).toBe(400);
    expect(remote.body.error).toMatchObject({
      code: 'validation_failed',
      details: [{ path: 'query.host' }],
    });
    expect((await get('port=0')).status).toBe(400);
    expect((await get('host=127.0.0.1')).status).toBe(400);
  });

  it('returns the health history from the store, filtered by time', async () => {
    const h = await setup();
    const id = await healthy(h);
    await until(async () => (await h.monitor.history(id)).length >= 2, 5_000, 'two samples');
    await h.monitor.idle();
    const all = await h.app.inject({ url: `/api/v1/instances/${id}/health` });
    const body = JSON.parse(all.body) as { samples: { sampled_at: string; health: string }[] };
    expect(body.samples.length).toBeGreaterThanOrEqual(2);
    expect(body.samples[0]).toMatchObject({ health: expect.any(String), ok: true });
    const times = body.samples.map((s) => Date.parse(s.sampled_at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const last = body.samples.at(-1)?.sampled_at ?? '';
    const recent = await h.app.inject({
      url: `/api/v1/instances/${id}/health?from=${encodeURIComponent(last)}`,
    });
    const recentBody = JSON.parse(recent.body) as { from: string; samples: unknown[] };
    expect(recentBody.from).toBe(last);
    expect(recentBody.samples.length).toBeGreaterThanOrEqual(1);
    expect(recentBody.samples.length).toBeLessThan(body.samples.length + 1);
    const none = await h.app.inject({ url: `/api/v1/instances/${id}/health?to=0` });
    expect(JSON.parse(none.body).samples).toEqual([]);
    const reversed = await h.app.inject({
      url: `/api/v1/instances/${id}/health?from=2000&to=1000`,
    });
    expect(reversed.statusCode).toBe(400);
  });

  it('returns capabilities; not for a stopped instance; 502 when the instance is gone', async () => {
    const h = await setup();
    const id = await healthy(h);
    const res = await h.app.inject({ url: `/api/v1/instances/${id}/capabilities` });
    expect(res.statusCode).toBe(200);
    const caps = JSON.parse(res.body) as {
      node_classes: Record<string, unknown>;
      models: Record<string, string[]>;
    };
    expect(Object.keys(caps.node_classes)).toContain('KSampler');
    expect(caps.models.checkpoints?.length).toBeGreaterThan(0);

    await h.emulators[0]?.close();
    const gone = await h.app.inject({ url: `/api/v1/instances/${id}/capabilities?refresh=true` });
    expect(gone.statusCode).toBe(502);
    expect(JSON.parse(gone.body).error).toMatchObject({
      code: 'instance_unreachable',
      details: { request_id: expect.any(String) },
    });

    await h.registry.stop(id);
    const stopped = await h.app.inject({ url: `/api/v1/instances/${id}/capabilities` });
    expect(stopped.statusCode).toBe(409);
    expect(JSON.parse(stopped.body).error.code).toBe('instance_not_monitored');
  });

  it('reads and sets the active instance', async () => {
    const h = await setup({ emulators: 2 });
    const first = await h.app.inject({ url: '/api/v1/instances/active' });
    expect(JSON.parse(first.body)).toMatchObject({ id: h.ids[0], active: true });
    const set = await h.app.inject({
      method: 'PUT',
      url: '/api/v1/instances/active',
      headers: json,
      payload: { id: 'emu1' },
    });
    expect(set.statusCode).toBe(200);
    expect(JSON.parse(set.body)).toMatchObject({ active: { id: h.ids[1], active: true } });
    expect(h.registry.active()?.id).toBe(h.ids[1]);
    const unknown = await h.app.inject({
      method: 'PUT',
      url: '/api/v1/instances/active',
      headers: json,
      payload: { id: 'nope' },
    });
    expect(unknown.statusCode).toBe(404);
    const wrong = await h.app.inject({
      method: 'PUT',
      url: '/api/v1/instances/active',
      headers: json,
      payload: { id: 5 },
    });
    expect(wrong.statusCode).toBe(400);
    const reset = await h.app.inject({
      method: 'PUT',
      url: '/api/v1/instances/active',
      headers: json,
      payload: { id: null },
    });
    expect(JSON.parse(reset.body)).toMatchObject({ active: { id: h.ids[0] } });
  });

  it('exports the config file with credentials redacted', async () => {
    const h = await setup();
    await h.registry.create({
      name: 'secret',
      host: '127.0.0.1',
      port: await closedPort(),
      enabled: false,
      auth: { type: 'bearer', token: 'export-secret-1' },
    });
    const res = await h.app.inject({ url: '/api/v1/instances/export' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-disposition']).toContain('comfyui_instances.json');
    expect(res.body).not.toContain('export-secret-1');
    const doc = JSON.parse(res.body) as { version: string; instances: { auth?: unknown }[] };
    expect(doc.version).toBe('2.0');
    expect(doc.instances[1]?.auth).toEqual({ type: 'bearer', redacted: true });
  });

  it('imports all or nothing, as JSON or as an uploaded file', async () => {
    const h = await setup();
    const port = await closedPort();
    const rejected = await h.app.inject({
      method: 'POST',
      url: '/api/v1/instances/import?mode=merge',
      headers: json,
      payload: {
        version: '2.0',
        instances: [
          { id: 'ok-one', host: '127.0.0.1', port, enabled: false },
          { id: 'bad-one', host: '127.0.0.1', port: 70000 },
        ],
      },
    });
    expect(rejected.statusCode).toBe(400);
    const error = JSON.parse(rejected.body).error;
    expect(error.code).toBe('import_rejected');
    expect(error.details.instances).toEqual([
      expect.objectContaining({
        index: 1,
        id: 'bad-one',
        errors: [expect.objectContaining({ path: 'instances[1].port' })],
      }),
    ]);
    expect(h.registry.get('ok-one')).toBeUndefined();

    const merged = await h.app.inject({
      method: 'POST',
      url: '/api/v1/instances/import?mode=merge',
      headers: json,
      payload: {
        version: '2.0',
        instances: [{ id: 'ok-one', host: '127.0.0.1', port, enabled: false }],
      },
    });
    expect(merged.statusCode).toBe(200);
    expect(JSON.parse(merged.body)).toEqual({
      added: ['ok-one'],
      updated: [],
      removed: [],
      migrated_from: null,
    });

    const boundary = '----cc-import';
    const doc = JSON.stringify({
      version: '2.0',
      instances: [{ id: 'from-file', host: '127.0.0.1', port, enabled: false }],
    });
    const upload = await h.app.inject({
      method: 'POST',
      url: '/api/v1/instances/import?mode=replace',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: [
        `--${boundary}`,
        'Content-Disposition: form-data; name="file"; filename="comfyui_instances.json"',
        'Content-Type: application/json',
        '',
        doc,
        `--${boundary}--`,
        '',
      ].join('\r\n'),
    });
    expect(upload.statusCode).toBe(200);
    expect(JSON.parse(upload.body)).toMatchObject({ added: ['from-file'] });
    expect(h.registry.list().map((i) => i.id)).toEqual(['from-file']);

    const notJson = await h.app.inject({
      method: 'POST',
      url: '/api/v1/instances/import',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: [
        `--${boundary}`,
        'Content-Disposition: form-data; name="file"; filename="x.json"',
        '',
        '{"version": "2.0", ',
        `--${boundary}--`,
        '',
      ].join('\r\n'),
    });
    expect(notJson.statusCode).toBe(400);
    expect(JSON.parse(notJson.body).error.details.errors[0].message).toContain('not valid JSON');
    const badMode = await h.app.inject({
      method: 'POST',
      url: '/api/v1/instances/import?mode=upsert',
      headers: json,
      payload: { version: '2.0', instances: [] },
    });
    expect(badMode.statusCode).toBe(400);
  });
});

describe('environment instances', () => {
  it('are read-only through the API (409 instance_read_only)', async () => {
    const h = await setup({ emulators: 0, env: { COMFYUI_HOST_1: '127.0.0.1:1' } });
    const id = 'env-127.0.0.1-1';
    const got = await h.app.inject({ url: `/api/v1/instances/${id}` });
    expect(JSON.parse(got.body)).toMatchObject({ source: 'env', origin: 'COMFYUI_HOST_1' });
    const patch = await h.app.inject({
      method: 'PATCH',
      url: `/api/v1/instances/${id}`,
      headers: json,
      payload: { tags: ['x'] },
    });
    expect(patch.statusCode).toBe(409);
    expect(JSON.parse(patch.body).error).toMatchObject({
      code: 'instance_read_only',
      message: expect.stringContaining('COMFYUI_HOST_1'),
    });
    const del = await h.app.inject({ method: 'DELETE', url: `/api/v1/instances/${id}` });
    expect(del.statusCode).toBe(409);
  });
});

describe('config API', () => {
  it('lists configuration warnings', async () => {
    const h = await setup({ env: { HEALTH_CHECK_INTERVAL: 'soon', COMFYUI_SERVERS: '[oops' } });
    const res = await h.app.inject({ url: '/api/v1/config/warnings' });
    expect(res.statusCode).toBe(200);
    const { warnings } = JSON.parse(res.body) as { warnings: { source: string; code: string }[] };
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ source: 'HEALTH_CHECK_INTERVAL', code: 'invalid_value' }),
        expect.objectContaining({ source: 'COMFYUI_SERVERS', code: 'invalid_json' }),
      ]),
    );
  });
});
