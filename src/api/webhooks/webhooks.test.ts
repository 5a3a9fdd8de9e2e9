import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessEventBus } from '../../store/index.js';
import { emptySave, type JobHarness, jobHarness } from '../routes/jobs/testing.js';
import { until } from '../testing/harness.js';
import { WebhookSender } from './webhook-sender.js';
import {
  SIGNATURE_HEADER,
  signWebhook,
  TIMESTAMP_HEADER,
  verifyWebhook,
} from './webhook-signature.js';

interface Received {
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

describe('webhooks', () => {
  const secret = 'test-secret';
  let h: JobHarness;
  let receiver: Server;
  let base = '';
  const received: Received[] = [];
  /** Answers per path: the first `failures` deliveries get 500. */
  const failures = new Map<string, number>([
    ['/flaky', 2],
    ['/down', 1_000],
  ]);

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = req.url ?? '';
        received.push({ url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const left = failures.get(url) ?? 0;
        if (left > 0) {
          failures.set(url, left - 1);
          res.writeHead(500).end('no');
        } else res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    h = await jobHarness({ webhookSecret: secret, webhooks: { baseDelayMs: 10, maxAttempts: 3 } });
  });
  afterAll(async () => {
    await h?.close();
    await new Promise((r) => receiver?.close(r));
  });

  it('signs with HMAC-SHA256 over "<timestamp>.<body>" and rejects tampering', () => {
    const now = Math.floor(Date.now() / 1000);
    const sig = signWebhook('k', now, '{"a":1}');
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyWebhook('k', String(now), sig, '{"a":1}')).toBe(true);
    expect(verifyWebhook('k', String(now), sig, '{"a":2}')).toBe(false);
    expect(verifyWebhook('other', String(now), sig, '{"a":1}')).toBe(false);
    expect(verifyWebhook('k', String(now - 3600), signWebhook('k', now - 3600, '{}'), '{}')).toBe(
      false,
    );
  });

  it('delivers a signed job.completed, retrying with backoff, and shows the delivery on the job', async () => {
    const r = await h.app.inject({
      method: 'POST',
      url: '/api/v1/jobs?wait=true',
      payload: { workflow: emptySave('hook'), webhook_url: `${base}/flaky` },
    });
    expect(r.statusCode).toBe(200);
    const id = r.json().id;
    let job:
      | { webhook: { status: string; attempts: number; last_status_code: number } | null }
      | undefined;
    await until(
      async () => {
        job = (await h.app.inject({ url: `/api/v1/jobs/${id}` })).json();
        return job?.webhook?.status === 'delivered';
      },
      5_000,
      'webhook delivered',
    );
    expect(job?.webhook).toMatchObject({ status: 'delivered', attempts: 3, last_status_code: 204 });
    const mine = received.filter((x) => x.url === '/flaky');
    expect(mine).toHaveLength(3);
    for (const m of mine) {
      const ts = m.headers[TIMESTAMP_HEADER] as string;
      expect(verifyWebhook(secret, ts, m.headers[SIGNATURE_HEADER] as string, m.body)).toBe(true);
      expect(m.headers['x-comfycluster-event']).toBe('job.completed');
    }
    expect(new Set(mine.map((m) => m.headers['x-comfycluster-delivery'])).size).toBe(1);
    const payload = JSON.parse(mine[0]?.body ?? '{}');
    expect(payload.event).toBe('job.completed');
    expect(payload.job.id).toBe(id);
    expect(payload.job.outputs[0].url).toBe(`/api/v1/jobs/${id}/outputs/0`);
  });

  it('gives up after the attempt limit and says so on the job; cancelled jobs notify too', async () => {
    const r = await h.app.inject({
      method: 'POST',
      url: '/api/v1/jobs?wait=true',
      payload: { workflow: emptySave('down'), webhook_url: `${base}/down` },
    });
    const id = r.json().id;
    await until(
      async () =>
        (await h.app.inject({ url: `/api/v1/jobs/${id}` })).json().webhook?.status === 'failed',
      5_000,
      'webhook failed',
    );
    const job = (await h.app.inject({ url: `/api/v1/jobs/${id}` })).json();
    expect(job.webhook).toMatchObject({ status: 'failed', attempts: 3, last_error: 'HTTP 500' });

    h.emulators[0]?.setSpeed(0.001);
    try {
      const c = await h.app.inject({
        method: 'POST',
        url: '/api/v1/jobs',
        payload: { workflow: emptySave('c'), webhook_url: `${base}/cancelled` },
      });
      const cid = c.json().job_id;
      await h.app.inject({ method: 'POST', url: `/api/v1/jobs/${cid}/cancel` });
      await until(() => received.some((x) => x.url === '/cancelled'), 5_000, 'cancel webhook');
      expect(received.find((x) => x.url === '/cancelled')?.headers['x-comfycluster-event']).toBe(
        'job.cancelled',
      );
    } finally {
      h.emulators[0]?.setSpeed(Number.POSITIVE_INFINITY);
    }
  });

  it('resumes a delivery left pending by a previous run (state from the job event log)', async () => {
    const r = await h.app.inject({
      method: 'POST',
      url: '/api/v1/jobs?wait=true',
      payload: { workflow: emptySave('late'), webhook_url: `${base}/late` },
    });
    const id = r.json().id;
    await until(() => received.some((x) => x.url === '/late'), 5_000, 'first delivery');
    // As if the gateway had stopped between attempts: the log's last word is "pending".
    await h.layer.services.jobs.appendEvent(id, 'webhook', {
      id: 'd-1',
      event: 'job.completed',
      url: `${base}/late`,
      status: 'pending',
      attempts: 1,
      last_status_code: 500,
      last_error: 'HTTP 500',
      next_attempt_at: null,
      delivered_at: null,
    });
    const before = received.filter((x) => x.url === '/late').length;
    const sender = new WebhookSender({
      jobs: h.layer.services.jobs,
      bus: new InProcessEventBus(),
      secret,
    });
    try {
      expect(await sender.resume()).toBe(1);
      await until(
        () => received.filter((x) => x.url === '/late').length > before,
        5_000,
        'resumed',
      );
      const last = received.filter((x) => x.url === '/late').at(-1);
      expect(last?.headers['x-comfycluster-delivery']).toBe('d-1');
      await until(
        async () =>
          (await h.app.inject({ url: `/api/v1/jobs/${id}` })).json().webhook?.attempts === 2,
        5_000,
        'recorded',
      );
    } finally {
      await sender.close();
    }
  });

  it('refuses a webhook_url that is not http(s)', async () => {
    for (const webhook_url of ['ftp://x/y', 'not a url', 42]) {
      const r = await h.app.inject({
        method: 'POST',
        url: '/api/v1/jobs',
        payload: { workflow: emptySave(), webhook_url },
      });
      expect(r.statusCode).toBe(400);
      expect(r.json().error.code).toBe('validation_failed');
    }
  });
});
