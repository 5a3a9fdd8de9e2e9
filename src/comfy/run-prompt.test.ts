import { afterEach, describe, expect, it } from 'vitest';
import { ComfyClient } from './comfy-client.js';
import { ComfyEventStream } from './comfy-event-stream.js';
import { ComfyPromptLostError, ComfyTimeoutError, ComfyValidationError } from './errors.js';
import type { HistoryRecord, QueueItem } from './protocol.js';
import { runPrompt, waitForPrompt } from './run-prompt.js';
import type { WatchEvent } from './stream-events.js';
import { type FakeServer, sendEmpty, sendJson, startFakeServer } from './testing/fake-server.js';

const P1 = '11111111-1111-4111-8111-111111111111';
const PROMPT = {
  '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
  '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'x' } },
};

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** A scripted instance: POST /prompt "runs" the prompt at once and reports on the socket. */
interface Instance {
  server: FakeServer;
  history: Record<string, HistoryRecord>;
  running: QueueItem[];
  /** When false, accepted prompts stay running until finish() is called. */
  autoRun: boolean;
  finish(id: string): void;
}

async function startInstance(): Promise<Instance> {
  const server = await startFakeServer();
  cleanups.push(() => server.close());
  const instance: Instance = {
    server,
    history: {},
    running: [],
    autoRun: true,
    finish(id) {
      instance.running = instance.running.filter((item) => item[1] !== id);
      instance.history[id] = {
        prompt: [1, id, PROMPT, {}, ['2']],
        outputs: { '2': { images: [{ filename: 'x_00001_.png', subfolder: '', type: 'output' }] } },
        status: {
          status_str: 'success',
          completed: true,
          messages: [
            ['execution_start', { prompt_id: id, timestamp: 1 }],
            ['execution_success', { prompt_id: id, timestamp: 2 }],
          ],
        },
        meta: {},
      } as HistoryRecord;
    },
  };
  server.onWsConnection((conn) => {
    conn.socket.send(
      JSON.stringify({
        type: 'status',
        data: { status: { exec_info: { queue_remaining: 0 } }, sid: conn.clientId },
      }),
    );
  });
  server.route('GET /system_stats', (_req, res) =>
    sendJson(res, 200, { system: { comfyui_version: '0.3.0' }, devices: [] }),
  );
  server.route('GET /queue', (_req, res) =>
    sendJson(res, 200, { queue_running: instance.running, queue_pending: [] }),
  );
  server.route('POST /interrupt', (_req, res) => sendEmpty(res));
  server.route('POST /queue', (_req, res) => sendEmpty(res));
  server.fallback((req, res) => {
    const id = req.path.slice('/history/'.length);
    if (req.path.startsWith('/history/'))
      return sendJson(res, 200, instance.history[id] ? { [id]: instance.history[id] } : {});
    return sendEmpty(res, 404);
  });
  server.route('POST /prompt', (req, res) => {
    const body = JSON.parse(req.body.toString()) as {
      prompt_id: string;
      client_id: string;
      prompt: Record<string, unknown>;
    };
    if (!body.prompt['2']) {
      return sendJson(res, 400, {
        error: {
          type: 'prompt_no_outputs',
          message: 'Prompt has no outputs',
          details: '',
          extra_info: {},
        },
        node_errors: {},
      });
    }
    const id = body.prompt_id;
    instance.running.push([1, id, PROMPT, { client_id: body.client_id }, ['2']]);
    sendJson(res, 200, { prompt_id: id, number: 1, node_errors: {} });
    if (!instance.autoRun) return;
    const conn = server.ws.find((c) => c.clientId === body.client_id && c.closedAt === undefined);
    const emit = (type: string, data: unknown) => conn?.socket.send(JSON.stringify({ type, data }));
    emit('execution_start', { prompt_id: id, timestamp: 1 });
    emit('executing', { node: '2', display_node: '2', prompt_id: id });
    emit('executed', { node: '2', display_node: '2', output: { images: [] }, prompt_id: id });
    emit('execution_success', { prompt_id: id, timestamp: 2 });
    instance.finish(id);
    emit('executing', { node: null, prompt_id: id });
  });
  return instance;
}

