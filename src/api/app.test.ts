/**
 * The app's error handling, authentication, rate limiting, CORS and documentation, against a
 * real store, registry, emulator and health monitor (see testing/harness.ts).
 */
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { ComfyTimeoutError, ComfyUnreachableError } from '../comfy/index.js';
import { defaultRenderer, useErrorRenderer } from './error-handler.js';
import { ApiError } from './errors.js';
import { type Harness, type HarnessOptions, harness } from './testing/harness.js';

const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

async function setup(options: HarnessOptions = {}): Promise<Harness> {
  const h = await harness(options);
  open.push(h);
  return h;
}

interface ErrorBody {
  error: { code: string; message: string; details: unknown };
}

function errorOf(body: string): ErrorBody['error'] {
  const parsed = JSON.parse(body) as ErrorBody;
  expect(Object.keys(parsed)).toEqual(['error']);
  expect(typeof parsed.error.code).toBe('string');
  expect(typeof parsed.error.message).toBe('string');
  expect('details' in parsed.error).toBe(true);
  return parsed.error;
}

const json = { 'content-type': 'application/json' };

describe('errors', () => {
  it('malformed JSON is a 400 invalid_json', async () => {
    const { app } = await setup();
    for (const payload of ['{bad', '{"host": "a",}', '[1,', 'nul']) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/instances',
        headers: json,
        payload,
      });
      expect(res.statusCode).toBe(400);
      expect(errorOf(res.body).code).toBe('invalid_json');
    }
  });

  it('wrong types and unknown fields are a 400 validation_failed with every field named', async () => {
    const { app } = await setup();
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/instances',
      headers: json,
      payload: { host: '127.0.0.1', port: '8188', maxConcurrent: 2, tags: 'x' },
    });
    expect(res.statusCode).toBe(400);
    const error = errorOf(res.body);
    expect(error.code).toBe('validation_failed');
    expect(error.details).toEqual(
      expect.arrayContaining([
        { path: 'port', message: expect.stringContaining('must be an integer') },
        { path: 'maxConcurrent', message: "unknown field; did you mean 'max_concurrent'?" },
        { path: 'tags', message: expect.stringContaining('an array') },
      ]),
    );
  });

  it('query and URL parameters are checked too, with their place in the path', async () => {
    const { app, ids } = await setup();
    const res = await app.inject({ url: `/api/v1/instances/${ids[0]}/health?limit=abc` });
    expect(res.statusCode).toBe(400);
    const error = errorOf(res.body);
    expect(error.code).toBe('validation_failed');
    expect(error.details).toEqual([{ path: 'query.limit', message: expect.any(String) }]);
  });

  it('an unknown route and an unknown id are 404s in the same shape', async () => {
    const { app } = await setup();
    const route = await app.inject({ url: '/api/v1/nothing-here' });
    expect(route.statusCode).toBe(404);
    expect(errorOf(route.body)).toMatchObject({ code: 'not_found' });
    const id = await app.inject({ url: '/api/v1/instances/no-such-instance' });
    expect(id.statusCode).toBe(404);
    expect(errorOf(id.body)).toMatchObject({ code: 'instance_not_found' });
    const patch = await app.inject({
      method: 'PATCH',
      url: '/api/v1/instances/no-such-instance',
      headers: json,
      payload: { tags: ['a'] },
    });
    expect(patch.statusCode).toBe(404);
  });

  it('a body over the limit is a 413 payload_too_large, JSON or multipart upload', async () => {
    const { app } = await setup({ app: { bodyLimitBytes: 1024, uploadLimitBytes: 2048 } });
    const big = await app.inject({
      method: 'POST',
      url: '/api/v1/instances',
      headers: json,
      payload: JSON.stringify({ host: '127.0.0.1', description: 'x'.repeat(4096) }),
    });
    expect(big.statusCode).toBe(413);
    expect(errorOf(big.body).code).toBe('payload_too_large');

    const boundary = '----cc-test';
    const file = JSON.stringify({ version: '2.0', instances: [], pad: 'y'.repeat(8192) });
    const multipart = [
      `--${boundary}`,
      'Content-Disposition: form-data; name="file"; filename="comfyui_instances.json"',
      'Content-Type: application/json',
      '',
      file,
      `--${boundary}--`,
      '',
    ].join('\r\n');
    const upload = await app.inject({
      method: 'POST',
      url: '/api/v1/instances/import',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: multipart,
    });
    expect(upload.statusCode).toBe(413);
    expect(errorOf(upload.body).code).toBe('payload_too_large');
  });

  it('an unsupported content type is a 415', async () => {
    const { app } = await setup();
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/instances',
      headers: { 'content-type': 'application/x-unknown' },
      payload: 'host=127.0.0.1',
    });
    expect(res.statusCode).toBe(415);
    expect(errorOf(res.body).code).toBe('unsupported_media_type');
  });

  it('an unexpected failure is a 500 internal_error naming the request id, logged, not leaked', async () => {
    const h = await setup();
    h.app.get('/test/boom', { config: { access: 'public' } }, async () => {
      throw new Error('database password=hunter2 went away');
    });
    const res = await h.app.inject({ url: '/test/boom', headers: { 'x-request-id': 'req-42' } });
    expect(res.statusCode).toBe(500);
    expect(res.headers['x-request-id']).toBe('req-42');
    const error = errorOf(res.body);
    expect(error).toEqual({
      code: 'internal_error',
      message: 'internal error (request id req-42)',
      details: { request_id: 'req-42' },
    });
    expect(res.body).not.toContain('hunter2');
    expect(res.body).not.toContain('at ');
    const logged = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged.some((l) => l.msg === 'unexpected error' && l.req_id === 'req-42')).toBe(true);
  });

  it('ComfyUI client errors become 502 instance_unreachable and 504 instance_timeout', async () => {
    const h = await setup();
    h.app.get('/test/unreachable', { config: { access: 'public' } }, async () => {
      throw new ComfyUnreachableError('connect ECONNREFUSED', 'ECONNREFUSED', 'connect');
    });
    h.app.get('/test/timeout', { config: { access: 'public' } }, async () => {
      throw new ComfyTimeoutError('no answer in 5000 ms', 'response', 5000);
    });
    const a = await h.app.inject({ url: '/test/unreachable' });
    expect(a.statusCode).toBe(502);
    expect(errorOf(a.body)).toMatchObject({ code: 'instance_unreachable' });
    const b = await h.app.inject({ url: '/test/timeout' });
    expect(b.statusCode).toBe(504);
    expect(errorOf(b.body)).toMatchObject({
      code: 'instance_timeout',
      details: { request_id: expect.any(String) },
    });
  });

  it('a route group can answer errors in its own shape; mappers extend the catalogue', async () => {
    const h = await setup();
    class JobMissing extends Error {}
    h.app.api.errors.addMapper((e) =>
      e instanceof JobMissing
        ? {
            status: 404,
            code: 'job_not_found',
            message: 'no such job',
            details: null,
            internal: false,
          }
        : undefined,
    );
    await h.app.register(async (comfy: FastifyInstance) => {
      useErrorRenderer(comfy, (error, _req, reply) =>
        reply.code(error.status).send({ error: error.message, node_errors: {} }),
      );
      comfy.post(
        '/test/prompt',
        {
          config: { access: 'public' },
          schema: {
            body: {
              type: 'object',
              required: ['prompt'],
              properties: { prompt: { type: 'object' } },
            },
          },
        },
        async () => ({ ok: true }),
      );
    });
    h.app.get('/test/job', { config: { access: 'public' } }, async () => {
      throw new JobMissing('x');
    });
    h.app.api.errors.addNotFoundRenderer({
      matches: (url) => url.startsWith('/comfy-only/'),
      render: (error, _req, reply) => reply.code(404).type('text/plain').send(error.message),
    });

    const own = await h.app.inject({
      method: 'POST',
      url: '/test/prompt',
      headers: json,
      payload: { nope: 1 },
    });
    expect(own.statusCode).toBe(400);
    expect(JSON.parse(own.body)).toEqual({ error: expect.any(String), node_errors: {} });
    const mapped = await h.app.inject({ url: '/test/job' });
    expect(mapped.statusCode).toBe(404);
    expect(errorOf(mapped.body).code).toBe('job_not_found');
    const missing = await h.app.inject({ url: '/comfy-only/x' });
    expect(missing.headers['content-type']).toMatch(/^text\/plain/);
    expect(missing.body).toBe('no route GET /comfy-only/x');
    // The default renderer is still used everywhere else.
    expect(defaultRenderer).toBeTypeOf('function');
    expect(errorOf((await h.app.inject({ url: '/elsewhere' })).body).code).toBe('not_found');
  });

  it('bad input is never answered with a 5xx (random bodies)', async () => {
    const { app } = await setup();
    await app.ready();
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.string(), async (value, text) => {
        // An object that happens to be a valid instance must not be monitored: disabled.
        const body =
          value !== null && typeof value === 'object' && !Array.isArray(value)
            ? { ...value, enabled: false }
            : value;
        const a = await app.inject({
          method: 'POST',
          url: '/api/v1/instances',
          headers: json,
          payload: JSON.stringify(body),
        });
        expect(a.statusCode).toBeLessThan(500);
        const b = await app.inject({
          method: 'PATCH',
          url: '/api/v1/instances/not-an-instance',
          headers: json,
          payload: text,
        });
        expect(b.statusCode).toBeGreaterThanOrEqual(400);
        expect(b.statusCode).toBeLessThan(500);
        const c = await app.inject({
          url: `/api/v1/instances/${encodeURIComponent(text || 'x')}/health?from=${encodeURIComponent(text)}`,
        });
        expect(c.statusCode).toBeLessThan(500);
      }),
      { numRuns: 60 },
    );
  });
});

