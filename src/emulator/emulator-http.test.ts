import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from './index.js';
import type { RunningEmulator } from './options.js';
import { http, loadRecording, postJson, type RawResponse, WORKFLOWS } from './testing/test-kit.js';

const JSON_TYPE = 'application/json; charset=utf-8';

function expectEmpty(res: RawResponse, status: number): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toBe('application/octet-stream');
  expect(res.headers['content-length']).toBe('0');
  expect(res.text).toBe('');
}

function expect500(res: RawResponse): void {
  expect(res.status).toBe(500);
  expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
  expect(res.headers.connection).toBe('close');
  expect(res.text).toBe('500 Internal Server Error\n\nServer got itself in trouble');
}

describe('emulator HTTP routes against the recordings', () => {
  let emu: RunningEmulator;
  beforeAll(async () => {
    emu = await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY, cpu: true });
  });
  afterAll(async () => {
    await emu.close();
  });

  it('answers the idle GETs of http_basic_get.json with the same status, type and shape', async () => {
    const recording = loadRecording('http_basic_get.json');
    for (const exchange of recording.exchanges) {
      const { path, query } = exchange.request;
      const res = await http(emu.url, 'GET', query ? `${path}?${query}` : path);
      expect(res.status, exchange.name).toBe(exchange.response.status);
      expect(res.headers['content-type'], exchange.name).toBe(
        exchange.response.headers['Content-Type'],
      );
      expect(res.headers.server).toBe('Python/3.11 aiohttp/3.8.4');
      if (exchange.response.body_json !== undefined) {
        const body = res.json();
        const recorded = exchange.response.body_json;
        if (Array.isArray(recorded)) expect(Array.isArray(body)).toBe(true);
        else
          expect(Object.keys(body as object), exchange.name).toEqual(
            Object.keys(recorded as object),
          );
      }
    }
  });

  it('reports /system_stats with ComfyUI 0.8.0 keys in order and a CPU device', async () => {
    const res = await http(emu.url, 'GET', '/system_stats');
    const recorded = loadRecording('http_basic_get.json').exchanges[0]?.response.body_json as {
      system: object;
      devices: object[];
    };
    const body = res.json() as {
      system: Record<string, unknown>;
      devices: Record<string, unknown>[];
    };
    expect(Object.keys(body.system)).toEqual(Object.keys(recorded.system));
    expect(Object.keys(body.devices[0] ?? {})).toEqual(Object.keys(recorded.devices[0] ?? {}));
    expect(body.system.comfyui_version).toBe('0.8.0');
    expect(body.devices[0]).toMatchObject({ name: 'cpu', type: 'cpu', index: null });
    expect(body.devices[0]?.vram_total).toBe(body.system.ram_total);
    // Python's json.dumps spacing.
    expect(res.text.startsWith('{"system": {"os": ')).toBe(true);
  });

  it('answers exactly like the recorded idle server, byte for byte where nothing varies', async () => {
    expect((await http(emu.url, 'GET', '/queue')).text).toBe(
      '{"queue_running": [], "queue_pending": []}',
    );
    const features = await http(emu.url, 'GET', '/features');
    expect(features.text).toBe(
      '{"supports_preview_metadata": true, "max_upload_size": 104857600, "extension": {"manager": {"supports_v4": true}}}',
    );
    expect(features.headers['content-length']).toBe('114');
    expectEmpty(await http(emu.url, 'GET', '/models/no_such_folder'), 404);
    const index = await http(emu.url, 'GET', '/');
    expect(index.headers['content-type']).toBe('text/html');
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.headers.etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
  });

  it('mirrors routes under /api as in the recorded prefix table', async () => {
    const table = loadRecording('http_api_prefix_origin.json').api_prefix_table as {
      path: string;
      status_plain: number;
      status_api_prefixed: number;
    }[];
    for (const row of table) {
      if (row.path === '/userdata?dir=workflows') continue;
      const plain = await http(emu.url, 'GET', row.path);
      const prefixed = await http(emu.url, 'GET', `/api${row.path}`);
      expect(plain.status, row.path).toBe(row.status_plain);
      expect(prefixed.status, `/api${row.path}`).toBe(row.status_api_prefixed);
    }
  });

  it('applies the origin middleware as recorded', async () => {
    const port = new URL(emu.url).port;
    const cases: [Record<string, string>, number][] = [
      [{ Origin: `http://evil.example:${port}` }, 403],
      [{ Origin: 'http://evil.example' }, 403],
      [{ Origin: `http://127.0.0.1:${port}` }, 200],
      [{ Origin: `http://localhost:${port}` }, 403],
      [{ Host: 'gateway.example:9000', Origin: 'http://other.example' }, 200],
      [{ 'Sec-Fetch-Site': 'cross-site' }, 403],
    ];
    for (const [headers, status] of cases) {
      const res = await http(emu.url, 'GET', '/queue', { headers });
      expect(res.status, JSON.stringify(headers)).toBe(status);
      if (status === 403) expectEmpty(res, 403);
    }
    const post = await http(emu.url, 'POST', '/prompt', {
      headers: { Origin: 'http://evil.example' },
      body: '{}',
    });
    expectEmpty(post, 403);
    expectEmpty(await http(emu.url, 'OPTIONS', '/anything'), 200);
  });

  it('answers GET /ws without Upgrade with aiohttp 400 text, unknown paths with 404/405', async () => {
    const ws = await http(emu.url, 'GET', '/ws');
    expect(ws.status).toBe(400);
    expect(ws.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(ws.text).toBe('No WebSocket UPGRADE hdr: None\n Can "Upgrade" only to "WebSocket".');
    const missing = await http(emu.url, 'GET', '/manager/version');
    expect(missing.status).toBe(404);
    expect(missing.text).toBe('404: Not Found');
    const wrongMethod = await http(emu.url, 'DELETE', '/prompt');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('GET,HEAD,POST');
    expect((await http(emu.url, 'GET', '/object_info/NoSuchNode')).text).toBe('{}');
    expect((await http(emu.url, 'HEAD', '/system_stats')).status).toBe(200);
  });

  it('serves /object_info with FLOAT options as Python floats', async () => {
    const res = await http(emu.url, 'GET', '/api/object_info/ImageScaleBy');
    expect(res.headers['content-type']).toBe(JSON_TYPE);
    expect(res.text).toContain(
      '"scale_by": ["FLOAT", {"default": 1.0, "min": 0.01, "max": 8.0, "step": 0.01}]',
    );
    const all = (await http(emu.url, 'GET', '/object_info')).json() as Record<string, unknown>;
    expect(Object.keys(all)).toContain('SaveImage');
  });
});

