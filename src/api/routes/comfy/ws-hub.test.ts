/**
 * The hub with real sockets (a `ws` server on 127.0.0.1) and an instance stream that sends what
 * the emulator cannot: binary type 3 (progress text, from API nodes).
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { ComfyEvent } from '../../../comfy/index.js';
import type { Job } from '../../../jobs/index.js';
import type { JobEvents } from '../../../scheduler/dispatch/index.js';
import { InProcessEventBus } from '../../../store/index.js';
import { ComfyWsHub, encodeTextFrame, type InstanceEventSource } from './ws-hub.js';

const JOB_ID = '11111111-2222-4333-8444-555555555555';

function job(over: Partial<Job> = {}): Job {
  return {
    id: JOB_ID,
    status: 'processing',
    phase: 'running',
    cancel_requested: false,
    priority: 0,
    seq: 1,
    owner: null,
    pin: null,
    tags: [],
    workflow: {},
    template: null,
    idempotency_key: null,
    metadata: {
      comfy: { client_id: 'c1', number: 0, extra_data: {}, outputs_to_execute: [] },
    },
    webhook_url: null,
    timeout_ms: 300_000,
    max_attempts: 3,
    attempts: 1,
    excluded_instances: [],
    instance_id: 'i1',
    progress: null,
    error: null,
    retry_of: null,
    created_at: 1000,
    queued_at: 1000,
    started_at: 2000,
    completed_at: null,
    processing_time_ms: null,
    updated_at: 2000,
    ...over,
  } as Job;
}

/** An instance's event stream we drive by hand. */
class Stream implements InstanceEventSource {
  readonly listeners = new Set<(e: ComfyEvent) => void>();
  on(_event: 'message', listener: (e: ComfyEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(e: ComfyEvent): void {
    for (const l of this.listeners) l(e);
  }
}

interface Peer {
  ws: WebSocket;
  text: unknown[];
  binary: Buffer[];
}

let server: WebSocketServer;
let hub: ComfyWsHub;
let url: string;
const bus = new InProcessEventBus<JobEvents>();
const stream = new Stream();
const peers: Peer[] = [];
/** How long the queue count takes (a slow store). */
let countDelayMs = 0;

async function connect(clientId: string, flags: boolean): Promise<Peer> {
  const ws = new WebSocket(`${url}/ws?clientId=${clientId}`);
  const peer: Peer = { ws, text: [], binary: [] };
  ws.on('message', (data, isBinary) => {
    if (isBinary) peer.binary.push(Buffer.from(data as Buffer));
    else peer.text.push(JSON.parse(String(data)));
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  peers.push(peer);
  for (let i = 0; i < 500 && peer.text.length === 0; i++)
    await new Promise((r) => setTimeout(r, 5));
  if (flags) {
    ws.send(JSON.stringify({ type: 'feature_flags', data: { supports_preview_metadata: true } }));
    for (let i = 0; i < 500 && peer.text.length < 2; i++)
      await new Promise((r) => setTimeout(r, 5));
  }
  return peer;
}

beforeAll(async () => {
  hub = new ComfyWsHub({
    bus,
    queueRemaining: async () => {
      await new Promise((r) => setTimeout(r, countDelayMs));
      return 0;
    },
    instanceEvents: () => stream,
  });
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  server.on('connection', (socket, request) => {
    const clientId = new URL(request.url ?? '/', 'http://x').searchParams.get('clientId');
    void hub.attach(socket, { clientId, keyId: null });
  });
  await new Promise((r) => server.once('listening', r));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const p of peers) p.ws.close();
  hub.close();
  await new Promise((r) => server.close(r));
});

describe('ComfyWsHub: progress text (binary type 3)', () => {
  it("goes to the prompt's client sockets that negotiated feature flags, framed as ComfyUI", async () => {
    const modern = await connect('c1', true);
    const legacy = await connect('c1', false);
    const other = await connect('c2', true);
    bus.publish('job.status', { job: job() });
    await hub.drained();
    stream.emit({
      type: 'binary',
      frame: { kind: 'text', node_id: '5', text: 'Uploading… 40%' },
      promptId: JOB_ID,
    });
    await hub.drained();
    for (let i = 0; i < 500 && modern.binary.length === 0; i++)
      await new Promise((r) => setTimeout(r, 5));
    expect(modern.binary).toHaveLength(1);
    const frame = modern.binary[0] as Buffer;
    expect(frame.readUInt32BE(0)).toBe(3);
    const n = frame.readUInt32BE(4);
    expect(frame.subarray(8, 8 + n).toString('utf8')).toBe('5');
    expect(frame.subarray(8 + n).toString('utf8')).toBe('Uploading… 40%');
    expect(frame.equals(encodeTextFrame('5', 'Uploading… 40%'))).toBe(true);
    // The same moment, an execution message reached all of c1's sockets: so the legacy socket
    // was listening, and only the text frame was held back from it.
    expect(legacy.text.some((m) => (m as { type: string }).type === 'execution_start')).toBe(true);
    expect(legacy.binary).toEqual([]);
    expect(other.binary).toEqual([]);
  });
});

describe('ComfyWsHub: ExecutionBlocked', () => {
  it("forwards a blocked node's execution_error at once (the prompt goes on)", async () => {
    const peer = await connect('c-blocked', false);
    const id = '22222222-2222-4333-8444-555555555555';
    bus.publish('job.status', {
      job: job({
        id,
        metadata: {
          comfy: { client_id: 'c-blocked', number: 0, extra_data: {}, outputs_to_execute: [] },
        },
      }),
    });
    await hub.drained();
    stream.emit({
      type: 'execution_error',
      data: {
        prompt_id: id,
        node_id: '4',
        node_type: 'SomeGate',
        executed: [],
        exception_message: 'blocked',
        exception_type: 'ExecutionBlocked',
        traceback: [],
        current_inputs: {},
        current_outputs: [],
        timestamp: 1,
      },
      promptId: id,
    } as ComfyEvent);
    await hub.drained();
    for (let i = 0; i < 500; i++) {
      if (peer.text.some((m) => (m as { type: string }).type === 'execution_error')) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const err = peer.text.find((m) => (m as { type: string }).type === 'execution_error') as
      | { data: Record<string, unknown> }
      | undefined;
    expect(err?.data).toMatchObject({ prompt_id: id, exception_type: 'ExecutionBlocked' });
  });
});

describe('ComfyWsHub: the greeting', () => {
  it('sends status with the sid first, even when the client sends feature_flags at once and the count is slow', async () => {
    countDelayMs = 150;
    try {
      const ws = new WebSocket(`${url}/ws?clientId=early`);
      const texts: Array<{ type: string; data: Record<string, unknown> }> = [];
      ws.on('message', (data, isBinary) => {
        if (!isBinary) texts.push(JSON.parse(String(data)));
      });
      peers.push({ ws, text: texts, binary: [] });
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      ws.send(JSON.stringify({ type: 'feature_flags', data: { supports_preview_metadata: true } }));
      for (let i = 0; i < 500 && texts.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
      expect(texts.map((m) => m.type)).toEqual(['status', 'feature_flags']);
      expect(texts[0]?.data.sid).toBe('early');
    } finally {
      countDelayMs = 0;
    }
  });
});

describe('ComfyWsHub: queue counts', () => {
  it('takes no queue count while no socket is open; an open socket gets status on every job change', async () => {
    const ownBus = new InProcessEventBus<JobEvents>();
    let counts = 0;
    const own = new ComfyWsHub({
      bus: ownBus,
      queueRemaining: async () => {
        counts++;
        return 3;
      },
      instanceEvents: () => stream,
    });
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    wss.on('connection', (socket) => void own.attach(socket, { clientId: 'q1', keyId: null }));
    await new Promise((r) => wss.once('listening', r));
    let ws: WebSocket | undefined;
    try {
      const native = job({ id: '21111111-2222-4333-8444-555555555555', metadata: {} });
      ownBus.publish('job.created', { job: { ...native, status: 'pending', phase: null } });
      await own.drained();
      expect(counts).toBe(0);

      ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`);

      const texts: Array<{ type: string; data: { status?: { exec_info?: unknown } } }> = [];
      ws.on('message', (data, isBinary) => {
        if (!isBinary) texts.push(JSON.parse(String(data)));
      });
      for (let i = 0; i < 500 && texts.length < 1; i++) await new Promise((r) => setTimeout(r, 5));
      expect(texts.map((m) => m.type)).toEqual(['status']);
      ownBus.publish('job.created', {
        job: { ...native, id: '31111111-2222-4333-8444-555555555555', status: 'pending' },
      });
      await own.drained();
      for (let i = 0; i < 500 && texts.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
      expect(texts[1]?.data.status?.exec_info).toEqual({ queue_remaining: 3 });
      expect(counts).toBe(2);
    } finally {
      ws?.close();
      own.close();
      await new Promise((r) => wss.close(r));
    }
  });
});
