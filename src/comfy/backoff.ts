/** Reconnect delays: exponential, capped, with jitter so many gateways do not retry in step. */

export interface BackoffOptions {
  /** First delay in ms. Default 500. */
  initialDelayMs?: number;
  /** Cap in ms. Default 30 000. */
  maxDelayMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** 0..1: how much of each delay is random. Default 0.5 (delay in [d/2, d]). */
  jitter?: number;
}

/**
 * Delay before reconnect attempt `attempt` (1-based).
 *
 * @example
 * backoffDelay(1); // 250..500 ms
 * backoffDelay(10, { maxDelayMs: 5000 }); // 2500..5000 ms
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random = Math.random,
): number {
  const initial = options.initialDelayMs ?? 500;
  const max = options.maxDelayMs ?? 30_000;
  const factor = options.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
  const exponent = Math.max(0, Math.min(attempt - 1, 64));
  const base = Math.min(max, initial * factor ** exponent);
  return Math.round(base * (1 - jitter) + base * jitter * random());
}