describe('POST /prompt top-level cases', () => {
  let emu: RunningEmulator;
  beforeAll(async () => {
    // A slow first node keeps prompts pending, so numbers and queue order can be observed.
    emu = await startEmulator({ port: 0, speed: 1, nodeDurations: { EmptyImage: 60_000 } });
  });
  afterAll(async () => {
    await emu.close();
  });

  it('consumes the counter for every parsed body, negates it for front, keeps float numbers', async () => {
    const recorded = loadRecording('http_post_prompt_invalid.json');
    const noPrompt = recorded.exchanges.find((e) => e.name === "missing 'prompt' key");
    const a = await postJson(emu.url, '/prompt', { prompt: WORKFLOWS.emptySave(1) });
    expect(a.status).toBe(200);
    expect(a.json()).toMatchObject({ number: 0, node_errors: {} });
    const bad = await postJson(emu.url, '/prompt', { client_id: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.json()).toEqual(noPrompt?.response.body_json);
    const arrayBody = await http(emu.url, 'POST', '/prompt', { body: '[1,2,3]' });
    expect(arrayBody.json()).toEqual(noPrompt?.response.body_json);
    const front = await postJson(emu.url, '/prompt', {
      prompt: WORKFLOWS.emptySave(2),
      front: true,
    });
    expect(front.json()).toMatchObject({ number: -3 });
    const explicit = await postJson(emu.url, '/prompt', {
      prompt: WORKFLOWS.emptySave(3),
      number: 5,
    });
    expect(explicit.text).toContain('"number": 5.0,');
    const next = await postJson(emu.url, '/prompt', { prompt: WORKFLOWS.emptySave(4) });
    expect(next.json()).toMatchObject({ number: 4 });
  });

  it('answers non-JSON and empty bodies with the 500 page, any content type', async () => {
    expect500(await http(emu.url, 'POST', '/prompt', { body: 'this is not json' }));
    expect500(await http(emu.url, 'POST', '/prompt', { body: '' }));
    expect500(await http(emu.url, 'POST', '/prompt', { body: '5' }));
    // Not UTF-8, and a UTF-8 BOM before the JSON: both fail to decode/parse in aiohttp.
    expect500(await http(emu.url, 'POST', '/prompt', { body: Buffer.from([0x7b, 0xff, 0x7d]) }));
    expect500(await http(emu.url, 'POST', '/prompt', { body: '\ufeff{"prompt": {}}' }));
    const textPlain = await http(emu.url, 'POST', '/prompt', {
      body: JSON.stringify({ prompt: WORKFLOWS.emptySave(5) }),
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(textPlain.status).toBe(200);
  });

  it('checks client prompt_ids for the canonical UUID form', async () => {
    for (const id of ['NOT-A-UUID', 'C0CFD5A5-038D-4671-B389-61E9CA192007', 42]) {
      const res = await postJson(emu.url, '/prompt', {
        prompt: WORKFLOWS.emptySave(6),
        prompt_id: id,
      });
      expect(res.status).toBe(400);
      expect((res.json() as { error: { type: string } }).error.type).toBe('invalid_prompt_id');
    }
    const id = 'c0cfd5a5-038d-4671-b389-61e9ca192007';
    const ok = await postJson(emu.url, '/prompt', {
      prompt: WORKFLOWS.emptySave(7),
      prompt_id: id,
      extra_data: { extra_pnginfo: { workflow: { note: 'gw' } }, api_key_comfy_org: 'secret' },
      client_id: 'cid',
    });
    expect(ok.json()).toMatchObject({ prompt_id: id });
    const queue = (await http(emu.url, 'GET', '/queue')).json() as {
      queue_pending: [number, string, object, Record<string, unknown>, string[]][];
    };
    const item = queue.queue_pending.find((i) => i[1] === id);
    expect(Object.keys(item?.[3] ?? {})).toEqual(['extra_pnginfo', 'client_id', 'create_time']);
    expect(item?.[4]).toEqual(['2']);
  });

  it('returns validation errors with node_errors (400)', async () => {
    const res = await postJson(emu.url, '/prompt', {
      prompt: {
        '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
      },
    });
    expect(res.status).toBe(400);
    expect(res.json()).toEqual({
      error: {
        type: 'prompt_no_outputs',
        message: 'Prompt has no outputs',
        details: '',
        extra_info: {},
      },
      node_errors: {},
    });
  });

  it('shows pending prompts in raw heap order and GET /prompt counts them', async () => {
    const queue = (await http(emu.url, 'GET', '/queue')).json() as {
      queue_running: unknown[][];
      queue_pending: unknown[][];
    };
    expect(queue.queue_running).toHaveLength(1);
    const numbers = queue.queue_pending.map((i) => i[0] as number);
    // heapq invariant: every parent is <= its children.
    for (let i = 1; i < numbers.length; i++) {
      expect(numbers[(i - 1) >> 1] as number).toBeLessThanOrEqual(numbers[i] as number);
    }
    const remaining = (await http(emu.url, 'GET', '/prompt')).json() as {
      exec_info: { queue_remaining: number };
    };
    expect(remaining.exec_info.queue_remaining).toBe(numbers.length + 1);
  });

  it('limits request bodies (413)', async () => {
    const small = await startEmulator({ port: 0, maxUploadSizeMb: 0.001 });
    try {
      const res = await http(small.url, 'POST', '/prompt', { body: 'x'.repeat(4000) });
      expect(res.status).toBe(413);
      expect(res.text).toMatch(/^Maximum request body size 1049 exceeded, actual body size \d+$/);
      const features = (await http(small.url, 'GET', '/features')).text;
      expect(features).toContain('"max_upload_size": 1049.0');
    } finally {
      await small.close();
    }
  });
});

describe('queue, interrupt, free and history routes', () => {
  let emu: RunningEmulator;
  beforeAll(async () => {
    emu = await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY, maxHistory: 3 });
  });
  afterAll(async () => {
    await emu.close();
  });

  async function runToHistory(color: number): Promise<string> {
    const res = await postJson(emu.url, '/prompt', { prompt: WORKFLOWS.emptySave(color) });
    const id = (res.json() as { prompt_id: string }).prompt_id;
    for (let i = 0; i < 200; i++) {
      const h = (await http(emu.url, 'GET', `/history/${id}`)).json() as Record<string, unknown>;
      if (h[id] !== undefined) return id;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error('prompt did not finish');
  }

  it('answers POST /queue, /interrupt, /free with 200 and an empty body', async () => {
    expectEmpty(await postJson(emu.url, '/queue', { clear: true }), 200);
    expectEmpty(await postJson(emu.url, '/queue', { delete: ['nope'] }), 200);
    expectEmpty(await http(emu.url, 'POST', '/interrupt', { body: '' }), 200);
    expectEmpty(await http(emu.url, 'POST', '/interrupt', { body: 'garbage' }), 200);
    expectEmpty(await postJson(emu.url, '/api/interrupt', {}), 200);
    expectEmpty(await postJson(emu.url, '/free', { free_memory: true }), 200);
    expect500(await http(emu.url, 'POST', '/interrupt', { body: '[1]' }));
    expect500(await http(emu.url, 'POST', '/queue', { body: 'nope' }));
    expect500(await http(emu.url, 'POST', '/free', { body: '' }));
  });

  it('serves history like ComfyUI: records, max_items, offset, unknown ids, int errors', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await runToHistory(100 + i));
    const one = (await http(emu.url, 'GET', '/history?max_items=1')).json() as Record<
      string,
      unknown
    >;
    expect(Object.keys(one)).toEqual([ids[2]]);
    const page = (await http(emu.url, 'GET', '/history?max_items=2&offset=1')).json() as Record<
      string,
      unknown
    >;
    expect(Object.keys(page)).toEqual([ids[1], ids[2]]);
    const record = (await http(emu.url, 'GET', `/history/${ids[0]}`)).json() as Record<
      string,
      Record<string, unknown>
    >;
    expect(Object.keys(record[ids[0] as string] ?? {})).toEqual([
      'prompt',
      'outputs',
      'status',
      'meta',
    ]);
    expect((await http(emu.url, 'GET', '/history/00000000-0000-0000-0000-000000000000')).text).toBe(
      '{}',
    );
    expect500(await http(emu.url, 'GET', '/history?max_items=abc'));
  });

  it('caps history like ComfyUI (drops the oldest once it holds more than the cap)', async () => {
    const before = Object.keys((await http(emu.url, 'GET', '/history')).json() as object);
    await runToHistory(200);
    await runToHistory(201);
    const after = Object.keys((await http(emu.url, 'GET', '/history')).json() as object);
    // Cap 3: ComfyUI pops one when it holds more than 3 before adding, so it settles at 4.
    expect(after).toHaveLength(4);
    expect(after).not.toContain(before[0]);
  });

  it('deletes and clears history with POST /history', async () => {
    const id = await runToHistory(300);
    expectEmpty(await postJson(emu.url, '/history', { delete: [id] }), 200);
    expect((await http(emu.url, 'GET', `/history/${id}`)).text).toBe('{}');
    expectEmpty(await postJson(emu.url, '/history', { clear: true }), 200);
    expect((await http(emu.url, 'GET', '/history')).text).toBe('{}');
    expect500(await http(emu.url, 'POST', '/history', { body: 'nope' }));
  });
});

