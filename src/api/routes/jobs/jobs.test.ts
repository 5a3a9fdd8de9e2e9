import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InjectOptions } from 'fastify';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../testing/harness.js';
import { emptySave, type JobHarness, jobHarness } from './testing.js';

function png(size = 4): Buffer {
  const img = new PNG({ width: size, height: size });
  img.data.fill(200);
  return PNG.sync.write(img);
}

const loadSave = (name: string) => ({
  '1': { class_type: 'LoadImage', inputs: { image: name } },
  '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'in' } },
});

async function multipart(
  form: FormData,
): Promise<{ payload: Buffer; headers: Record<string, string> }> {
  const res = new Response(form);
  return {
    payload: Buffer.from(await res.arrayBuffer()),
    headers: { 'content-type': res.headers.get('content-type') ?? '' },
  };
}

describe('jobs API', () => {
  let h: JobHarness;
  let files: Server;
  let filesUrl = '';
  const image = png();

  beforeAll(async () => {
    files = createServer((req, res) => {
      if (req.url === '/a.png') res.writeHead(200, { 'content-type': 'image/png' }).end(image);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
    filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
    h = await jobHarness({ app: { bodyLimitBytes: 256 * 1024 }, allowInputHosts: ['127.0.0.1'] });
  });
  afterAll(async () => {
    await h?.close();
    await new Promise((r) => files?.close(r));
  });

  const waitDone = async (id: string) => {
    let status = '';
    await until(
      async () => {
        const r = await h.app.inject({ url: `/api/v1/jobs/${id}` });
        status = r.json().status;
        return ['completed', 'failed', 'cancelled'].includes(status);
      },
      10_000,
      `job ${id} finished`,
    );
    return status;
  };

  it('accepts a workflow (202), runs it, and serves the output byte-identical to /view', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/jobs',
      payload: { workflow: emptySave('first') },
    });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toMatchObject({ status: 'pending' });
    expect(typeof body.job_id).toBe('string');
    expect(res.headers.location).toBe(`/api/v1/jobs/${body.job_id}`);
    expect(await waitDone(body.job_id)).toBe('completed');

    const job = (await h.app.inject({ url: `/api/v1/jobs/${body.job_id}` })).json();
    expect(job.created_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(job.outputs).toHaveLength(1);
    const out = job.outputs[0];
    expect(out).toMatchObject({
      kind: 'file',
      mime: 'image/png',
      url: `/api/v1/jobs/${body.job_id}/outputs/0`,
    });
    expect(out.stored_path).toBeUndefined();

    const dl = await h.app.inject({ url: out.url });
    expect(dl.statusCode).toBe(200);
    expect(dl.headers['content-type']).toBe('image/png');
    const emu = h.emulators[0];
    const view = await fetch(
      `${emu?.url}/view?filename=${encodeURIComponent(out.filename)}&subfolder=${encodeURIComponent(out.subfolder ?? '')}&type=output`,
    );
    expect(Buffer.compare(dl.rawPayload, Buffer.from(await view.arrayBuffer()))).toBe(0);

    // Range requests.
    const part = await h.app.inject({ url: out.url, headers: { range: 'bytes=0-9' } });
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 0-9/${dl.rawPayload.length}`);
    expect(Buffer.compare(part.rawPayload, dl.rawPayload.subarray(0, 10))).toBe(0);
    const tail = await h.app.inject({ url: out.url, headers: { range: 'bytes=-5' } });
    expect(Buffer.compare(tail.rawPayload, dl.rawPayload.subarray(-5))).toBe(0);
    const bad = await h.app.inject({ url: out.url, headers: { range: 'bytes=999999-' } });
    expect(bad.statusCode).toBe(416);
    expect(bad.json().error.code).toBe('range_not_satisfiable');
    const attach = await h.app.inject({ url: `${out.url}?download=1` });
    expect(attach.headers['content-disposition']).toMatch(/^attachment; filename="/);

    expect((await h.app.inject({ url: `/api/v1/jobs/${body.job_id}/outputs/7` })).statusCode).toBe(
      404,
    );
  });

  it('wait=true answers 200 with the finished job and its outputs', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/jobs?wait=true&timeout=30',
      payload: { workflow: emptySave('waited') },
    });
    expect(res.statusCode).toBe(200);
    const job = res.json();
    expect(job.status).toBe('completed');
    expect(job.outputs[0].mime).toBe('image/png');
  });

  it('takes inputs as a data URL, as multipart files, and from an allowlisted URL', async () => {
    const dataUrl = `data:image/png;base64,${image.toString('base64')}`;
    const a = await h.app.inject({
      method: 'POST',
      url: '/api/v1/jobs?wait=true',
      payload: { workflow: loadSave('x.png'), inputs: [{ name: 'x.png', data: dataUrl }] },
    });
    expect(a.statusCode).toBe(200);
    expect(a.json().status).toBe('completed');

    const form = new FormData();
    form.set('json', JSON.stringify({ workflow: loadSave('up.png') }));
    form.set('file', new Blob([image], { type: 'image/png' }), 'up.png');
    const m = await multipart(form);
    const b = await h.app.inject({ method: 'POST', url: '/api/v1/jobs?wait=true', ...m });
    expect(b.statusCode).toBe(200);
    expect(b.json().status).toBe('completed');

    const c = await h.app.inject({
      method: 'POST',
      url: '/api/v1/jobs?wait=true',
      payload: {
        workflow: loadSave('u.png'),
        inputs: [{ name: 'u.png', url: `${filesUrl}/a.png` }],
      },
    });
    expect(c.statusCode).toBe(200);
    expect(c.json().status).toBe('completed');
  });

  it('refuses bad submissions with the error shape, never a 5xx', async () => {
    const cases: Array<[InjectOptions, number, string]> = [
      [
        {
          method: 'POST',
          url: '/api/v1/jobs',
          headers: { 'content-type': 'application/json' },
          payload: '{"workflow":',
        },
        400,
        'invalid_json',
      ],
      [
        {
          method: 'POST',
          url: '/api/v1/jobs',
          payload: { workflow: emptySave(), priority: 'high' },
        },
        400,
        'validation_failed',
      ],
      [{ method: 'POST', url: '/api/v1/jobs', payload: [1, 2] }, 400, 'validation_failed'],
      [{ method: 'POST', url: '/api/v1/jobs' }, 400, 'validation_failed'],
      [
        {
          method: 'POST',
          url: '/api/v1/jobs',
          payload: { workflow: { '1': { class_type: 'NoSuchNode', inputs: {} } } },
        },
        503,
        'no_capable_instance',
      ],
      [
        {
          method: 'POST',
          url: '/api/v1/jobs',
          payload: { workflow: emptySave(), pad: 'x'.repeat(300 * 1024) },
        },
        413,
        'payload_too_large',
      ],
      [
        {
          method: 'POST',
          url: '/api/v1/jobs',
          payload: {
            workflow: loadSave('a.png'),
            inputs: [{ name: 'a.png', url: 'http://10.1.2.3/a.png' }],
          },
        },
        400,
        'bad_request',
      ],
      [
        {
          method: 'POST',
          url: '/api/v1/jobs',
          payload: {
            workflow: loadSave('a.png'),
            inputs: [{ name: 'a.png', url: 'file:///etc/passwd' }],
          },
        },
        400,
        'validation_failed',
      ],
      [
        { method: 'POST', url: '/api/v1/jobs?wait=maybe', payload: { workflow: emptySave() } },
        400,
        'validation_failed',
      ],
      [{ url: '/api/v1/jobs?status=done' }, 400, 'validation_failed'],
      [{ url: '/api/v1/jobs?limit=0' }, 400, 'validation_failed'],
      [{ url: '/api/v1/jobs?cursor=garbage' }, 400, 'validation_failed'],
      [{ url: '/api/v1/jobs?from=yesterday' }, 400, 'validation_failed'],
      [{ url: '/api/v1/jobs/nope' }, 404, 'not_found'],
      [{ method: 'POST', url: '/api/v1/jobs/nope/cancel' }, 404, 'not_found'],
      [{ method: 'POST', url: '/api/v1/jobs/nope/retry' }, 404, 'not_found'],
      [{ url: '/api/v1/jobs/nope/events' }, 404, 'not_found'],
      [{ url: '/api/v1/jobs/nope/outputs/0' }, 404, 'not_found'],
      [{ url: '/api/v1/jobs/nope/outputs/x' }, 400, 'validation_failed'],
    ];
    for (const [req, status, code] of cases) {
      const res = await h.app.inject(req);
      expect({ url: req.url, status: res.statusCode, code: res.json().error?.code }).toEqual({
        url: req.url,
        status,
        code,
      });
      expect(typeof res.json().error.message).toBe('string');
    }
  });

  it('answers 404, not 500, when an output file is gone', async () => {
    const r = await h.app.inject({
      method: 'POST',
      url: '/api/v1/jobs?wait=true',
      payload: { workflow: emptySave('gone') },
    });
    const id = r.json().id;
    const [out] = await h.layer.service.outputs(id);
    await rm(h.layer.services.outputStore.absolute(out?.stored_path ?? 'x'));
    const res = await h.app.inject({ url: `/api/v1/jobs/${id}/outputs/0` });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
  });

  it('refuses a multipart file name with a path', async () => {
    for (const name of ['../../etc/passwd', 'a/b.png', '..\\x.png']) {
      const form = new FormData();
      form.set('json', JSON.stringify({ workflow: loadSave('up.png') }));
      form.set('file', new Blob([image], { type: 'image/png' }), name);
      const res = await h.app.inject({
        method: 'POST',
        url: '/api/v1/jobs',
        ...(await multipart(form)),
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('validation_failed');
    }
  });

  it('lists jobs with filters and a cursor', async () => {
    const all = (await h.app.inject({ url: '/api/v1/jobs?limit=2' })).json();
    expect(all.jobs).toHaveLength(2);
    expect(typeof all.next_cursor).toBe('string');
    const next = (
      await h.app.inject({
        url: `/api/v1/jobs?limit=2&cursor=${encodeURIComponent(all.next_cursor)}`,
      })
    ).json();
    expect(next.jobs.length).toBeGreaterThan(0);
    const ids = new Set(all.jobs.map((j: { id: string }) => j.id));
    for (const j of next.jobs) expect(ids.has(j.id)).toBe(false);
    const done = (await h.app.inject({ url: '/api/v1/jobs?status=completed,failed' })).json();
    for (const j of done.jobs) expect(['completed', 'failed']).toContain(j.status);
    expect((await h.app.inject({ url: '/api/v1/jobs?status=pending' })).json().jobs).toEqual([]);
  });

  it("replays a job's events after Last-Event-ID", async () => {
    const r = await h.app.inject({
      method: 'POST',
      url: '/api/v1/jobs?wait=true',
      payload: { workflow: emptySave('sse') },
    });
    const id = r.json().id;
    const full = await h.app.inject({ url: `/api/v1/jobs/${id}/events` });
    expect(full.headers['content-type']).toMatch(/^text\/event-stream/);
    const ids = [...full.payload.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids.length).toBeGreaterThanOrEqual(2);
    expect(full.payload).toContain('event: job.created');
    expect(full.payload).toContain('"status":"completed"');
    const second = ids[1] ?? 0;
    const rest = await h.app.inject({
      url: `/api/v1/jobs/${id}/events`,
      headers: { 'last-event-id': String(ids[0]) },
    });
    const replayed = [...rest.payload.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(replayed[0]).toBe(second);
    expect(replayed).toEqual(ids.slice(1));
  });
});
