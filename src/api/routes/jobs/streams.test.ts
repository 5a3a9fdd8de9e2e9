/**
 * Job events on the global streams (SSE and WebSocket) with per-user visibility, the templates
 * folder, the dashboard with its History API fallback, and upload limits.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { registerDashboard } from '../../static/dashboard.js';
import { harness, until } from '../../testing/harness.js';
import { emptySave, type JobHarness, jobHarness } from './testing.js';

/** Reads an SSE response until `stop` holds or `limitMs` passes; returns the text. */
async function readSse(
  res: Response,
  stop: (text: string) => boolean,
  limitMs: number,
): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  let text = '';
  const deadline = Date.now() + limitMs;
  const dec = new TextDecoder();
  while (!stop(text) && Date.now() < deadline) {
    const chunk = await Promise.race([
      reader.read(),
      new Promise<{ done: true; value: undefined }>((r) =>
        setTimeout(() => r({ done: true, value: undefined }), Math.max(1, deadline - Date.now())),
      ),
    ]);
    if (chunk.value) text += dec.decode(chunk.value);
    if (chunk.done) break;
  }
  await reader.cancel().catch(() => undefined);
  return text;
}

describe('job events, templates folder, dashboard, limits', () => {
  const closers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    while (closers.length > 0) await closers.pop()?.();
  });

  const listening = async (options: Parameters<typeof jobHarness>[0] = {}) => {
    const h: JobHarness = await jobHarness(options);
    closers.push(() => h.close());
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const addr = h.app.server.address();
    const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    return { h, base };
  };

  it('streams job events: users see their own jobs only, admins all (SSE and WebSocket)', async () => {
    const { h, base } = await listening();
    const admin = (await h.keys.create({ role: 'admin' })).key;
    const alice = (await h.keys.create({ role: 'user' })).key;
    const bob = (await h.keys.create({ role: 'user' })).key;
    const open = (key: string) =>
      fetch(`${base}/api/v1/events?types=job.*`, { headers: { authorization: `Bearer ${key}` } });
    const [sa, sb, sadm] = await Promise.all([open(alice), open(bob), open(admin)]);
    const ws = new WebSocket(
      `${base.replace('http', 'ws')}/api/v1/events/ws?types=job.completed&access_token=${bob}`,
    );
    const wsFrames: string[] = [];
    ws.on('message', (d) => wsFrames.push(String(d)));
    await new Promise((r) => ws.once('open', r));
    closers.push(async () => ws.close());

    const submit = async (key: string, prefix: string) =>
      (
        await fetch(`${base}/api/v1/jobs?wait=true`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ workflow: emptySave(prefix) }),
        })
      ).json() as Promise<{ id: string }>;
    const a = await submit(alice, 'a');
    const b = await submit(bob, 'b');
    const hasCompleted = (id: string) => (t: string) =>
      t.includes('event: job.completed') && t.includes(id);
    const textA = await readSse(sa, hasCompleted(a.id), 5_000);
    const textB = await readSse(sb, hasCompleted(b.id), 5_000);
    const textAdm = await readSse(
      sadm,
      (t) => hasCompleted(a.id)(t) && hasCompleted(b.id)(t),
      5_000,
    );
    expect(textA).toContain(a.id);
    expect(textA).not.toContain(b.id);
    expect(textB).toContain(b.id);
    expect(textB).not.toContain(a.id);
    expect(textAdm).toContain(a.id);
    expect(textAdm).toContain(b.id);
    // Payloads carry the job as the API shows it (ISO times, outputs with URLs).
    const line = textA
      .split('\n')
      .find((l) => l.startsWith('data: ') && l.includes('job.completed'));
    const event = JSON.parse(line?.slice(6) ?? '{}');
    expect(event.data.job.completed_at).toMatch(/^\d{4}-/);
    expect(event.data.outputs[0].url).toBe(`/api/v1/jobs/${a.id}/outputs/0`);

    await until(() => wsFrames.some((f) => f.includes(b.id)), 5_000, 'ws frame');
    expect(wsFrames.some((f) => f.includes(a.id))).toBe(false);
  });

  it('loads the templates folder at start (bad files skipped), built-ins always there', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cc-tpl-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(
      path.join(dir, 'square.json'),
      JSON.stringify({
        name: 'square',
        description: 'from a file',
        workflow: emptySave('sq'),
        parameters: { size: { node: '1', input: 'width', type: 'integer', default: 8 } },
      }),
    );
    await writeFile(path.join(dir, 'broken.json'), '{ not json');
    const { h } = await listening({ templatesDir: dir });
    const names = (await h.app.inject({ url: '/api/v1/templates' }))
      .json()
      .templates.map((t: { name: string }) => t.name);
    expect(names).toEqual(expect.arrayContaining(['square', 'upscale-image', 'remove-background']));
    expect(names).not.toContain('broken');
    expect(h.layer.templates.problems.length).toBeGreaterThan(0);
    const sq = (await h.app.inject({ url: '/api/v1/templates/square' })).json();
    expect(sq.source).toBe('file');
  });

  it('answers an oversized upload with 413 and the error shape', async () => {
    const { h } = await listening({ app: { uploadLimitBytes: 1024 } });
    const form = new FormData();
    form.set('json', JSON.stringify({ workflow: emptySave() }));
    form.set('file', new Blob([Buffer.alloc(4096, 1)], { type: 'image/png' }), 'big.png');
    const res = new Response(form);
    const r = await h.app.inject({
      method: 'POST',
      url: '/api/v1/jobs',
      payload: Buffer.from(await res.arrayBuffer()),
      headers: { 'content-type': res.headers.get('content-type') ?? '' },
    });
    expect(r.statusCode).toBe(413);
    expect(r.json().error.code).toBe('payload_too_large');
  });

  it('serves the dashboard at / with index.html for its own routes, never for API paths', async () => {
    const web = await mkdtemp(path.join(tmpdir(), 'cc-web-'));
    closers.push(() => rm(web, { recursive: true, force: true }));
    await mkdir(path.join(web, 'assets'));
    await writeFile(path.join(web, 'index.html'), '<!doctype html><title>dash</title>');
    await writeFile(path.join(web, 'assets', 'app.js'), 'console.log(1)');
    const h = await harness({ emulators: 0 });
    closers.push(() => h.close());
    await registerDashboard(h.app, { dir: web });
    await h.keys.create({ role: 'admin' }); // auth on: the dashboard stays public
    const html = { accept: 'text/html,application/xhtml+xml' };
    const home = await h.app.inject({ url: '/' });
    expect(home.statusCode).toBe(200);
    expect(home.body).toContain('<title>dash</title>');
    const js = await h.app.inject({ url: '/assets/app.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    const route = await h.app.inject({ url: '/jobs/abc', headers: html });
    expect(route.statusCode).toBe(200);
    expect(route.body).toContain('<title>dash</title>');
    const api = await h.app.inject({ url: '/api/v1/nothing', headers: html });
    expect(api.statusCode).toBe(404);
    expect(api.json().error.code).toBe('not_found');
    expect((await h.app.inject({ url: '/health/nothing', headers: html })).statusCode).toBe(404);
    expect((await h.app.inject({ url: '/jobs/abc' })).statusCode).toBe(404); // not a browser
    expect((await h.app.inject({ url: '/assets/missing.js' })).statusCode).toBe(404);
    expect(
      (await h.app.inject({ url: '/assets/..%2f..%2fetc%2fpasswd' })).statusCode,
    ).toBeGreaterThanOrEqual(400);
  });

  it("follows a running job's events live and ends the stream when it finishes", async () => {
    const { h, base } = await listening();
    h.emulators[0]?.setSpeed(0.01);
    const r = await fetch(`${base}/api/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workflow: emptySave('live') }),
    });
    const { job_id } = (await r.json()) as { job_id: string };
    const stream = await fetch(`${base}/api/v1/jobs/${job_id}/events`);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await readSse(stream, (t) => t.includes('"status":"completed"'), 8_000);
    h.emulators[0]?.setSpeed(Number.POSITIVE_INFINITY);
    expect(text).toContain('event: job.created');
    expect(text).toContain('"status":"processing"');
    expect(text).toContain('"status":"completed"');
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
  });

  it('wait=true answers 202 with the job as it is when the wait runs out; close does not hang on waits', async () => {
    const { h, base } = await listening();
    h.emulators[0]?.setSpeed(0.0001);
    const res = await fetch(`${base}/api/v1/jobs?wait=true&timeout=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workflow: emptySave('slow') }),
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { status: string; job: { status: string } };
    expect(['pending', 'processing']).toContain(body.status);
    // A long wait in flight: closing the app answers it instead of waiting for the job.
    const pending = fetch(`${base}/api/v1/jobs?wait=true&timeout=600`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workflow: emptySave('slower') }),
    });
    await new Promise((r) => setTimeout(r, 200));
    await h.layer.close();
    await h.app.close();
    const late = await pending;
    expect(late.status).toBe(202);
    h.emulators[0]?.setSpeed(Number.POSITIVE_INFINITY);
  });

  it('documents the job routes in the OpenAPI document', async () => {
    const { h } = await listening();
    const doc = (await h.app.inject({ url: '/api/v1/openapi.json' })).json();
    for (const p of [
      '/api/v1/jobs',
      '/api/v1/jobs/{id}',
      '/api/v1/jobs/{id}/outputs/{n}',
      '/api/v1/jobs/{id}/cancel',
      '/api/v1/jobs/{id}/retry',
      '/api/v1/jobs/{id}/events',
      '/api/v1/templates',
      '/api/v1/templates/{name}/run',
      '/api/remove-background',
      '/api/upscale-image',
      '/api/jobs/{job_id}/status',
      '/api/jobs/{job_id}/result',
    ]) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
  });
});
