import { ExponentialBackoff, halfJitterGenerator, type IBackoff } from 'cockatiel';
import type { CircuitState } from '../health-types.js';

/**
 * Why not cockatiel's `CircuitBreakerPolicy` + `ConsecutiveBreaker`: that policy learns about
 * failures only through `execute(fn)` and lets the first caller after `halfOpenAfter` through as
 * the trial. Here failures arrive after the fact from two places (our checks, and the scheduler
 * reporting a dispatch that already failed), the trial must be the monitor's own health check and
 * not whichever job comes first, and the monitor must know when the next probe is due to schedule
 * it and show it (`next_probe_at`), which the policy does not expose (it goes half-open lazily on
 * the next call). So this is a small explicit state machine; the probe delays come from
 * cockatiel's `ExponentialBackoff` (half jitter, capped).
 */

/** Options of {@link CircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit (default 3). */
  threshold?: number;
  /** First probe delay after opening, ms (default 1 000). */
  probeInitialDelayMs?: number;
  /** Longest probe delay, ms (default 30 000). */
  probeMaxDelayMs?: number;
  /** ms since epoch (default Date.now). */
  clock?: () => number;
}

/** What a recorded outcome changed. */
export type CircuitTransition = 'opened' | 'reopened' | 'closed' | undefined;

/**
 * Circuit breaker of one instance: `closed` → (threshold consecutive failures) → `open` →
 * (probe due, {@link beginProbe}) → `half_open` → one success → `closed`, or a failure → `open`
 * with the next, longer probe delay.
 *
 * @example
 * const breaker = new CircuitBreaker({ threshold: 3 });
 * breaker.recordFailure(); breaker.recordFailure();
 * breaker.recordFailure(); // 'opened'
 * if (breaker.probeDue()) { breaker.beginProbe(); breaker.recordSuccess(); } // 'closed'
 */
export class CircuitBreaker {
  readonly threshold: number;
  readonly #factory: ExponentialBackoff<number>;
  readonly #clock: () => number;
  #state: CircuitState = 'closed';
  #failures = 0;
  #backoff: IBackoff<unknown> | undefined;
  #nextProbeAt: number | null = null;
  #openedAt: number | null = null;
  #opens = 0;

  constructor(options: CircuitBreakerOptions = {}) {
    this.threshold = options.threshold ?? 3;
    if (!Number.isInteger(this.threshold) || this.threshold < 1) {
      throw new RangeError(`threshold must be a whole number >= 1, got ${this.threshold}`);
    }
    const initialDelay = options.probeInitialDelayMs ?? 1_000;
    const maxDelay = Math.max(initialDelay, options.probeMaxDelayMs ?? 30_000);
    this.#factory = new ExponentialBackoff({
      initialDelay,
      maxDelay,
      generator: halfJitterGenerator,
    });
    this.#clock = options.clock ?? Date.now;
  }

  get state(): CircuitState {
    return this.#state;
  }

  /** Failures since the last success (checks and reported dispatches alike). */
  get consecutiveFailures(): number {
    return this.#failures;
  }

  /** When the next probe is due (ms since epoch) while open; null otherwise. */
  get nextProbeAt(): number | null {
    return this.#state === 'open' ? this.#nextProbeAt : null;
  }

  /** When the circuit last opened (ms), null while closed. */
  get openedAt(): number | null {
    return this.#state === 'closed' ? null : this.#openedAt;
  }

  /** How many times the circuit has opened. */
  get opens(): number {
    return this.#opens;
  }

  /** A failed check or dispatch. */
  recordFailure(): CircuitTransition {
    this.#failures++;
    if (this.#state === 'half_open') {
      this.#open();
      return 'reopened';
    }
    if (this.#state === 'closed' && this.#failures >= this.threshold) {
      this.#openedAt = this.#clock();
      this.#opens++;
      this.#open();
      return 'opened';
    }
    return undefined;
  }

  /** A successful check (or, while closed, dispatch): closes a half-open circuit. */
  recordSuccess(): CircuitTransition {
    this.#failures = 0;
    if (this.#state === 'closed') return undefined;
    this.#state = 'closed';
    this.#backoff = undefined;
    this.#nextProbeAt = null;
    this.#openedAt = null;
    return 'closed';
  }

  /** True when the circuit is open and its probe delay has passed. */
  probeDue(now: number = this.#clock()): boolean {
    return this.#state === 'open' && this.#nextProbeAt !== null && now >= this.#nextProbeAt;
  }

  /** Open → half-open: the caller runs one probe and records its outcome. */
  beginProbe(): boolean {
    if (this.#state !== 'open') return false;
    this.#state = 'half_open';
    this.#nextProbeAt = null;
    return true;
  }

  #open(): void {
    this.#state = 'open';
    this.#backoff = this.#backoff ? this.#backoff.next(undefined) : this.#factory.next();
    this.#nextProbeAt = this.#clock() + this.#backoff.duration;
  }
}