describe('jobs API', () => {
  let emu: RunningEmulator;
  beforeAll(async () => {
    emu = await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY });
  });
  afterAll(async () => {
    await emu.close();
  });

  it('lists jobs with pagination and rejects bad parameters with 400 JSON', async () => {
    const res = await postJson(emu.url, '/prompt', { prompt: WORKFLOWS.emptySave(9) });
    const id = (res.json() as { prompt_id: string }).prompt_id;
    for (let i = 0; i < 200; i++) {
      const job = (await http(emu.url, 'GET', `/api/jobs/${id}`)).json() as { status?: string };
      if (job.status === 'completed') break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const list = (await http(emu.url, 'GET', '/api/jobs?limit=2')).json() as {
      jobs: Record<string, unknown>[];
      pagination: Record<string, unknown>;
    };
    expect(list.pagination).toEqual({ offset: 0, limit: 2, total: 1, has_more: false });
    expect(Object.keys(list.jobs[0] ?? {})).toEqual([
      'id',
      'status',
      'priority',
      'create_time',
      'execution_start_time',
      'execution_end_time',
      'outputs_count',
      'preview_output',
    ]);
    expect(list.jobs[0]?.preview_output).toMatchObject({
      nodeId: '2',
      mediaType: 'images',
      type: 'output',
    });
    const detail = (await http(emu.url, 'GET', `/api/jobs/${id}`)).json() as Record<
      string,
      unknown
    >;
    expect(Object.keys(detail)).toContain('workflow');
    const recorded = loadRecording('http_history.json').exchanges;
    const bogus = await http(emu.url, 'GET', '/api/jobs?status=bogus');
    expect(bogus.status).toBe(400);
    expect(bogus.json()).toEqual(
      recorded.find((e) => e.name === 'GET /api/jobs?status=bogus')?.response.body_json,
    );
    const unknown = await http(emu.url, 'GET', '/api/jobs/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.text).toBe('{"error": "Job not found"}');
    expect((await http(emu.url, 'GET', '/jobs')).status).toBe(404);
    expect((await http(emu.url, 'GET', '/api/jobs?limit=0')).status).toBe(400);
  });

  it('cancels pending jobs and rejects non-canonical ids in the batch route', async () => {
    const cancel = await postJson(emu.url, `/api/jobs/${crypto.randomUUID()}/cancel`, {});
    expect(cancel.json()).toEqual({ cancelled: false });
    const bad = await postJson(emu.url, '/api/jobs/cancel', { job_ids: ['x'] });
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ invalid_ids: ['x'] });
  });

  it('has no jobs API when emulating a server older than 0.4', async () => {
    const old = await startEmulator({ port: 0, version: '0.3.10' });
    try {
      expect((await http(old.url, 'GET', '/api/jobs')).status).toBe(404);
      const stats = (await http(old.url, 'GET', '/system_stats')).json() as {
        system: { comfyui_version: string };
      };
      expect(stats.system.comfyui_version).toBe('0.3.10');
    } finally {
      await old.close();
    }
  });
});