describe('authentication', () => {
  it('on loopback without keys everyone is the anonymous admin; the first key turns auth on', async () => {
    const h = await setup({ app: { auth: 'auto' } });
    expect((await h.app.inject({ url: '/api/v1/instances' })).statusCode).toBe(200);
    const h2 = await setup({ app: { auth: 'auto' } });
    await h2.keys.create({ role: 'admin' });
    const res = await h2.app.inject({ url: '/api/v1/instances' });
    expect(res.statusCode).toBe(401);
    expect(errorOf(res.body).code).toBe('unauthorized');
  });

  it('admin routes need an admin key: none → 401, user → 403, revoked → 401', async () => {
    const h = await setup({ app: { auth: 'required' } });
    const admin = await h.keys.create({ role: 'admin', name: 'ops' });
    const user = await h.keys.create({ role: 'user', name: 'artist' });
    const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

    const none = await h.app.inject({ url: '/api/v1/instances' });
    expect(none.statusCode).toBe(401);
    const asUser = await h.app.inject({ url: '/api/v1/instances', headers: bearer(user.key) });
    expect(asUser.statusCode).toBe(403);
    expect(errorOf(asUser.body)).toMatchObject({ code: 'forbidden' });
    expect(errorOf(asUser.body).message).toContain('artist');
    const asAdmin = await h.app.inject({ url: '/api/v1/instances', headers: bearer(admin.key) });
    expect(asAdmin.statusCode).toBe(200);
    // A user key is enough for user routes; public routes need none.
    expect((await h.app.inject({ url: '/metrics', headers: bearer(user.key) })).statusCode).toBe(
      200,
    );
    expect((await h.app.inject({ url: '/metrics' })).statusCode).toBe(401);
    // Public: answered without a key (/health may be 503 "degraded" before the instance's first
    // check, which is still an answer, not a refusal).
    for (const url of ['/health', '/livez', '/readyz', '/api/v1/openapi.json']) {
      expect([401, 403]).not.toContain((await h.app.inject({ url })).statusCode);
    }
    // A mutating call without a key is refused before its body is looked at.
    const post = await h.app.inject({
      method: 'POST',
      url: '/api/v1/instances',
      headers: json,
      payload: '{broken',
    });
    expect(post.statusCode).toBe(401);

    await h.keys.revoke(admin.record.id);
    // Successful lookups are reused for up to a second.
    await expect
      .poll(
        async () =>
          (await h.app.inject({ url: '/api/v1/instances', headers: bearer(admin.key) })).statusCode,
        { timeout: 3_000, interval: 100 },
      )
      .toBe(401);
    const revoked = await h.app.inject({ url: '/api/v1/instances', headers: bearer(admin.key) });
    expect(errorOf(revoked.body).message).toContain('not valid');
    const garbage = await h.app.inject({
      url: '/api/v1/instances',
      headers: { authorization: 'Basic dXNlcjpwYXNz' },
    });
    expect(garbage.statusCode).toBe(401);
  });

  it('records when a key was last used', async () => {
    const h = await setup({ app: { auth: 'required' } });
    const admin = await h.keys.create({ role: 'admin' });
    await h.app.inject({
      url: '/api/v1/instances',
      headers: { authorization: `Bearer ${admin.key}` },
    });
    await expect
      .poll(async () => (await h.keys.find(admin.record.id))?.last_used_at ?? null, {
        timeout: 2000,
      })
      .not.toBeNull();
  });

  it('keys and instance credentials never appear in answers or logs', async () => {
    const h = await setup({ app: { auth: 'required' } });
    const admin = await h.keys.create({ role: 'admin' });
    const headers = { authorization: `Bearer ${admin.key}`, ...json };
    const token = 'tok_SUPERSECRET_123';
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/instances',
      headers,
      payload: {
        name: 'behind-proxy',
        host: '127.0.0.1',
        port: 1,
        enabled: false,
        auth: { type: 'bearer', token },
      },
    });
    expect(created.statusCode).toBe(201);
    const id = (JSON.parse(created.body) as { id: string; auth: unknown }).id;
    expect(JSON.parse(created.body)).toMatchObject({ auth: { type: 'bearer', redacted: true } });
    const bodies = [created.body];
    for (const url of [
      '/api/v1/instances',
      `/api/v1/instances/${id}`,
      '/api/v1/instances/export',
      '/health',
      '/health/comfyui/instances',
    ]) {
      const res = await h.app.inject({ url, headers });
      // 503 is /health's "degraded" (no instance healthy yet), a real answer with a body.
      expect(res.statusCode === 503 || res.statusCode < 500).toBe(true);
      bodies.push(res.body);
    }
    const patched = await h.app.inject({
      method: 'PATCH',
      url: `/api/v1/instances/${id}`,
      headers,
      payload: { auth: { type: 'basic', username: 'u', password: 'pw_SECRET_456' } },
    });
    bodies.push(patched.body);
    const bad = await h.app.inject({
      method: 'PATCH',
      url: `/api/v1/instances/${id}`,
      headers,
      payload: { auth: { type: 'bearer', token: 42, secret_field: 'sf_SECRET_789' } },
    });
    expect(bad.statusCode).toBe(400);
    bodies.push(bad.body);
    const everything = [...bodies, ...h.logs].join('\n');
    for (const secret of [admin.key, token, 'pw_SECRET_456', 'sf_SECRET_789']) {
      expect(everything).not.toContain(secret);
    }
    // The request lines were written (mutations at info).
    expect(h.logs.some((l) => l.includes('"method":"PATCH"'))).toBe(true);
  });
});

