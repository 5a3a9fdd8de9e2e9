import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { configureApi } from './http.js';
import { openEventStream, type SseMessage, SseParser } from './sse.js';

describe('SseParser', () => {
  it('parses named events split across chunks, multi-line data, ids and comments', () => {
    const p = new SseParser();
    expect(p.push(': heartbeat\n\nid: 7\nevent: instance.st')).toEqual([]);
    expect(p.push('atus\ndata: {"id":"a",\r\ndata: "x":1}\r')).toEqual([]);
    expect(p.push('\n\r\n')).toEqual([
      { event: 'instance.status', data: '{"id":"a",\n"x":1}', id: '7' },
    ]);
    expect(p.lastEventId).toBe('7');
    expect(p.push('data: plain\n\n')).toEqual([{ event: 'message', data: 'plain', id: '7' }]);
    expect(p.push('retry: 1500\nevent: lonely\n\n')).toEqual([]);
    expect(p.retryMs).toBe(1500);
  });
});

describe('openEventStream', () => {
  let server: Server | undefined;
  afterEach(async () => {
    configureApi({ baseUrl: '' });
    server?.closeAllConnections();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
  });

  it('delivers events, reconnects after the server drops it, and resumes with Last-Event-ID', async () => {
    const lastIds: Array<string | undefined> = [];
    const open: ServerResponse[] = [];
    server = createServer((req, res) => {
      lastIds.push(req.headers['last-event-id'] as string | undefined);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const n = lastIds.length;
      res.write(`id: ${n}\nevent: instance.health\ndata: {"id":"gpu${n}"}\n\n`);
      open.push(res);
      // The first connection is cut by the server.
      if (n === 1) setTimeout(() => res.destroy(), 20);
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    configureApi({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });

    const got: SseMessage[] = [];
    const states: string[] = [];
    let reconnects = 0;
    const stream = openEventStream({
      url: '/api/v1/events',
      onMessage: (m) => got.push(m),
      onState: (s) => states.push(s),
      onReconnect: () => reconnects++,
      initialDelayMs: 10,
    });
    try {
      for (let i = 0; i < 200 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      expect(got.map((m) => [m.event, m.data])).toEqual([
        ['instance.health', '{"id":"gpu1"}'],
        ['instance.health', '{"id":"gpu2"}'],
      ]);
      expect(lastIds).toEqual([undefined, '1']);
      expect(reconnects).toBe(1);
      expect(states).toContain('reconnecting');
      expect(states.at(-1)).toBe('open');
    } finally {
      stream.close();
      for (const r of open) r.destroy();
    }
  });

  it('stops when the server ends a stream that is not to be reopened', async () => {
    let hits = 0;
    server = createServer((_req, res) => {
      hits++;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('id: 9\nevent: job.status\ndata: {"status":"completed"}\n\n');
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    configureApi({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    const states: string[] = [];
    const got: SseMessage[] = [];
    const stream = openEventStream({
      url: '/api/v1/jobs/j/events',
      onMessage: (m) => got.push(m),
      onState: (s) => states.push(s),
      shouldReconnect: () => got.length === 0,
      initialDelayMs: 10,
    });
    for (let i = 0; i < 100 && !states.includes('closed'); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 100));
    stream.close();
    expect(states.at(-1)).toBe('closed');
    expect(got).toHaveLength(1);
    expect(hits).toBe(1);
  });

  it('reports an unauthorized stream instead of hammering it', async () => {
    let hits = 0;
    server = createServer((_req, res) => {
      hits++;
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"error":{"code":"unauthorized","message":"key"}}');
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    configureApi({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    const states: string[] = [];
    const stream = openEventStream({
      url: '/api/v1/events',
      onMessage: () => undefined,
      onState: (s) => states.push(s),
      initialDelayMs: 10,
    });
    for (let i = 0; i < 100 && !states.includes('unauthorized'); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 100));
    stream.close();
    expect(states).toContain('unauthorized');
    // Waits at least 5 s before asking again.
    expect(hits).toBe(1);
  });
});
