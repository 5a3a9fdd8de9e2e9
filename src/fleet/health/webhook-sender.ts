import type { HealthLogger } from './monitor-options.js';

/** Settings of {@link WebhookSender}. */
export interface WebhookSenderOptions {
  url: string;
  timeoutMs: number;
  maxAttempts: number;
  retryDelayMs: number;
  maxQueue: number;
  headers: Record<string, string>;
}

/** Delivery counters. */
export interface WebhookCounters {
  delivered: number;
  failed: number;
  dropped: number;
  pending: number;
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return 'webhook';
  }
}

/**
 * POSTs JSON payloads to an admin webhook, one at a time in order, in the background: `send`
 * never blocks or throws. Each payload gets `maxAttempts` tries (network errors, 429 and 5xx are
 * retried with doubling delays; other statuses are final). At most `maxQueue` wait; beyond that
 * the oldest is dropped. `close()` aborts the delivery in flight and drops the rest.
 *
 * @example
 * const hook = new WebhookSender({ url, timeoutMs: 5000, maxAttempts: 3, retryDelayMs: 1000, maxQueue: 100, headers: {} });
 * hook.send({ event: 'alert.raised', alert });
 * await hook.close();
 */
export class WebhookSender {
  readonly #options: WebhookSenderOptions;
  readonly #logger: HealthLogger | undefined;
  readonly #queue: unknown[] = [];
  readonly #lifetime = new AbortController();
  readonly #idleWaiters = new Set<() => void>();
  #running = false;
  #delivered = 0;
  #failed = 0;
  #dropped = 0;

  constructor(options: WebhookSenderOptions, logger?: HealthLogger) {
    this.#options = options;
    this.#logger = logger;
  }

  get counters(): WebhookCounters {
    return {
      delivered: this.#delivered,
      failed: this.#failed,
      dropped: this.#dropped,
      pending: this.#queue.length + (this.#running ? 1 : 0),
    };
  }

  /** Queues one payload. */
  send(payload: unknown): void {
    if (this.#lifetime.signal.aborted) return;
    this.#queue.push(payload);
    while (this.#queue.length > this.#options.maxQueue) {
      this.#queue.shift();
      this.#dropped++;
      this.#logger?.warn(
        { webhook: redactUrl(this.#options.url), max_queue: this.#options.maxQueue },
        'alert webhook queue full: oldest alert dropped',
      );
    }
    if (!this.#running) void this.#drain();
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (!this.#running && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.add(resolve));
  }

  /** Aborts the delivery in flight and drops what waits. Idempotent. */
  async close(): Promise<void> {
    if (!this.#lifetime.signal.aborted) {
      this.#dropped += this.#queue.length;
      this.#queue.length = 0;
      this.#lifetime.abort();
    }
    await this.idle();
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      for (;;) {
        const payload = this.#queue.shift();
        if (payload === undefined || this.#lifetime.signal.aborted) break;
        await this.#deliver(payload);
      }
    } finally {
      this.#running = false;
      for (const resolve of [...this.#idleWaiters]) resolve();
      this.#idleWaiters.clear();
    }
  }

  async #deliver(payload: unknown): Promise<void> {
    const { url, timeoutMs, maxAttempts, retryDelayMs, headers } = this.#options;
    const body = JSON.stringify(payload);
    let lastProblem = '';
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (this.#lifetime.signal.aborted) break;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body,
          signal: AbortSignal.any([this.#lifetime.signal, AbortSignal.timeout(timeoutMs)]),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) {
          this.#delivered++;
          return;
        }
        lastProblem = `answered ${res.status}`;
        if (res.status !== 429 && res.status < 500) break;
      } catch (err) {
        if (this.#lifetime.signal.aborted) break;
        lastProblem = err instanceof Error ? err.message : String(err);
      }
      if (attempt < maxAttempts) await this.#sleep(retryDelayMs * 2 ** (attempt - 1));
    }
    if (this.#lifetime.signal.aborted) {
      this.#dropped++;
      return;
    }
    this.#failed++;
    this.#logger?.warn(
      { webhook: redactUrl(url), problem: lastProblem },
      'alert webhook delivery failed; alert dropped',
    );
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.#lifetime.signal;
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
