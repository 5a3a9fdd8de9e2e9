import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookSender, type WebhookSenderOptions } from './webhook-sender.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** A receiver answering each request with the next status of `statuses` (then 200). */
async function receiver(statuses: number[], delayMs = 0) {
  const bodies: unknown[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push({
        body: JSON.parse(Buffer.concat(chunks).toString()) as unknown,
        secret: req.headers['x-secret'],
        type: req.headers['content-type'],
      });
      setTimeout(() => res.writeHead(statuses.shift() ?? 200).end(), delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies };
}

function sender(url: string, options: Partial<WebhookSenderOptions> = {}, warnings: string[] = []) {
  const s = new WebhookSender(
    {
      url,
      timeoutMs: 2000,
      maxAttempts: 3,
      retryDelayMs: 10,
      maxQueue: 100,
      headers: {},
      ...options,
    },
    { warn: (_o, msg) => void warnings.push(msg) },
  );
  cleanups.push(() => s.close());
  return s;
}

describe('WebhookSender', () => {
  it('delivers in order with headers, retrying 5xx and 429', async () => {
    const r = await receiver([503, 429]);
    const s = sender(r.url, { headers: { 'x-secret': 's3' } });
    s.send({ n: 1 });
    s.send({ n: 2 });
    await s.idle();
    expect(r.bodies).toEqual([
      { body: { n: 1 }, secret: 's3', type: 'application/json' },
      { body: { n: 1 }, secret: 's3', type: 'application/json' },
      { body: { n: 1 }, secret: 's3', type: 'application/json' },
      { body: { n: 2 }, secret: 's3', type: 'application/json' },
    ]);
    expect(s.counters).toEqual({ delivered: 2, failed: 0, dropped: 0, pending: 0 });
  });

  it('gives up after maxAttempts, and at once on other 4xx, with a warning', async () => {
    const r = await receiver([500, 500, 500, 400]);
    const warnings: string[] = [];
    const s = sender(r.url, {}, warnings);
    s.send({ n: 1 });
    s.send({ n: 2 });
    s.send({ n: 3 });
    await s.idle();
    expect(r.bodies.map((b) => (b as { body: { n: number } }).body.n)).toEqual([1, 1, 1, 2, 3]);
    expect(s.counters).toMatchObject({ delivered: 1, failed: 2 });
    expect(warnings).toHaveLength(2);
  });

  it('retries when nothing listens, then fails without throwing', async () => {
    const r = await receiver([]);
    await cleanups.pop()?.(); // the receiver is gone
    const s = sender(r.url, { maxAttempts: 2 });
    s.send({ n: 1 });
    await s.idle();
    expect(s.counters).toMatchObject({ delivered: 0, failed: 1 });
  });

  it('drops the oldest beyond the queue limit, and everything waiting on close', async () => {
    const r = await receiver([], 200);
    const s = sender(r.url, { maxQueue: 2 });
    for (let n = 1; n <= 5; n++) s.send({ n });
    expect(s.counters.dropped).toBe(2); // n=1 is in flight; 2 and 3 were dropped for 4 and 5
    await s.close();
    expect(s.counters).toEqual({ delivered: 0, failed: 0, dropped: 5, pending: 0 });
    s.send({ n: 6 });
    expect(s.counters.pending).toBe(0);
  });
});
