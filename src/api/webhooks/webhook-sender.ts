import { randomUUID } from 'node:crypto';
import { Counter, type Registry } from 'prom-client';
import type { Job, JobOutput, JobRepository } from '../../jobs/index.js';
import type { JobEvents } from '../../scheduler/dispatch/index.js';
import type { EventBus } from '../../store/index.js';
import { jobView, outputView } from '../routes/jobs/job-view.js';
import {
  DELIVERY_HEADER,
  EVENT_HEADER,
  SIGNATURE_HEADER,
  signWebhook,
  TIMESTAMP_HEADER,
} from './webhook-signature.js';

/** A delivery's state as recorded in the job's event log (type `webhook`) and shown on the job. */
export interface WebhookDelivery {
  id: string;
  event: string;
  url: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
}

/** Options of {@link WebhookSender}. */
export interface WebhookSenderOptions {
  jobs: JobRepository;
  bus: EventBus<JobEvents>;
  /** Signs every delivery (HMAC-SHA256). */
  secret: string;
  /** Attempts at most (default 6). */
  maxAttempts?: number;
  /** First retry delay (default 2 s), doubled each time up to `maxDelayMs` (default 5 min). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** One attempt's time limit (default 10 s). */
  timeoutMs?: number;
  /** Where `comfy_cluster_webhook_deliveries_total` is registered. */
  registry?: Registry;
  /** On restart, deliveries of jobs finished this recently are resumed (default 3 days). */
  resumeWindowMs?: number;
}

const FINISH_EVENTS = ['job.completed', 'job.failed', 'job.cancelled'] as const;

/**
 * Sends a job's webhook when it finishes (completed, failed, cancelled): a signed JSON POST
 * (`X-ComfyCluster-Signature: sha256=HMAC(secret, "<timestamp>.<body>")`,
 * `X-ComfyCluster-Timestamp`), retried with exponential backoff on errors and non-2xx answers
 * (410 Gone stops). Each attempt's outcome is appended to the job's event log as `webhook`, so
 * the state is durable: {@link resume} picks pending deliveries up after a restart, and the job
 * shows its latest delivery.
 *
 * @example
 * const sender = new WebhookSender({ jobs, bus, secret });
 * await sender.resume();
 * await sender.close();
 */
export class WebhookSender {
  readonly #o: WebhookSenderOptions;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #inflight = new Set<Promise<void>>();
  readonly #offs: Array<() => void>;
  #counter: Counter<'outcome'> | undefined;
  #closed = false;

  constructor(options: WebhookSenderOptions) {
    this.#o = options;
    if (options.registry) this.registerMetrics(options.registry);
    this.#offs = FINISH_EVENTS.map((type) =>
      options.bus.subscribe(type, (p: { job: Job; outputs?: JobOutput[] }) => {
        if (p.job.webhook_url) this.#start(type, p.job, p.outputs);
      }),
    );
  }

  /** Registers `comfy_cluster_webhook_deliveries_total` (attempts by outcome) on `registry`. */
  registerMetrics(registry: Registry): void {
    this.#counter = new Counter({
      name: 'comfy_cluster_webhook_deliveries_total',
      help: 'Webhook delivery attempts, by outcome (delivered, retry, failed)',
      labelNames: ['outcome'],
      registers: [registry],
    });
  }

  /** The job's latest delivery, from its event log; null when it has none. */
  static latest(
    events: Array<{ type: string; data: Record<string, unknown> }>,
  ): WebhookDelivery | null {
    for (let i = events.length - 1; i >= 0; i--) {
      const e = events[i];
      if (e?.type === 'webhook') return e.data as unknown as WebhookDelivery;
    }
    return null;
  }

  /** Resumes deliveries left pending (or never started) by a previous run. */
  async resume(): Promise<number> {
    const since = Date.now() - (this.#o.resumeWindowMs ?? 3 * 86_400_000);
    let cursor: string | null = null;
    let resumed = 0;
    for (let page = 0; page < 1000; page++) {
      const r = await this.#o.jobs.list({
        status: ['completed', 'failed', 'cancelled'],
        created_from: since,
        limit: 500,
        ...(cursor ? { cursor } : {}),
      });
      for (const job of r.jobs) {
        if (!job.webhook_url) continue;
        const last = WebhookSender.latest(await this.#o.jobs.events(job.id, { limit: 10_000 }));
        if (last && last.status !== 'pending') continue;
        resumed++;
        const outputs = await this.#o.jobs.outputs(job.id);
        this.#start(`job.${job.status}`, job, outputs, last ?? undefined);
      }
      cursor = r.next_cursor;
      if (!cursor) break;
    }
    return resumed;
  }

  /** Stops sending (pending deliveries stay pending in the log for the next start). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const off of this.#offs) off();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await Promise.allSettled([...this.#inflight]);
  }

  #start(event: string, job: Job, outputs: JobOutput[] = [], previous?: WebhookDelivery): void {
    const url = job.webhook_url;
    if (!url || this.#closed) return;
    const body = JSON.stringify({
      event,
      job: jobView(job, { outputs: outputs.map((o) => outputView(job.id, o)) }),
    });
    const state: WebhookDelivery = previous ?? {
      id: randomUUID(),
      event,
      url,
      status: 'pending',
      attempts: 0,
      last_status_code: null,
      last_error: null,
      next_attempt_at: null,
      delivered_at: null,
    };
    this.#attempt(job.id, body, state);
  }

  #attempt(jobId: string, body: string, state: WebhookDelivery): void {
    const task = this.#send(jobId, body, state).finally(() => this.#inflight.delete(task));
    this.#inflight.add(task);
  }

  async #send(jobId: string, body: string, state: WebhookDelivery): Promise<void> {
    if (this.#closed) return;
    const timestamp = Math.floor(Date.now() / 1000);
    const next: WebhookDelivery = { ...state, attempts: state.attempts + 1 };
    try {
      const res = await fetch(state.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#o.timeoutMs ?? 10_000),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'comfy-cluster-webhook',
          [SIGNATURE_HEADER]: signWebhook(this.#o.secret, timestamp, body),
          [TIMESTAMP_HEADER]: String(timestamp),
          [EVENT_HEADER]: state.event,
          [DELIVERY_HEADER]: state.id,
        },
        body,
      });
      await res.body?.cancel();
      next.last_status_code = res.status;
      next.last_error = res.ok ? null : `HTTP ${res.status}`;
      if (res.ok) {
        next.status = 'delivered';
        next.delivered_at = new Date().toISOString();
        next.next_attempt_at = null;
      } else if (res.status === 410) next.status = 'failed';
    } catch (err) {
      next.last_status_code = null;
      next.last_error = (err as Error).message.slice(0, 300);
    }
    const max = this.#o.maxAttempts ?? 6;
    let delay = 0;
    if (next.status === 'pending') {
      if (next.attempts >= max) next.status = 'failed';
      else {
        const base = this.#o.baseDelayMs ?? 2_000;
        delay = Math.min(this.#o.maxDelayMs ?? 300_000, base * 2 ** (next.attempts - 1));
        next.next_attempt_at = new Date(Date.now() + delay).toISOString();
      }
    }
    if (next.status !== 'pending') next.next_attempt_at = null;
    this.#counter?.inc({ outcome: next.status === 'pending' ? 'retry' : next.status });
    await this.#o.jobs
      .appendEvent(jobId, 'webhook', next as unknown as Record<string, unknown>)
      .catch(() => undefined);
    if (next.status !== 'pending' || this.#closed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#attempt(jobId, body, next);
    }, delay);
    timer.unref();
    this.#timers.add(timer);
  }
}