function streamFor(instance: Instance): ComfyEventStream {
  const client = new ComfyClient({ baseUrl: instance.server.url });
  const stream = new ComfyEventStream({
    client,
    reconnect: { initialDelayMs: 20, maxDelayMs: 50 },
  });
  cleanups.push(() => client.close());
  cleanups.push(() => stream.close());
  return stream;
}

describe('runPrompt / waitForPrompt', () => {
  it('submits with the stream clientId, follows the events and returns the history record', async () => {
    const instance = await startInstance();
    const stream = streamFor(instance);
    await stream.whenConnected({ timeoutMs: 5_000 });
    const seen: WatchEvent[] = [];
    const result = await runPrompt(
      stream,
      { prompt: PROMPT, prompt_id: P1 },
      { onEvent: (e) => seen.push(e) },
    );
    expect(result).toMatchObject({
      promptId: P1,
      outcome: 'success',
      via: 'events',
      queued: { prompt_id: P1, partial: false },
    });
    expect(result.outputs).toEqual(instance.history[P1]?.outputs);
    expect(seen.map((e) => e.type)).toEqual([
      'execution_start',
      'executing',
      'executed',
      'execution_success',
      'executing',
    ]);
    const sent = JSON.parse(
      instance.server.requests.find((r) => r.path === '/prompt')!.body.toString(),
    );
    expect(sent.client_id).toBe(stream.clientId);
    expect(stream.watchCount).toBe(0);
  });

  it('throws the validation error and leaves no watch behind', async () => {
    const instance = await startInstance();
    const stream = streamFor(instance);
    const error = await runPrompt(stream, { prompt: { '1': PROMPT['1'] } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ComfyValidationError);
    expect((error as ComfyValidationError).response.error.type).toBe('prompt_no_outputs');
    expect(stream.watchCount).toBe(0);
  });

  it('polls the instance while the socket cannot connect', async () => {
    const instance = await startInstance();
    instance.server.refuseUpgrades(503);
    instance.autoRun = false;
    const stream = streamFor(instance);
    const done = runPrompt(stream, { prompt: PROMPT, prompt_id: P1 }, { pollIntervalMs: 20 });
    // Let a few polls see it running, then finish it behind the client's back.
    for (
      let i = 0;
      i < 400 && instance.server.requests.filter((r) => r.path === '/queue').length < 2;
      i++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    instance.finish(P1);
    const result = await done;
    expect(result).toMatchObject({
      outcome: 'success',
      via: 'reconcile',
      history: instance.history[P1],
    });
    expect(stream.connected).toBe(false);
  });

  it('re-attaches to a prompt that already finished', async () => {
    const instance = await startInstance();
    instance.finish(P1);
    const stream = streamFor(instance);
    const result = await waitForPrompt(stream, P1, { safetyPollMs: 0 });
    expect(result).toMatchObject({ promptId: P1, outcome: 'success', via: 'reconcile' });
  });

  it('throws ComfyPromptLostError for a prompt the instance does not know', async () => {
    const instance = await startInstance();
    const stream = streamFor(instance);
    await expect(waitForPrompt(stream, P1)).rejects.toBeInstanceOf(ComfyPromptLostError);
  });

  it('times out and cancels the prompt on the instance when asked', async () => {
    const instance = await startInstance();
    instance.autoRun = false;
    const stream = streamFor(instance);
    await stream.whenConnected({ timeoutMs: 5_000 });
    const error = await runPrompt(
      stream,
      { prompt: PROMPT, prompt_id: P1 },
      { timeoutMs: 100, cancelOnAbort: true },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ComfyTimeoutError);
    expect(error).toMatchObject({ phase: 'prompt', timeoutMs: 100 });
    const interrupt = instance.server.requests.find((r) => r.path === '/interrupt');
    expect(JSON.parse(interrupt?.body.toString() ?? '{}')).toEqual({ prompt_id: P1 });
    expect(stream.watchCount).toBe(0);
  });

  it('stops when the caller aborts', async () => {
    const instance = await startInstance();
    instance.autoRun = false;
    const stream = streamFor(instance);
    const controller = new AbortController();
    const done = runPrompt(
      stream,
      { prompt: PROMPT, prompt_id: P1 },
      { signal: controller.signal },
    );
    for (let i = 0; i < 400 && instance.running.length === 0; i++)
      await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    await expect(done).rejects.toMatchObject({ code: 'ABORTED' });
    expect(instance.server.requests.some((r) => r.path === '/interrupt')).toBe(false);
  });
});
