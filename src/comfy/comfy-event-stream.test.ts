import { afterEach, describe, expect, it } from 'vitest';
import { encodePreviewFrame, encodePreviewWithMetadataFrame } from './binary-frames.js';
import { ComfyClient } from './comfy-client.js';
import { ComfyEventStream, type ComfyEventStreamOptions } from './comfy-event-stream.js';
import type { HistoryRecord } from './protocol.js';
import type {
  ComfyEvent,
  ConnectionStateChange,
  ReconciledEvent,
  WatchEvent,
} from './stream-events.js';
import {
  type FakeServer,
  sendJson,
  startFakeServer,
  until,
  type WsConnection,
} from './testing/fake-server.js';
import { loadRecording } from './testing/recordings.js';

const P1 = '11111111-1111-4111-8111-111111111111';
const P2 = '22222222-2222-4222-8222-222222222222';
const P3 = '33333333-3333-4333-8333-333333333333';
const P4 = '44444444-4444-4444-8444-444444444444';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

interface Setup {
  server: FakeServer;
  client: ComfyClient;
  stream: ComfyEventStream;
  states: ConnectionStateChange[];
}

/** A fake instance whose sockets get ComfyUI's connect message (and flags reply, if asked). */
async function setup(
  options: Partial<ComfyEventStreamOptions> & {
    answerFlags?: boolean;
    autoPong?: boolean;
    auth?: { bearer: string };
  } = {},
): Promise<Setup> {
  const { answerFlags = true, autoPong = true, auth, ...streamOptions } = options;
  const server = await startFakeServer({ autoPong });
  cleanups.push(() => server.close());
  server.onWsConnection((conn) => {
    conn.socket.send(
      JSON.stringify({
        type: 'status',
        data: { status: { exec_info: { queue_remaining: 0 } }, sid: conn.clientId },
      }),
    );
    if (answerFlags) {
      conn.socket.once('message', () => {
        conn.socket.send(
          JSON.stringify({ type: 'feature_flags', data: { supports_preview_metadata: true } }),
        );
      });
    }
  });
  const client = new ComfyClient(auth ? { baseUrl: server.url, auth } : { baseUrl: server.url });
  cleanups.push(() => client.close());
  const stream = new ComfyEventStream({
    client,
    reconnect: { initialDelayMs: 20, maxDelayMs: 80 },
    ...streamOptions,
  });
  cleanups.push(() => stream.close());
  const states: ConnectionStateChange[] = [];
  stream.on('state', (change) => states.push(change));
  return { server, client, stream, states };
}

function send(conn: WsConnection | undefined, type: string, data: unknown): void {
  conn?.socket.send(JSON.stringify({ type, data }));
}

function openConnection(server: FakeServer): WsConnection | undefined {
  return server.ws.find((c) => c.closedAt === undefined);
}

