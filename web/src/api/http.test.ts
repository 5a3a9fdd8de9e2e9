import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { api } from './client.js';
import {
  ApiRequestError,
  configureApi,
  fieldErrorsOf,
  onUnauthorized,
  request,
  setApiKey,
  toApiError,
} from './http.js';

// A real HTTP server on 127.0.0.1 answering like the gateway (and like things that are not it).
type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let handler: Handler = (_req, res) => res.end();
let server: Server;
const seen: Array<{ method: string; url: string; auth: string | undefined; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        auth: req.headers.authorization,
        body,
      });
      handler(req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  configureApi({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});

afterAll(async () => {
  configureApi({ baseUrl: '' });
  await new Promise((r) => server.close(r));
});

afterEach(() => {
  seen.length = 0;
  setApiKey(null);
});

/** The error a call rejects with (fails the test if it resolves). */
async function failure(p: Promise<unknown>): Promise<ApiRequestError> {
  const outcome = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(outcome instanceof ApiRequestError))
    throw new Error(`expected an ApiRequestError, got ${String(outcome)}`);
  return outcome;
}

function json(status: number, body: unknown): Handler {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
}

describe('request', () => {
  it("turns the gateway's error shape into a readable error with its field errors", async () => {
    handler = json(400, {
      error: {
        code: 'validation_failed',
        message: 'the request is not valid: port must be between 1 and 65535, got 70000',
        details: [{ path: 'port', message: 'must be between 1 and 65535, got 70000' }],
      },
    });
    const err = await api.instances.create({ host: '127.0.0.1', port: 70000 }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiRequestError);
    expect(err.status).toBe(400);
    expect(err.code).toBe('validation_failed');
    expect(err.message).toContain('port must be between 1 and 65535');
    expect(err.fieldErrors).toEqual([
      { path: 'port', message: 'must be between 1 and 65535, got 70000' },
    ]);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/api/v1/instances' });
    expect(JSON.parse(seen[0]!.body)).toEqual({ host: '127.0.0.1', port: 70000 });
  });

  it('explains answers that are not the error shape (HTML proxy page, empty body)', async () => {
    handler = (_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><body>Bad gateway</body></html>');
    };
    const html = await failure(request('/api/v1/instances'));
    expect(html.message).toBe('the instance did not answer properly');
    handler = (_req, res) => {
      res.writeHead(500);
      res.end();
    };
    const empty = await failure(request('/x'));
    expect(empty.message).toBe('the gateway failed');
    expect(empty.code).toBe('http_500');
  });

  it('reports a gateway that is not there as a network error', async () => {
    configureApi({ baseUrl: 'http://127.0.0.1:9' });
    try {
      const err = await failure(request('/api/v1/instances'));
      expect(err).toBeInstanceOf(ApiRequestError);
      expect(err.status).toBe(0);
      expect(err.message).toMatch(/cannot be reached/);
    } finally {
      configureApi({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    }
  });

  it('sends the stored API key as a Bearer token and announces 401s', async () => {
    handler = json(401, { error: { code: 'unauthorized', message: 'an API key is required' } });
    let told = 0;
    const off = onUnauthorized(() => told++);
    try {
      await request('/api/v1/instances').catch(() => undefined);
      expect(seen[0]!.auth).toBeUndefined();
      expect(told).toBe(1);
      setApiKey('cc_secret');
      handler = json(200, { instances: [] });
      expect(await api.instances.list()).toEqual([]);
      expect(seen[1]!.auth).toBe('Bearer cc_secret');
      expect(localStorage.getItem('comfy-cluster.api-key')).toBe('cc_secret');
    } finally {
      off();
    }
  });

  it('unwraps list and item answers, and sends the active switch as PUT', async () => {
    handler = json(200, { active: null });
    await api.instances.activate('gpu1');
    expect(seen[0]).toMatchObject({ method: 'PUT', url: '/api/v1/instances/active' });
    expect(JSON.parse(seen[0]!.body)).toEqual({ id: 'gpu1' });
    handler = json(200, {
      instance_id: 'gpu1',
      result: { ok: false, kind: 'refused', message: 'no' },
    });
    expect(await api.instances.test('gpu1')).toEqual({ ok: false, kind: 'refused', message: 'no' });
  });
});

describe('jobs listing', () => {
  it('sends the status filter as one comma-separated parameter and reads the cursor', async () => {
    handler = json(200, { jobs: [{ id: 'j1', status: 'failed' }], next_cursor: 'c2' });
    const page = await api.jobs.list({ status: ['completed', 'failed'], limit: 500, cursor: 'c1' });
    expect(seen[0]!.url).toBe('/api/v1/jobs?status=completed%2Cfailed&cursor=c1&limit=500');
    expect(page).toEqual({ jobs: [{ id: 'j1', status: 'failed' }], next_cursor: 'c2' });
  });
});

describe('toApiError / fieldErrorsOf', () => {
  it("reads ComfyUI's own error shape and nested errors lists", () => {
    const e = toApiError(400, {
      error: { type: 'prompt_outputs_failed_validation', message: 'x' },
    });
    expect(e.code).toBe('prompt_outputs_failed_validation');
    expect(fieldErrorsOf({ errors: [{ path: 'a', message: 'b' }, { nope: 1 }] })).toEqual([
      { path: 'a', message: 'b' },
    ]);
    expect(fieldErrorsOf({ request_id: 'r' })).toEqual([]);
  });
});
