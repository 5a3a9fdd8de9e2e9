/**
 * /api/v1/events (SSE) and /api/v1/events/ws over a real listening socket.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { InstanceView } from '../../../fleet/index.js';
import { type Harness, type HarnessOptions, harness, until } from '../../testing/harness.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function listening(options: HarnessOptions = {}): Promise<{ h: Harness; base: string }> {
  const h = await harness(options);
  cleanups.push(() => h.close());
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  const address = h.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { h, base: `http://127.0.0.1:${port}` };
}

interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
}

/** An open SSE response: parsed events and comment lines as they arrive. */
interface SseStream {
  status: number;
  headers: IncomingMessage['headers'];
  events: SseEvent[];
  comments: string[];
  body: string;
  ended: boolean;
  close(): void;
}

function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { headers: { accept: 'text/event-stream', ...headers } },
      (res) => {
        const stream: SseStream = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          events: [],
          comments: [],
          body: '',
          ended: false,
          close: () => req.destroy(),
        };
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          stream.body += chunk;
          buffer += chunk;
          let end = buffer.indexOf('\n\n');
          while (end >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event: SseEvent = {};
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) stream.comments.push(line.slice(1).trim());
              else {
                const i = line.indexOf(':');
                const field = line.slice(0, i);
                const value = line.slice(i + 1).trimStart();
                if (field === 'id' || field === 'event' || field === 'data') event[field] = value;
              }
            }
            if (event.event !== undefined) stream.events.push(event);
            end = buffer.indexOf('\n\n');
          }
        });
        res.on('end', () => {
          stream.ended = true;
        });
        res.on('error', () => {
          stream.ended = true;
        });
        resolve(stream);
      },
    );
    req.on('error', reject);
    req.end();
    cleanups.push(() => void req.destroy());
  });
}