async function collect(iterable: AsyncIterable<WatchEvent>): Promise<WatchEvent[]> {
  const events: WatchEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

function historyRecord(id: string, outcome: 'success' | 'error'): HistoryRecord {
  const last =
    outcome === 'success'
      ? ['execution_success', { prompt_id: id, timestamp: 2 }]
      : [
          'execution_error',
          {
            prompt_id: id,
            node_id: '2',
            node_type: 'X',
            exception_type: 'ValueError',
            exception_message: 'bad',
            executed: [],
            traceback: [],
            current_inputs: {},
            current_outputs: [],
            timestamp: 2,
          },
        ];
  return {
    prompt: [1, id, {}, {}, ['2']],
    outputs:
      outcome === 'success'
        ? { '2': { images: [{ filename: 'a.png', subfolder: '', type: 'output' }] } }
        : {},
    status: {
      status_str: outcome,
      completed: outcome === 'success',
      messages: [['execution_start', { prompt_id: id, timestamp: 1 }], last],
    },
    meta: {},
  } as HistoryRecord;
}

describe('ComfyEventStream: connection', () => {
  it('opens /ws?clientId=<id> with auth, sends feature_flags first and records the reply', async () => {
    const { server, stream } = await setup({ clientId: 'gw-node-1', auth: { bearer: 'tok' } });
    const statuses: number[] = [];
    stream.on('status', (s) => statuses.push(s.queueRemaining));
    await stream.whenConnected({ timeoutMs: 5_000 });
    expect(server.ws).toHaveLength(1);
    const conn = server.ws[0]!;
    expect(conn.clientId).toBe('gw-node-1');
    expect(conn.headers.authorization).toBe('Bearer tok');
    await until(() => stream.serverFeatureFlags !== undefined, 5_000, 'feature flags reply');
    expect(conn.received[0]).toEqual({
      type: 'feature_flags',
      data: { supports_preview_metadata: true },
    });
    expect(stream.serverFeatureFlags).toEqual({ supports_preview_metadata: true });
    expect(statuses).toEqual([0]);
    expect(stream.state).toBe('connected');
  });

  it('replaces a socket whose server stops answering pings, closing the old one first', async () => {
    const { server, stream, states } = await setup({
      autoPong: false,
      pingIntervalMs: 40,
      pongTimeoutMs: 80,
      answerFlags: false,
    });
    stream.start();
    await until(() => server.ws.length >= 2 && stream.connected, 5_000, 'a second connection');
    const reconnecting = states.find((s) => s.state === 'reconnecting');
    expect(reconnecting?.reason).toMatch(/no pong within 80 ms/);
    expect(reconnecting?.error).toMatchObject({ code: 'INSTANCE_TIMEOUT' });
    const [first, second] = server.ws;
    await until(() => first?.closedAt !== undefined, 5_000, 'old socket closed');
    expect(first!.closedAt!).toBeLessThanOrEqual(second!.openedAt);
    expect(second?.clientId).toBe(stream.clientId);
    // Never two sockets open at once with our clientId.
    for (let i = 1; i < server.ws.length; i++) {
      const previous = server.ws[i - 1]!;
      expect(previous.closedAt ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(
        server.ws[i]!.openedAt,
      );
    }
  });

  it('keeps a quiet but healthy socket: silence with pongs is fine', async () => {
    const { server, stream, states } = await setup({ pingIntervalMs: 20, pongTimeoutMs: 40 });
    await stream.whenConnected({ timeoutMs: 5_000 });
    // Several ping rounds without any message from the server.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.ws).toHaveLength(1);
    expect(states.filter((s) => s.state === 'reconnecting')).toHaveLength(0);
  });

  it('backs off on refused upgrades, gives up after maxAttempts, and reconnectNow() resumes', async () => {
    const { server, stream, states } = await setup({
      reconnect: { initialDelayMs: 5, maxDelayMs: 10, maxAttempts: 3 },
    });
    server.refuseUpgrades(503);
    stream.start();
    await until(() => stream.state === 'disconnected', 5_000, 'giving up');
    const sequence = states.map((s) => s.state);
    expect(sequence).toEqual([
      'connecting',
      'reconnecting',
      'connecting',
      'reconnecting',
      'connecting',
      'reconnecting',
      'connecting',
      'disconnected',
    ]);
    expect(states.filter((s) => s.state === 'reconnecting').map((s) => s.attempt)).toEqual([
      1, 2, 3,
    ]);
    expect(states.at(-1)?.reason).toMatch(/gave up after 3 attempts.*HTTP 503/);
    server.refuseUpgrades(undefined);
    stream.reconnectNow();
    await stream.whenConnected({ timeoutMs: 5_000 });
    expect(stream.state).toBe('connected');
  });

  it('reconnects with the same clientId after the server drops the socket', async () => {
    const { server, stream, states } = await setup();
    await stream.whenConnected({ timeoutMs: 5_000 });
    server.dropWebSockets();
    await until(() => server.ws.length === 2 && stream.connected, 5_000, 'reconnect');
    expect(server.ws.map((c) => c.clientId)).toEqual([stream.clientId, stream.clientId]);
    const change = states.find((s) => s.state === 'reconnecting');
    expect(change?.reason).toMatch(/closed by the server/);
    expect(states.at(-1)).toMatchObject({ state: 'connected', reason: 'reconnected', attempt: 0 });
  });

  it('survives many drop/reconnect cycles without overlapping sockets', async () => {
    const { server, stream } = await setup({ reconnect: { initialDelayMs: 1, maxDelayMs: 2 } });
    await stream.whenConnected({ timeoutMs: 5_000 });
    for (let cycle = 1; cycle <= 30; cycle++) {
      server.dropWebSockets();
      await until(
        () => server.ws.length === cycle + 1 && stream.connected,
        5_000,
        `reconnect ${cycle}`,
      );
    }
    await stream.close();
    await until(() => server.ws.every((c) => c.closedAt !== undefined), 5_000, 'all closed');
    const ordered = [...server.ws].sort((a, b) => a.openedAt - b.openedAt);
    for (let i = 1; i < ordered.length; i++) {
      expect(ordered[i - 1]!.closedAt!).toBeLessThanOrEqual(ordered[i]!.openedAt);
    }
    expect(stream.watchCount).toBe(0);
  });

  it('close() is final and idempotent: ends watches, closes the socket, stops reconnecting', async () => {
    const { server, stream, states } = await setup();
    await stream.whenConnected({ timeoutMs: 5_000 });
    const watch = stream.watch(P1);
    const first = stream.close();
    expect(stream.close()).toBe(first);
    await first;
    expect(await watch.result).toEqual({ status: 'stopped', promptId: P1, reason: 'closed' });
    expect(stream.state).toBe('closed');
    expect(states.at(-1)?.state).toBe('closed');
    await until(() => server.ws[0]?.closedAt !== undefined, 5_000, 'server sees the close');
    expect(() => stream.start()).toThrow(/closed/);
    expect(stream.watchCount).toBe(0);
    await expect(stream.whenConnected()).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.ws).toHaveLength(1);
  });
});

describe('ComfyEventStream: events', () => {
  it("delivers a recorded prompt's events in order to its watch, which ends after executing null", async () => {
    const { server, stream } = await setup({ answerFlags: false });
    await stream.whenConnected({ timeoutMs: 5_000 });
    const recording = loadRecording('ws_success_cached_partial.json');
    const recorded = (recording.ws?.[0]?.messages ?? [])
      .filter((m) => m.kind === 'text' && m.dir === 'server->client')
      .map((m) => m.json as { type: string; data: Record<string, unknown> });
    const firstPrompt = recorded.find((m) => m.type === 'execution_start')?.data
      .prompt_id as string;
    const end = recorded.findIndex(
      (m) => m.type === 'executing' && m.data.node === null && m.data.prompt_id === firstPrompt,
    );
    const slice = recorded.slice(1, end + 1);
    const otherPrompt = recorded.find(
      (m) => m.type === 'execution_start' && m.data.prompt_id !== firstPrompt,
    )?.data.prompt_id as string;

    const watch = stream.watch(firstPrompt);
    const other = stream.watch(otherPrompt);
    const all: ComfyEvent[] = [];
    stream.on('message', (event) => all.push(event));
    for (const message of slice) send(server.ws[0], message.type, message.data);
    const events = await collect(watch);
    const expected = slice.filter((m) => m.data.prompt_id === firstPrompt);
    expect(events.map((e) => ('data' in e ? { type: e.type, data: e.data } : e))).toEqual(expected);
    expect(await watch.result).toEqual({
      status: 'finished',
      promptId: firstPrompt,
      outcome: 'success',
      via: 'events',
    });
    expect(all.filter((e) => e.type === 'status')).toHaveLength(
      slice.filter((m) => m.type === 'status').length,
    );
    expect(other.ended).toBe(false);
    expect(stream.watchCount).toBe(1);
    expect(stream.runningPromptId).toBeUndefined();
  });

  it('attributes binary previews, progress text and the reconnect executing message to the running prompt', async () => {
    const { server, stream } = await setup();
    await stream.whenConnected({ timeoutMs: 5_000 });
    const watch = stream.watch(P1);
    const other = stream.watch(P2);
    const conn = server.ws[0]!;
    const png = Buffer.from('89504e470d0a1a0a01020304', 'hex');
    const text = Buffer.concat([Buffer.alloc(8), Buffer.from('7'), Buffer.from('step 1/2')]);
    text.writeUInt32BE(3, 0);
    text.writeUInt32BE(1, 4);
    send(conn, 'execution_start', { prompt_id: P1, timestamp: 1 });
    conn.socket.send(encodePreviewFrame(png, 'image/png'));
    conn.socket.send(text);
    send(conn, 'executing', { node: '7' });
    conn.socket.send(
      encodePreviewWithMetadataFrame(png, {
        node_id: '3',
        prompt_id: P2,
        display_node_id: '3',
        parent_node_id: null,
        real_node_id: '3',
        image_type: 'image/png',
      }),
    );
    send(conn, 'my_custom_node.hello', { prompt_id: P1, x: 1 });
    send(conn, 'execution_error', {
      prompt_id: P1,
      node_id: '7',
      node_type: 'X',
      executed: [],
      exception_message: 'boom',
      exception_type: 'RuntimeError',
      traceback: [],
      current_inputs: {},
      current_outputs: [],
      timestamp: 2,
    });
    send(conn, 'executing', { node: null, prompt_id: P1 });
    const events = await collect(watch);
    expect(events.map((e) => e.type)).toEqual([
      'execution_start',
      'binary',
      'binary',
      'executing',
      'my_custom_node.hello',
      'execution_error',
      'executing',
    ]);
    const [, preview, progressText, , custom] = events;
    expect(preview).toMatchObject({
      type: 'binary',
      promptId: P1,
      frame: { kind: 'preview', mime: 'image/png' },
    });
    expect(progressText).toMatchObject({ frame: { kind: 'text', node_id: '7', text: 'step 1/2' } });
    expect(custom).toMatchObject({ unknown: true, data: { x: 1 } });
    expect(await watch.result).toMatchObject({
      status: 'finished',
      outcome: 'error',
      error: { exception_message: 'boom' },
    });
    other.close();
    const otherEvents = await collect(other);
    expect(otherEvents).toEqual([]);
    expect(await other.result).toEqual({ status: 'stopped', promptId: P2, reason: 'stopped' });
  });

  it('keeps a watch bounded for a reader that does not keep up, keeping the end', async () => {
    const { server, stream } = await setup({ watchBufferSize: 10 });
    await stream.whenConnected({ timeoutMs: 5_000 });
    const watch = stream.watch(P1);
    const conn = server.ws[0]!;
    send(conn, 'execution_start', { prompt_id: P1, timestamp: 1 });
    for (let i = 0; i < 100; i++)
      send(conn, 'progress', { value: i, max: 100, prompt_id: P1, node: '3' });
    send(conn, 'execution_success', { prompt_id: P1, timestamp: 2 });
    send(conn, 'executing', { node: null, prompt_id: P1 });
    await watch.result;
    const events = await collect(watch);
    expect(events.length).toBe(10);
    expect(watch.droppedEvents).toBe(93);
    expect(events.map((e) => e.type).slice(0, 1)).toEqual(['execution_start']);
    expect(events.map((e) => e.type).slice(-2)).toEqual(['execution_success', 'executing']);
  });

  it('leaks no watches or listeners over many prompts, and ignores garbage frames', async () => {
    const { server, stream } = await setup();
    await stream.whenConnected({ timeoutMs: 5_000 });
    const warnings: string[] = [];
    const offWarning = stream.on('warning', (w) => warnings.push(w.message));
    const conn = server.ws[0]!;
    conn.socket.send('this is not json');
    conn.socket.send(Buffer.from([0, 0]));
    const results = [];
    for (let i = 0; i < 200; i++) {
      const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      const watch = stream.watch(id);
      const off = stream.on('message', () => undefined);
      send(conn, 'execution_start', { prompt_id: id, timestamp: 1 });
      send(conn, 'execution_success', { prompt_id: id, timestamp: 2 });
      send(conn, 'executing', { node: null, prompt_id: id });
      results.push(await watch.result);
      off();
    }
    expect(results.every((r) => r.status === 'finished' && r.outcome === 'success')).toBe(true);
    expect(stream.watchCount).toBe(0);
    expect(warnings).toEqual([expect.stringMatching(/not JSON/)]);
    offWarning();
  });

  it('stops a watch when its AbortSignal fires', async () => {
    const { stream } = await setup();
    const controller = new AbortController();
    const watch = stream.watch(P1, { signal: controller.signal });
    controller.abort();
    expect(await watch.result).toEqual({ status: 'stopped', promptId: P1, reason: 'aborted' });
    expect(stream.watchCount).toBe(0);
  });
});

describe('ComfyEventStream: reconciliation after a reconnect', () => {
  it.each([
    ['with the jobs API', '0.8.0'],
    ['with /queue and /history only', '0.3.10'],
  ])('reports finished, pending, running and lost prompts %s', async (_label, version) => {
    const { server, stream } = await setup();
    const jobs = version === '0.8.0';
    const history: Record<string, HistoryRecord> = {};
    const pending = [[2, P2, {}, {}, []]];
    const running = [[1, P4, {}, {}, []]];
    server.route('GET /system_stats', (_req, res) =>
      sendJson(res, 200, { system: { comfyui_version: version }, devices: [] }),
    );
    server.route('GET /queue', (_req, res) =>
      sendJson(res, 200, { queue_running: running, queue_pending: pending }),
    );
    server.fallback((req, res) => {
      const id = req.path.split('/').pop() ?? '';
      if (req.path.startsWith('/history/'))
        return sendJson(res, 200, history[id] ? { [id]: history[id] } : {});
      if (jobs && req.path.startsWith('/api/jobs/')) {
        if (history[id]) return sendJson(res, 200, { id, status: 'completed', priority: 1 });
        if (id === P2) return sendJson(res, 200, { id, status: 'pending', priority: 2 });
        if (id === P4) return sendJson(res, 200, { id, status: 'in_progress', priority: 1 });
        return sendJson(res, 404, { error: 'Job not found' });
      }
      return sendJson(res, 404, {});
    });
    await stream.whenConnected({ timeoutMs: 5_000 });
    const finished = stream.watch(P1);
    const stillPending = stream.watch(P2);
    const lost = stream.watch(P3);
    const stillRunning = stream.watch(P4);
    const notYetSubmitted = stream.watch('55555555-5555-4555-8555-555555555555', {
      submitted: false,
    });
    const reports: ReconciledEvent[] = [];
    stream.on('reconciled', (event) => reports.push(event));
    send(server.ws[0], 'execution_start', { prompt_id: P1, timestamp: 1 });

    // The socket drops; P1 finishes while nobody listens; P3 vanishes (instance restarted).
    server.dropWebSockets();
    history[P1] = historyRecord(P1, 'success');
    await until(() => reports.length >= 4, 5_000, 'four reconciliation reports');

    expect(await finished.result).toEqual({
      status: 'finished',
      promptId: P1,
      outcome: 'success',
      history: history[P1],
      via: 'reconcile',
    });
    expect(await lost.result).toEqual({ status: 'lost', promptId: P3 });
    expect(stillPending.ended).toBe(false);
    expect(stillRunning.ended).toBe(false);
    expect(notYetSubmitted.ended).toBe(false);
    expect(stream.runningPromptId).toBe(P4);
    const byId = Object.fromEntries(reports.map((r) => [r.promptId, r.state.state]));
    expect(byId).toMatchObject({
      [P1]: 'finished',
      [P2]: 'pending',
      [P3]: 'unknown',
      [P4]: 'running',
    });
    // The finished watch saw the reconciliation as its last event.
    const events = await collect(finished);
    expect(events.at(-1)).toMatchObject({
      type: 'reconciled',
      state: { state: 'finished', outcome: 'success' },
    });
    // Work continues on the new socket: the running prompt's events still reach its watch.
    send(openConnection(server), 'executing', { node: null, prompt_id: P4 });
    expect(await stillRunning.result).toMatchObject({ status: 'finished', via: 'events' });
    stillPending.close();
    notYetSubmitted.close();
    expect(stream.watchCount).toBe(0);
  });

  it('retries reconciliation while the HTTP side still fails', async () => {
    const { server, stream } = await setup({ reconnect: { initialDelayMs: 10, maxDelayMs: 20 } });
    const warnings: string[] = [];
    stream.on('warning', (w) => warnings.push(w.message));
    let failing = true;
    server.route('GET /system_stats', (_req, res) =>
      sendJson(res, 200, { system: { comfyui_version: '0.3.0' }, devices: [] }),
    );
    server.route('GET /queue', (_req, res) =>
      failing
        ? sendJson(res, 503, {})
        : sendJson(res, 200, { queue_running: [], queue_pending: [] }),
    );
    server.route(`GET /history/${P1}`, (_req, res) =>
      sendJson(res, 200, { [P1]: historyRecord(P1, 'error') }),
    );
    await stream.whenConnected({ timeoutMs: 5_000 });
    const watch = stream.watch(P1);
    server.dropWebSockets();
    await until(() => warnings.length >= 2, 5_000, 'failed reconciliations');
    expect(watch.ended).toBe(false);
    failing = false;
    expect(await watch.result).toMatchObject({
      status: 'finished',
      outcome: 'error',
      via: 'reconcile',
    });
  });
});
