import { createHash } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ComfyClient, type ComfyClientOptions } from './comfy-client.js';
import {
  ComfyAbortError,
  type ComfyError,
  ComfyHttpError,
  ComfyNotComfyError,
  ComfyTimeoutError,
  ComfyUnreachableError,
  ComfyValidationError,
  isInstanceFailure,
} from './errors.js';
import type { HistoryRecord, QueueItem } from './protocol.js';
import {
  closedPort,
  type FakeServer,
  type RecordedRequest,
  sendEmpty,
  sendJson,
  sendText,
  startFakeServer,
  startSilentServer,
} from './testing/fake-server.js';
import { loadRecording } from './testing/recordings.js';

const ID_A = '11111111-1111-4111-8111-111111111111';
const ID_B = '22222222-2222-4222-8222-222222222222';
const PROMPT = {
  '1': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 1, color: 0 } },
  '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'x' } },
};

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function setup(
  options: Partial<ComfyClientOptions> = {},
): Promise<{ server: FakeServer; client: ComfyClient }> {
  const server = await startFakeServer();
  cleanups.push(() => server.close());
  const client = new ComfyClient({ baseUrl: server.url, ...options });
  cleanups.push(() => client.close());
  return { server, client };
}

function stats(version: string) {
  return {
    system: {
      os: 'linux',
      ram_total: 1,
      ram_free: 1,
      comfyui_version: version,
      python_version: '3',
      pytorch_version: '2',
      embedded_python: false,
      argv: [],
    },
    devices: [],
  };
}

function queueItem(number: number, id: string): QueueItem {
  return [number, id, PROMPT, { client_id: 'c', create_time: 1000 + number }, ['2']];
}

function historyRecord(id: string, last: [string, Record<string, unknown>]): HistoryRecord {
  return {
    prompt: queueItem(3, id),
    outputs: { '2': { images: [{ filename: 'x_00001_.png', subfolder: '', type: 'output' }] } },
    status: {
      status_str: last[0] === 'execution_success' ? 'success' : 'error',
      completed: last[0] === 'execution_success',
      messages: [['execution_start', { prompt_id: id, timestamp: 10 }], last as [string, never]],
    },
    meta: {},
  } as HistoryRecord;
}

