import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the cap, with jitter in [d/2, d]', () => {
    const low = (attempt: number) =>
      backoffDelay(attempt, { initialDelayMs: 100, maxDelayMs: 1000 }, () => 0);
    const high = (attempt: number) =>
      backoffDelay(attempt, { initialDelayMs: 100, maxDelayMs: 1000 }, () => 1);
    expect([1, 2, 3, 4, 5, 6].map(high)).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect([1, 2, 3, 4, 5, 6].map(low)).toEqual([50, 100, 200, 400, 500, 500]);
    expect(backoffDelay(10_000)).toBeLessThanOrEqual(30_000);
  });

  it('can be made deterministic with jitter 0', () => {
    expect(backoffDelay(3, { initialDelayMs: 10, jitter: 0 }, () => 0.7)).toBe(40);
  });
});