describe('SSE /api/v1/events', () => {
  it('streams an instance event after a change, with ids and the event type', async () => {
    const { h, base } = await listening();
    const id = h.ids[0] ?? '';
    await until(() => h.monitor.health(id).health === 'healthy', 5_000, 'healthy');
    const sse = await openSse(`${base}/api/v1/events`);
    expect(sse.status).toBe(200);
    expect(sse.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(sse.headers['x-request-id']).toBeDefined();
    await until(() => sse.body.includes(': connected'), 2_000, 'connected comment');
    await h.registry.pause(id);
    await until(() => sse.events.some((e) => e.event === 'instance.status'), 3_000, 'status event');
    const event = sse.events.find((e) => e.event === 'instance.status');
    const data = JSON.parse(event?.data ?? '{}') as {
      id: number;
      type: string;
      time: string;
      data: { id: string; status: string; previous: string };
    };
    expect(data).toMatchObject({
      type: 'instance.status',
      data: { id, status: 'paused', previous: 'running' },
    });
    expect(Number(event?.id)).toBe(data.id);
    expect(Number.isNaN(Date.parse(data.time))).toBe(false);

    // Ids increase with every event.
    await h.registry.resume(id);
    await until(
      () => sse.events.filter((e) => e.event === 'instance.status').length >= 2,
      3_000,
      'second',
    );
    const ids = sse.events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('filters by type and sends heartbeats', async () => {
    const { h, base } = await listening({ app: { events: { heartbeatMs: 50 } } });
    const id = h.ids[0] ?? '';
    const sse = await openSse(`${base}/api/v1/events?types=instance.active,alert.*`);
    await until(() => sse.body.includes(': connected'), 2_000, 'connected');
    await h.registry.create({ name: 'second', host: '127.0.0.1', port: 1, enabled: false });
    await h.registry.stop(id);
    await h.registry.setActive('second');
    await until(() => sse.events.length > 0, 3_000, 'an event');
    expect(sse.events[0]?.event).toBe('instance.active');
    expect(sse.events.every((e) => e.event === 'instance.active')).toBe(true);
    await until(() => sse.comments.includes('heartbeat'), 2_000, 'heartbeat');
  });

  it('refuses unknown types with a 400 in the error shape', async () => {
    const { base } = await listening();
    const res = await fetch(`${base}/api/v1/events?types=instance.status,job.done`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; details: { path: string }[] } };
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.details[0]?.path).toBe('query.types');
  });

  it('needs a key when auth is on (header or access_token); user keys see no instance events', async () => {
    const { h, base } = await listening({ app: { auth: 'required', events: { heartbeatMs: 50 } } });
    const admin = await h.keys.create({ role: 'admin' });
    const user = await h.keys.create({ role: 'user' });
    const none = await fetch(`${base}/api/v1/events`);
    expect(none.status).toBe(401);
    await none.body?.cancel();
    const asAdmin = await openSse(`${base}/api/v1/events?access_token=${admin.key}`);
    expect(asAdmin.status).toBe(200);
    const asUser = await openSse(`${base}/api/v1/events`, { authorization: `Bearer ${user.key}` });
    expect(asUser.status).toBe(200);
    await until(
      () => asAdmin.body.includes(': connected') && asUser.body.includes(': connected'),
      2_000,
      'both connected',
    );
    await h.registry.pause(h.ids[0] ?? '');
    await until(() => asAdmin.events.length > 0, 3_000, 'admin event');
    const beats = asUser.comments.filter((c) => c === 'heartbeat').length;
    await until(
      () => asUser.comments.filter((c) => c === 'heartbeat').length > beats,
      2_000,
      'a later heartbeat',
    );
    expect(asUser.events).toEqual([]);
    // The key in the query string is not logged.
    expect(h.logs.join('\n')).not.toContain(admin.key);
  });

  it('a visibility rule can open event types to user keys', async () => {
    const { h, base } = await listening({ app: { auth: 'required' } });
    const user = await h.keys.create({ role: 'user' });
    h.app.api.events.addVisibilityRule((_principal, event) =>
      event.type === 'instance.status' ? true : undefined,
    );
    const sse = await openSse(`${base}/api/v1/events?types=instance.*`, {
      authorization: `Bearer ${user.key}`,
    });
    await until(() => sse.body.includes(': connected'), 2_000, 'connected');
    await h.registry.stop(h.ids[0] ?? '');
    await until(() => sse.events.length > 0, 3_000, 'an event');
    // instance.changed (enabled) came first but is not visible to a user; the status is.
    expect(sse.events.map((e) => e.event)).toEqual(['instance.status']);
  });

  it('drops a consumer that does not read instead of buffering without bound', async () => {
    const { h, base } = await listening({ app: { events: { maxBufferedBytes: 64 * 1024 } } });
    const port = Number(new URL(base).port);
    const socket = connect(port, '127.0.0.1');
    cleanups.push(() => void socket.destroy());
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      'GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n',
    );
    // Read the headers, then stop reading.
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.pause();
    await until(() => h.app.api.events.size === 1, 2_000, 'subscribed');
    const view = h.registry.get(h.ids[0] ?? '') as InstanceView;
    const big = { ...view, description: 'x'.repeat(64 * 1024) };
    for (let i = 0; i < 2_000 && h.app.api.events.size > 0; i++) {
      h.bus.publish('instance.changed', { instance: big, changes: ['description'] });
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    await until(() => h.app.api.events.size === 0, 5_000, 'slow consumer dropped');
  });

  it('ends open streams when the app closes', async () => {
    const { h, base } = await listening();
    const sse = await openSse(`${base}/api/v1/events`);
    await until(() => sse.body.includes(': connected'), 2_000, 'connected');
    await h.app.close();
    await until(() => sse.ended, 3_000, 'stream ended');
  });
});

describe('WebSocket /api/v1/events/ws', () => {
  function openWs(url: string, headers: Record<string, string> = {}) {
    const ws = new WebSocket(url, { headers });
    // A refused upgrade and terminate() both report errors; the tests look at statuses.
    ws.on('error', () => undefined);
    cleanups.push(() => ws.terminate());
    const messages: { id: number; type: string; data: Record<string, unknown> }[] = [];
    ws.on('message', (m) => messages.push(JSON.parse(String(m))));
    return { ws, messages };
  }

  it('sends events as JSON frames, filtered by type', async () => {
    const { h, base } = await listening();
    const id = h.ids[0] ?? '';
    const { ws, messages } = openWs(
      `${base.replace('http', 'ws')}/api/v1/events/ws?types=instance.status`,
    );
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', () => reject(new Error('upgrade refused')));
    });
    await until(() => h.app.api.events.size === 1, 2_000, 'subscribed');
    await h.registry.pause(id);
    await until(() => messages.length > 0, 3_000, 'a frame');
    expect(messages[0]).toMatchObject({
      type: 'instance.status',
      data: { id, status: 'paused' },
      id: expect.any(Number),
    });
  });

  it('rejects the upgrade for unknown types and missing keys', async () => {
    const { h, base } = await listening({ app: { auth: 'required' } });
    const key = await h.keys.create({ role: 'admin' });
    const status = (url: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve) => {
        const { ws } = openWs(url, headers);
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => resolve(101));
      });
    const wsBase = base.replace('http', 'ws');
    expect(await status(`${wsBase}/api/v1/events/ws`)).toBe(401);
    expect(
      await status(`${wsBase}/api/v1/events/ws?types=nope`, { authorization: `Bearer ${key.key}` }),
    ).toBe(400);
    expect(await status(`${wsBase}/api/v1/events/ws?access_token=${key.key}`)).toBe(101);
  });
});