function jsonBody(req: RecordedRequest): unknown {
  return JSON.parse(req.body.toString('utf8'));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

describe('ComfyClient: prompts', () => {
  it('POSTs the body as given and returns prompt_id, number and node_errors', async () => {
    const { server, client } = await setup();
    server.route('POST /prompt', (_req, res) =>
      sendJson(res, 200, { prompt_id: ID_A, number: 5.5, node_errors: {} }),
    );
    const queued = await client.queuePrompt({
      prompt: PROMPT,
      prompt_id: ID_A,
      client_id: 'gw-1',
      number: 5.5,
      front: true,
      extra_data: { extra_pnginfo: { workflow: { id: 'wf' } } },
      partial_execution_targets: ['2'],
    });
    expect(queued).toMatchObject({ prompt_id: ID_A, number: 5.5, node_errors: {}, partial: false });
    const req = server.requests[0];
    expect(req?.headers['content-type']).toBe('application/json');
    expect(jsonBody(req!)).toEqual({
      prompt: PROMPT,
      prompt_id: ID_A,
      client_id: 'gw-1',
      number: 5.5,
      front: true,
      extra_data: { extra_pnginfo: { workflow: { id: 'wf' } } },
      partial_execution_targets: ['2'],
    });
  });

  it('surfaces a 200 with node_errors as partial instead of throwing', async () => {
    const { server, client } = await setup();
    const nodeErrors = {
      '3': {
        errors: [
          { type: 'value_not_in_list', message: 'Value not in list', details: 'x', extra_info: {} },
        ],
        dependent_outputs: ['3'],
        class_type: 'SaveImage',
      },
    };
    server.route('POST /prompt', (_req, res) =>
      sendJson(res, 200, { prompt_id: ID_A, number: 1, node_errors: nodeErrors }),
    );
    const queued = await client.queuePrompt({ prompt: PROMPT });
    expect(queued.partial).toBe(true);
    expect(queued.node_errors).toEqual(nodeErrors);
  });

  it("keeps ComfyUI's recorded 400 bodies exactly in ComfyValidationError", async () => {
    const { server, client } = await setup();
    const recorded = loadRecording('http_post_prompt_invalid.json').exchanges.filter(
      (e) => e.response.status === 400,
    );
    expect(recorded.length).toBeGreaterThan(10);
    let current = recorded[0]!;
    server.route('POST /prompt', (_req, res) => sendJson(res, 400, current.response.body_json));
    for (const exchange of recorded) {
      current = exchange;
      const error = await rejection(client.queuePrompt({ prompt: PROMPT }));
      expect(error, exchange.name).toBeInstanceOf(ComfyValidationError);
      const validation = error as ComfyValidationError;
      expect(validation.code).toBe('WORKFLOW_INVALID');
      expect(validation.status).toBe(400);
      expect(validation.response).toStrictEqual(exchange.response.body_json);
      const body = exchange.response.body_json as { error: unknown; node_errors: unknown };
      expect(validation.error).toStrictEqual(body.error);
      expect(validation.nodeErrors).toStrictEqual(body.node_errors);
    }
  });

  it("turns ComfyUI's 500 text page for a bad body into ComfyHttpError", async () => {
    const { server, client } = await setup();
    const recorded = loadRecording('http_post_prompt_invalid.json').exchanges.find(
      (e) => e.response.status === 500,
    );
    server.route('POST /prompt', (_req, res) =>
      sendText(res, 500, recorded?.response.body_text ?? '', 'text/plain; charset=utf-8'),
    );
    const error = await rejection(client.queuePrompt({ prompt: PROMPT }));
    expect(error).toBeInstanceOf(ComfyHttpError);
    expect(error).not.toBeInstanceOf(ComfyValidationError);
    expect(error).toMatchObject({
      code: 'HTTP_ERROR',
      status: 500,
      body: recorded?.response.body_text,
    });
  });

  it('rejects ids ComfyUI would refuse without sending anything', async () => {
    const { server, client } = await setup();
    const hex = 'abcdef01-2345-4789-8abc-def012345678';
    for (const bad of [hex.toUpperCase(), `{${hex}}`, hex.replace(/-/g, '')]) {
      const error = await rejection(client.queuePrompt({ prompt: PROMPT, prompt_id: bad }));
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await expect(client.queuePrompt({ prompt: PROMPT, client_id: '' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(server.requests).toHaveLength(0);
  });

  it('sends the queue, history, interrupt and free bodies ComfyUI expects', async () => {
    const { server, client } = await setup();
    for (const route of ['POST /queue', 'POST /history', 'POST /interrupt', 'POST /free']) {
      server.route(route, (_req, res) => sendEmpty(res));
    }
    server.route('GET /history', (_req, res) => sendJson(res, 200, {}));
    await client.deleteFromQueue([ID_A, ID_B]);
    await client.clearQueue();
    await client.deleteHistory([ID_A]);
    await client.clearHistory();
    await client.interrupt(ID_A);
    await client.interrupt();
    await client.free({ unload_models: true, free_memory: false });
    await client.getHistory({ maxItems: 2, offset: 1 });
    const sent = server.requests.map((r) => [r.method, r.url, r.body.length ? jsonBody(r) : null]);
    expect(sent).toEqual([
      ['POST', '/queue', { delete: [ID_A, ID_B] }],
      ['POST', '/queue', { clear: true }],
      ['POST', '/history', { delete: [ID_A] }],
      ['POST', '/history', { clear: true }],
      ['POST', '/interrupt', { prompt_id: ID_A }],
      ['POST', '/interrupt', {}],
      ['POST', '/free', { unload_models: true, free_memory: false }],
      ['GET', '/history?max_items=2&offset=1', null],
    ]);
  });

  it("maps ComfyUI's 200 {} for unknown ids and classes, and 404 for unknown model folders, to undefined", async () => {
    const { server, client } = await setup();
    const record = historyRecord(ID_A, ['execution_success', { prompt_id: ID_A, timestamp: 20 }]);
    server.fallback((req, res) => {
      if (req.path === `/history/${ID_A}`) return sendJson(res, 200, { [ID_A]: record });
      if (req.path.startsWith('/history/') || req.path.startsWith('/object_info/'))
        return sendJson(res, 200, {});
      if (req.path === '/models/checkpoints') return sendJson(res, 200, ['a.safetensors']);
      return sendEmpty(res, 404);
    });
    expect(await client.getHistoryItem(ID_A)).toEqual(record);
    expect(await client.getHistoryItem(ID_B)).toBeUndefined();
    expect(await client.getNodeInfo('NoSuchNode')).toBeUndefined();
    expect(await client.listModels('checkpoints')).toEqual(['a.safetensors']);
    expect(await client.listModels('no_such_folder')).toBeUndefined();
  });

  it('reads system, node and model routes with their recorded shapes', async () => {
    const { server, client } = await setup();
    const basic = loadRecording('http_basic_get.json').exchanges;
    const info = loadRecording('http_object_info.json').exchanges;
    for (const exchange of [...basic, ...info]) {
      if (exchange.response.body_json === undefined) continue;
      server.route(`GET ${exchange.request.path}`, (_req, res) =>
        sendJson(res, 200, exchange.response.body_json),
      );
    }
    const recordedStats = basic.find((e) => e.request.path === '/system_stats')?.response.body_json;
    expect(await client.getSystemStats()).toEqual(recordedStats);
    expect(client.version).toBe('0.8.0');
    expect(await client.getPromptInfo()).toEqual({ exec_info: { queue_remaining: 0 } });
    expect(await client.getQueue()).toEqual({ queue_running: [], queue_pending: [] });
    expect(await client.getFeatures()).toMatchObject({ supports_preview_metadata: true });
    expect(await client.getEmbeddings()).toEqual([]);
    expect(await client.getExtensions()).toEqual([]);
    expect(await client.listModelFolders()).toContain('checkpoints');
    expect(Object.keys(await client.getObjectInfo())).toContain('EmptyImage');
    expect((await client.getNodeInfo('SaveImage'))?.output_node).toBe(true);
  });
});

describe('ComfyClient: failures', () => {
  it('reports a closed port as unreachable (ECONNREFUSED, connect phase)', async () => {
    const port = await closedPort();
    const client = new ComfyClient({ baseUrl: `http://127.0.0.1:${port}` });
    cleanups.push(() => client.close());
    const error = await rejection(client.getQueue());
    expect(error).toBeInstanceOf(ComfyUnreachableError);
    expect(error).toMatchObject({
      code: 'INSTANCE_UNREACHABLE',
      causeCode: 'ECONNREFUSED',
      phase: 'connect',
    });
    expect(isInstanceFailure(error)).toBe(true);
  });

  it('times out on a server that accepts TCP and never answers (response phase)', async () => {
    const silent = await startSilentServer();
    cleanups.push(() => silent.close());
    const client = new ComfyClient({ baseUrl: silent.url, timeoutMs: 200 });
    cleanups.push(() => client.close());
    const error = await rejection(client.getSystemStats());
    expect(error).toBeInstanceOf(ComfyTimeoutError);
    expect(error).toMatchObject({ code: 'INSTANCE_TIMEOUT', phase: 'response', timeoutMs: 200 });
    expect(silent.accepted()).toBe(1);
  });

  it('reports a timeout while waiting for a pooled connection as the queued phase', async () => {
    const { server, client } = await setup({ maxConnections: 1 });
    const held: ServerResponse[] = [];
    server.route('GET /queue', (_req, res) => {
      held.push(res);
    });
    cleanups.push(() => {
      for (const res of held) res.destroy();
    });
    const first = client.getQueue({ timeoutMs: 5_000 }).catch((e: unknown) => e);
    const error = await rejection(client.getPromptInfo({ timeoutMs: 200 }));
    expect(error).toMatchObject({ code: 'INSTANCE_TIMEOUT', phase: 'queued' });
    expect(isInstanceFailure(error)).toBe(false);
    expect(server.requests.map((r) => r.path)).toEqual(['/queue']);
    client.close();
    expect(await first).toMatchObject({ code: 'CLIENT_CLOSED' });
  });

  it('says "not ComfyUI" for HTML and for JSON of the wrong shape', async () => {
    const { server, client } = await setup();
    server.route('GET /system_stats', (_req, res) =>
      sendText(res, 200, '<!doctype html><html><body>router login</body></html>', 'text/html'),
    );
    server.route('GET /queue', (_req, res) => sendJson(res, 200, { hello: 'world' }));
    const html = await rejection(client.getSystemStats());
    expect(html).toBeInstanceOf(ComfyNotComfyError);
    expect(html).toMatchObject({ code: 'NOT_COMFYUI', status: 200, contentType: 'text/html' });
    expect((html as ComfyNotComfyError).snippet).toContain('router login');
    expect(await rejection(client.getQueue())).toBeInstanceOf(ComfyNotComfyError);
  });

  it('reports other statuses with their body text', async () => {
    const { server, client } = await setup();
    server.route('GET /history', (_req, res) =>
      sendText(res, 500, '500 Internal Server Error\n\nServer got itself in trouble'),
    );
    server.route('GET /queue', (_req, res) => sendText(res, 502, 'Bad Gateway', 'text/html'));
    expect(await rejection(client.getHistory({ maxItems: 1 }))).toMatchObject({
      code: 'HTTP_ERROR',
      status: 500,
      body: '500 Internal Server Error\n\nServer got itself in trouble',
    });
    expect(await rejection(client.getQueue())).toMatchObject({ code: 'HTTP_ERROR', status: 502 });
  });

  it('aborts a request in flight and one not started yet', async () => {
    const { server, client } = await setup();
    let closedByClient = false;
    server.route('GET /queue', (_req, _res, raw) => {
      raw.socket.on('close', () => {
        closedByClient = true;
      });
      controller.abort(new Error('user cancelled'));
    });
    const controller = new AbortController();
    const error = await rejection(client.getQueue({ signal: controller.signal }));
    expect(error).toBeInstanceOf(ComfyAbortError);
    expect((error as ComfyAbortError).reason).toEqual(new Error('user cancelled'));
    await expect(client.getPromptInfo({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(
      ComfyAbortError,
    );
    expect(server.requests.map((r) => r.path)).toEqual(['/queue']);
    for (let i = 0; i < 200 && !closedByClient; i++) await new Promise((r) => setTimeout(r, 5));
    expect(closedByClient).toBe(true);
  });

  it('leaves no listener on a long-lived AbortSignal shared by many calls', async () => {
    const { server, client } = await setup();
    server.route('GET /prompt', (_req, res) =>
      sendJson(res, 200, { exec_info: { queue_remaining: 0 } }),
    );
    server.route('GET /queue', (_req, res) => sendText(res, 500, 'no'));
    const shared = new AbortController();
    for (let i = 0; i < 50; i++) {
      await client.getPromptInfo({ signal: shared.signal });
      await client.getQueue({ signal: shared.signal }).catch(() => undefined);
    }
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
  });

  it('rejects calls in flight and later calls once closed', async () => {
    const { server, client } = await setup();
    server.route('GET /queue', () => undefined);
    const pending = rejection(client.getQueue());
    for (let i = 0; i < 200 && server.requests.length === 0; i++)
      await new Promise((r) => setTimeout(r, 5));
    client.close();
    client.close();
    expect(await pending).toMatchObject({ code: 'CLIENT_CLOSED' });
    await expect(client.getPromptInfo()).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(client.closed).toBe(true);
  });
});

describe('ComfyClient: connections', () => {
  it('reuses one keep-alive connection for sequential calls', async () => {
    const { server, client } = await setup();
    server.route('GET /prompt', (_req, res) =>
      sendJson(res, 200, { exec_info: { queue_remaining: 0 } }),
    );
    for (let i = 0; i < 20; i++) await client.getPromptInfo();
    expect(server.requests).toHaveLength(20);
    expect(server.connectionsAccepted()).toBe(1);
    expect(client.connectionsOpened).toBe(1);
  });

  it('never opens more than maxConnections sockets, whatever the concurrency', async () => {
    const { server, client } = await setup({ maxConnections: 3 });
    const total = 10;
    let handled = 0;
    let held: ServerResponse[] = [];
    server.route('GET /prompt', (_req, res) => {
      held.push(res);
      // Answer in batches once every allowed connection carries a request (or the rest arrived).
      if (held.length === 3 || handled + held.length === total) {
        handled += held.length;
        for (const r of held) sendJson(r, 200, { exec_info: { queue_remaining: 0 } });
        held = [];
      }
    });
    const results = await Promise.all(Array.from({ length: total }, () => client.getPromptInfo()));
    expect(results).toHaveLength(total);
    expect(server.maxConcurrentConnections()).toBe(3);
    expect(server.connectionsAccepted()).toBe(3);
  });

  it('retries an idempotent call once when a reused connection turns out dead', async () => {
    const { server, client } = await setup();
    let calls = 0;
    server.route('GET /queue', (_req, res, raw) => {
      calls++;
      if (calls === 2) {
        raw.socket.destroy();
        return;
      }
      sendJson(res, 200, { queue_running: [], queue_pending: [] });
    });
    server.route('POST /prompt', (_req, _res, raw) => {
      raw.socket.destroy();
    });
    await client.getQueue();
    await client.getQueue();
    expect(calls).toBe(3);
    expect(server.connectionsAccepted()).toBe(2);
    // POST /prompt is never sent twice: the caller decides (it may have been queued).
    const error = await rejection(client.queuePrompt({ prompt: PROMPT }));
    expect(error).toMatchObject({
      code: 'INSTANCE_UNREACHABLE',
      causeCode: 'ECONNRESET',
      phase: 'response',
    });
    expect(server.requests.filter((r) => r.path === '/prompt')).toHaveLength(1);
  });
});

describe('ComfyClient: auth, prefix and redaction', () => {
  it('sends bearer tokens, basic auth from the URL or user:password, and extra headers', async () => {
    const server = await startFakeServer();
    cleanups.push(() => server.close());
    server.route('GET /prompt', (_req, res) =>
      sendJson(res, 200, { exec_info: { queue_remaining: 0 } }),
    );
    const port = server.port;
    const clients = [
      new ComfyClient({
        baseUrl: server.url,
        auth: { bearer: 'tok-123' },
        headers: { 'X-Api-Key': 'k-9' },
      }),
      new ComfyClient({ baseUrl: `http://alice:p%40ss@127.0.0.1:${port}` }),
      new ComfyClient({ baseUrl: server.url, auth: { basic: 'bob:s3:cret' } }),
      new ComfyClient({ baseUrl: server.url, auth: { username: 'carol', password: 'pw' } }),
    ];
    for (const c of clients) {
      cleanups.push(() => c.close());
      await c.getPromptInfo();
    }
    const auth = server.requests.map((r) => r.headers.authorization);
    const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
    expect(auth).toEqual([
      'Bearer tok-123',
      basic('alice:p@ss'),
      basic('bob:s3:cret'),
      basic('carol:pw'),
    ]);
    expect(server.requests[0]?.headers['x-api-key']).toBe('k-9');
  });

  it('never shows credentials in toString, JSON, inspect or error messages', async () => {
    const port = await closedPort();
    const client = new ComfyClient({
      baseUrl: `http://alice:hunter2@127.0.0.1:${port}/comfy`,
      headers: { Cookie: 'session=s3cr3t' },
    });
    cleanups.push(() => client.close());
    const bearer = new ComfyClient({
      baseUrl: `http://127.0.0.1:${port}`,
      auth: { bearer: 'tok-secret' },
    });
    cleanups.push(() => bearer.close());
    const error = (await rejection(client.getQueue())) as ComfyError;
    const shown = [
      String(client),
      JSON.stringify(client),
      inspect(client, { depth: 5, showHidden: true }),
      inspect(bearer, { depth: 5, showHidden: true }),
      JSON.stringify(bearer),
      client.url,
      error.message,
      String(error.url),
      inspect(error, { depth: 3 }),
    ].join('\n');
    for (const secret of [
      'hunter2',
      's3cr3t',
      'tok-secret',
      Buffer.from('alice:hunter2').toString('base64'),
    ]) {
      expect(shown).not.toContain(secret);
    }
    expect(JSON.parse(JSON.stringify(client))).toEqual({
      url: `http://127.0.0.1:${port}/comfy`,
      auth: 'basic',
      headers: ['Cookie'],
    });
  });

  it('puts a reverse-proxy path prefix (and optionally /api) before every route', async () => {
    const { server } = await setup();
    server.fallback((req, res) => {
      if (req.path.endsWith('/queue'))
        return sendJson(res, 200, { queue_running: [], queue_pending: [] });
      if (req.path.endsWith('/system_stats')) return sendJson(res, 200, stats('0.8.0'));
      return sendJson(res, 404, { error: 'Job not found' });
    });
    const plain = new ComfyClient({ baseUrl: `${server.url}/comfy/` });
    const api = new ComfyClient({ baseUrl: `${server.url}/comfy`, apiPrefix: true });
    cleanups.push(
      () => plain.close(),
      () => api.close(),
    );
    await plain.getQueue();
    await api.getQueue();
    await api.getJob(ID_A);
    expect(server.requests.map((r) => r.path)).toEqual([
      '/comfy/queue',
      '/comfy/api/queue',
      '/comfy/api/system_stats',
      `/comfy/api/jobs/${ID_A}`,
    ]);
  });

  it('rejects unusable options with a clear error', () => {
    expect(() => new ComfyClient({ baseUrl: 'not a url' })).toThrow(/baseUrl/);
    expect(() => new ComfyClient({ baseUrl: 'ftp://host' })).toThrow(/http/);
    expect(() => new ComfyClient({ baseUrl: 'http://h', auth: { basic: 'nocolon' } })).toThrow(
      /user:password/,
    );
    expect(() => new ComfyClient({ baseUrl: 'http://h', maxConnections: 0 })).toThrow(
      /maxConnections/,
    );
    expect(() => new ComfyClient({ baseUrl: 'http://h', headers: { 'X-A': 'a\r\nb' } })).toThrow(
      /header/,
    );
  });
});

describe('ComfyClient: jobs API and fallbacks', () => {
  function jobsServer(
    server: FakeServer,
    version: string,
    queue: { running: QueueItem[]; pending: QueueItem[] },
    history: Record<string, HistoryRecord>,
  ) {
    server.fallback((req, res) => {
      if (req.path === '/system_stats') return sendJson(res, 200, stats(version));
      if (req.path === '/queue' && req.method === 'GET') {
        return sendJson(res, 200, { queue_running: queue.running, queue_pending: queue.pending });
      }
      if (req.path === '/queue' || req.path === '/interrupt') return sendEmpty(res);
      if (req.path.startsWith('/history/')) {
        const id = req.path.slice('/history/'.length);
        return sendJson(res, 200, history[id] ? { [id]: history[id] } : {});
      }
      return sendText(res, 404, '404: Not Found');
    });
  }

  it('uses /api/jobs on new servers', async () => {
    const { server, client } = await setup();
    server.route('GET /system_stats', (_req, res) => sendJson(res, 200, stats('0.8.0')));
    server.route(`GET /api/jobs/${ID_A}`, (_req, res) =>
      sendJson(res, 200, { id: ID_A, status: 'in_progress', priority: 1 }),
    );
    server.route(`GET /api/jobs/${ID_B}`, (_req, res) =>
      sendJson(res, 404, { error: 'Job not found' }),
    );
    server.route(`POST /api/jobs/${ID_A}/cancel`, (_req, res) =>
      sendJson(res, 200, { cancelled: true }),
    );
    server.route('POST /api/jobs/cancel', (_req, res) => sendJson(res, 200, { cancelled: false }));
    server.route('GET /api/jobs', (_req, res) =>
      sendJson(res, 200, {
        jobs: [],
        pagination: { offset: 0, limit: 2, total: 0, has_more: false },
      }),
    );
    expect(await client.getJob(ID_A)).toMatchObject({ id: ID_A, status: 'in_progress' });
    expect(await client.getJob(ID_B)).toBeUndefined();
    expect(await client.getPromptState(ID_A)).toMatchObject({ state: 'running' });
    expect(await client.getPromptState(ID_B)).toEqual({ state: 'unknown', promptId: ID_B });
    expect(await client.cancelJob(ID_A)).toEqual({ cancelled: true });
    expect(await client.cancelJobs([ID_A, ID_B])).toEqual({ cancelled: false });
    await client.listJobs({ status: ['pending', 'in_progress'], limit: 2, sort_order: 'asc' });
    expect(client.jobsApi).toBe(true);
    const list = server.requests.at(-1)!;
    expect(list.query.get('status')).toBe('pending,in_progress');
    expect(list.query.get('limit')).toBe('2');
    expect(jsonBody(server.requests.find((r) => r.path === '/api/jobs/cancel')!)).toEqual({
      job_ids: [ID_A, ID_B],
    });
    expect(server.requests.filter((r) => r.path === '/system_stats')).toHaveLength(1);
  });

  it('falls back to /queue and /history on servers older than the jobs API', async () => {
    const { server, client } = await setup();
    const done = historyRecord(ID_B, ['execution_success', { prompt_id: ID_B, timestamp: 20 }]);
    jobsServer(server, '0.3.10', { running: [queueItem(1, ID_A)], pending: [] }, { [ID_B]: done });
    expect(await client.getJob(ID_A)).toMatchObject({
      id: ID_A,
      status: 'in_progress',
      priority: 1,
      create_time: 1001,
    });
    expect(await client.getJob(ID_B)).toMatchObject({
      id: ID_B,
      status: 'completed',
      execution_start_time: 10,
      execution_end_time: 20,
      outputs_count: 1,
    });
    expect(await client.getPromptState(ID_B)).toMatchObject({
      state: 'finished',
      outcome: 'success',
      history: done,
    });
    await expect(client.listJobs()).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    expect(server.requests.some((r) => r.path.startsWith('/api/jobs'))).toBe(false);
  });

  it('cancels without the jobs API: /queue delete for pending, /interrupt {prompt_id} for running', async () => {
    const { server, client } = await setup({ jobsApi: false });
    const unknown = '33333333-3333-4333-8333-333333333333';
    jobsServer(
      server,
      '0.3.10',
      { running: [queueItem(1, ID_A)], pending: [queueItem(2, ID_B)] },
      {},
    );
    expect(await client.cancelJob(ID_B)).toEqual({ cancelled: true });
    expect(await client.cancelJob(ID_A)).toEqual({ cancelled: true });
    expect(await client.cancelJob(unknown)).toEqual({ cancelled: false });
    const posts = server.requests
      .filter((r) => r.method === 'POST')
      .map((r) => [r.path, jsonBody(r)]);
    expect(posts).toEqual([
      ['/queue', { delete: [ID_B] }],
      ['/interrupt', { prompt_id: ID_B }],
      ['/interrupt', { prompt_id: ID_A }],
    ]);
  });

  it('detects a missing jobs route from a plain 404 and remembers it', async () => {
    const { server, client } = await setup();
    jobsServer(server, '0.5.0', { running: [], pending: [queueItem(2, ID_B)] }, {});
    expect(await client.getPromptState(ID_B)).toEqual({ state: 'pending', promptId: ID_B });
    expect(client.jobsApi).toBe(false);
    expect(await client.getPromptState(ID_A)).toEqual({ state: 'unknown', promptId: ID_A });
    expect(server.requests.filter((r) => r.path.startsWith('/api/jobs'))).toHaveLength(1);
  });

  it('derives error and interrupted outcomes from recorded history records', async () => {
    const { server, client } = await setup({ jobsApi: false });
    const failed = loadRecording('ws_execution_error.json').exchanges.find((e) =>
      e.name.startsWith('GET /history'),
    )!;
    const interrupted = loadRecording('ws_queue_interrupt.json').exchanges.find((e) =>
      e.name.startsWith('GET /history/{A}'),
    )!;
    const failedId = Object.keys(failed.response.body_json as object)[0]!;
    const interruptedId = Object.keys(interrupted.response.body_json as object)[0]!;
    jobsServer(
      server,
      '0.3.10',
      { running: [], pending: [] },
      {
        ...(failed.response.body_json as Record<string, HistoryRecord>),
        ...(interrupted.response.body_json as Record<string, HistoryRecord>),
      },
    );
    const errorState = await client.getPromptState(failedId);
    expect(errorState).toMatchObject({
      state: 'finished',
      outcome: 'error',
      error: { exception_type: 'IndexError', node_id: '2' },
    });
    const interruptedState = await client.getPromptState(interruptedId);
    expect(interruptedState).toMatchObject({
      state: 'finished',
      outcome: 'interrupted',
      interrupted: { node_id: '12' },
    });
    expect(await client.getJob(interruptedId)).toMatchObject({
      status: 'cancelled',
      execution_end_time: 1795564736270,
    });
  });
});

describe('ComfyClient: files', () => {
  function parseMultipart(
    req: RecordedRequest,
  ): Map<string, { filename?: string; type?: string; data: Buffer }> {
    const boundary = /boundary=(.+)$/.exec(String(req.headers['content-type']))?.[1];
    const parts = new Map<string, { filename?: string; type?: string; data: Buffer }>();
    const body = req.body.toString('latin1');
    for (const chunk of body.split(`--${boundary}`).slice(1, -1)) {
      const [head = '', ...rest] = chunk.slice(2).split('\r\n\r\n');
      const data = Buffer.from(rest.join('\r\n\r\n').slice(0, -2), 'latin1');
      const name = /name="([^"]+)"/.exec(head)?.[1] ?? '';
      const part: { filename?: string; type?: string; data: Buffer } = { data };
      const filename = /filename="([^"]*)"/.exec(head)?.[1];
      const type = /Content-Type: (.+)/i.exec(head)?.[1];
      if (filename !== undefined) part.filename = filename;
      if (type !== undefined) part.type = type.trim();
      parts.set(name, part);
    }
    return parts;
  }

  it('uploads an image from a Buffer and from a stream as multipart', async () => {
    const { server, client } = await setup();
    server.route('POST /upload/image', (req, res) => {
      const parts = parseMultipart(req);
      sendJson(res, 200, {
        name: `${parts.get('image')?.filename} (1)`,
        subfolder: parts.get('subfolder')?.data.toString() ?? '',
        type: 'input',
      });
    });
    server.route('POST /upload/mask', (_req, res) =>
      sendJson(res, 200, { name: 'm.png', subfolder: '', type: 'input' }),
    );
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(3000, 7)]);
    const result = await client.uploadImage(png, {
      filename: 'in.png',
      subfolder: 'job-1',
      overwrite: true,
      type: 'input',
    });
    expect(result).toEqual({ name: 'in.png (1)', subfolder: 'job-1', type: 'input' });
    const first = parseMultipart(server.requests[0]!);
    expect(first.get('image')).toEqual({ filename: 'in.png', type: 'image/png', data: png });
    expect(first.get('overwrite')?.data.toString()).toBe('true');
    expect(first.get('type')?.data.toString()).toBe('input');
    expect(Number(server.requests[0]?.headers['content-length'])).toBe(
      server.requests[0]?.body.length,
    );

    const streamed = Readable.from([png.subarray(0, 1000), png.subarray(1000)]);
    await client.uploadImage(streamed, { filename: 'b.webp' });
    const second = parseMultipart(server.requests[1]!);
    expect(second.get('image')).toEqual({ filename: 'b.webp', type: 'image/webp', data: png });
    expect(server.requests[1]?.headers['transfer-encoding']).toBe('chunked');

    await client.uploadMask(png, {
      filename: 'm.png',
      originalRef: { filename: 'in.png', type: 'input' },
    });
    const mask = parseMultipart(server.requests[2]!);
    expect(JSON.parse(mask.get('original_ref')?.data.toString() ?? '')).toEqual({
      filename: 'in.png',
      subfolder: '',
      type: 'input',
    });
    await expect(client.uploadImage(png, { filename: '../x.png' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('streams /view: the first bytes arrive before the server has sent the rest', async () => {
    const { server, client } = await setup();
    const total = 8 * 1024 * 1024;
    const content = Buffer.alloc(total);
    for (let i = 0; i < total; i += 4096) content.writeUInt32BE(i, i);
    let releaseRest: () => void = () => undefined;
    const rest = new Promise<void>((resolve) => {
      releaseRest = resolve;
    });
    let serverFinished = false;
    server.route('GET /view', async (req, res) => {
      res.writeHead(200, {
        'content-type': 'image/png',
        'content-length': total,
        'content-disposition': `filename="${req.query.get('filename')}"`,
      });
      res.write(content.subarray(0, 65536));
      await rest;
      res.end(content.subarray(65536), () => {
        serverFinished = true;
      });
    });
    const view = await client.view(
      { filename: 'big.png', subfolder: 'sub', type: 'output' },
      { preview: 'webp;90' },
    );
    expect(view.status).toBe(200);
    expect(view.contentType).toBe('image/png');
    expect(view.contentLength).toBe(total);
    expect(view.filename).toBe('big.png');
    const q = server.requests[0]!.query;
    expect([q.get('filename'), q.get('subfolder'), q.get('type'), q.get('preview')]).toEqual([
      'big.png',
      'sub',
      'output',
      'webp;90',
    ]);

    const hash = createHash('sha256');
    let received = 0;
    let firstChunkWhileServerBusy: boolean | undefined;
    for await (const chunk of view.body) {
      if (firstChunkWhileServerBusy === undefined) {
        firstChunkWhileServerBusy = !serverFinished;
        releaseRest();
      }
      hash.update(chunk as Buffer);
      received += (chunk as Buffer).length;
    }
    expect(firstChunkWhileServerBusy).toBe(true);
    expect(received).toBe(total);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(content).digest('hex'));
  });

  it('downloads to a file atomically and reports a missing file as 404', async () => {
    const { server, client } = await setup();
    const dir = await mkdtemp(path.join(tmpdir(), 'comfy-client-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const content = Buffer.alloc(300_000, 3);
    server.route('GET /view', (req, res) => {
      if (req.query.get('filename') !== 'a.png') return sendEmpty(res, 404);
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': content.length });
      res.end(content);
    });
    const target = path.join(dir, 'out.png');
    expect(await client.downloadToFile({ filename: 'a.png' }, target)).toEqual({
      bytes: content.length,
      contentType: 'image/png',
    });
    expect(await readFile(target)).toEqual(content);
    const missing = await rejection(
      client.downloadToFile({ filename: 'nope.png' }, path.join(dir, 'x.png')),
    );
    expect(missing).toMatchObject({ code: 'HTTP_ERROR', status: 404 });
    expect(await readdir(dir)).toEqual(['out.png']);
    const web = (await client.view({ filename: 'a.png' })).toWeb();
    let webBytes = 0;
    for await (const chunk of web) webBytes += chunk.byteLength;
    expect(webBytes).toBe(content.length);
  });

  it('fails a stalled body with a body-phase timeout, but tolerates a slow reader', async () => {
    const { server, client } = await setup({ bodyIdleTimeoutMs: 150 });
    const dir = await mkdtemp(path.join(tmpdir(), 'comfy-client-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const big = Buffer.alloc(4 * 1024 * 1024, 1);
    server.route('GET /view', (req, res) => {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': big.length });
      if (req.query.get('filename') === 'stall.png') res.write(big.subarray(0, 1000));
      else res.end(big);
    });
    const stalled = await client.view({ filename: 'stall.png' });
    const error = await rejection(stalled.saveTo(path.join(dir, 'stall.png')));
    expect(error).toBeInstanceOf(ComfyTimeoutError);
    expect(error).toMatchObject({ phase: 'body' });
    expect(await readdir(dir)).toEqual([]);

    const slow = await client.view({ filename: 'ok.png' });
    // The reader waits well past the idle timeout before reading: the server is blocked by
    // back-pressure, which must not count as a stall.
    await new Promise((resolve) => setTimeout(resolve, 500));
    let bytes = 0;
    for await (const chunk of slow.body) bytes += (chunk as Buffer).length;
    expect(bytes).toBe(big.length);
  });
});