describe('rate limiting, CORS, request ids, docs', () => {
  it('limits per API key, and per IP without one', async () => {
    const h = await setup({
      app: { auth: 'required', rateLimit: { max: 3, windowMs: 60_000 } },
    });
    const a = await h.keys.create({ role: 'admin' });
    const b = await h.keys.create({ role: 'admin' });
    const call = (key: string) =>
      h.app.inject({ url: '/api/v1/config/warnings', headers: { authorization: `Bearer ${key}` } });
    for (let i = 0; i < 3; i++) expect((await call(a.key)).statusCode).toBe(200);
    const limited = await call(a.key);
    expect(limited.statusCode).toBe(429);
    expect(errorOf(limited.body).code).toBe('rate_limited');
    expect(limited.headers['retry-after']).toBeDefined();
    expect((await call(b.key)).statusCode).toBe(200);
    // Health checks are never limited.
    for (let i = 0; i < 5; i++)
      expect((await h.app.inject({ url: '/livez' })).statusCode).toBe(200);
  });

  it('CORS is off unless origins are configured', async () => {
    const off = await setup();
    const res = await off.app.inject({ url: '/health', headers: { origin: 'http://a.example' } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const on = await setup({ app: { corsOrigins: ['http://a.example'] } });
    const ok = await on.app.inject({ url: '/health', headers: { origin: 'http://a.example' } });
    expect(ok.headers['access-control-allow-origin']).toBe('http://a.example');
    const other = await on.app.inject({ url: '/health', headers: { origin: 'http://b.example' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('echoes a well-formed x-request-id and replaces a bad one', async () => {
    const { app } = await setup();
    const ok = await app.inject({ url: '/livez', headers: { 'x-request-id': 'abc-123' } });
    expect(ok.headers['x-request-id']).toBe('abc-123');
    const bad = await app.inject({ url: '/livez', headers: { 'x-request-id': 'a b\nc' } });
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves the OpenAPI document built from the route schemas, and the docs page', async () => {
    const { app } = await setup();
    const res = await app.inject({ url: '/api/v1/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = JSON.parse(res.body) as {
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: unknown; parameters?: unknown[] }>>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/health',
        '/metrics',
        '/api/v1/instances',
        '/api/v1/instances/{id}',
        '/api/v1/instances/{id}/capabilities',
        '/api/v1/events',
        '/api/v1/config/warnings',
      ]),
    );
    expect(doc.paths['/api/v1/instances']?.post?.requestBody).toBeDefined();
    expect(JSON.stringify(doc.paths['/api/v1/instances']?.post)).toContain('max_concurrent');
    const docs = await app.inject({ url: '/docs' });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('<html');
  });

  it('ApiError carries its catalogue status', () => {
    const e = new ApiError('instance_timeout');
    expect(e.statusCode).toBe(504);
    expect(e.message).toContain('did not answer');
  });
});
