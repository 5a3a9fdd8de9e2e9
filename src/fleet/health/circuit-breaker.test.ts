import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';

function clocked(options: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
  let now = 1_000_000;
  const breaker = new CircuitBreaker({ clock: () => now, ...options });
  const advance = (ms: number): void => {
    now += ms;
  };
  return { breaker, advance, now: () => now };
}

describe('CircuitBreaker', () => {
  it('opens after `threshold` consecutive failures; a success in between resets the count', () => {
    const { breaker } = clocked({ threshold: 3 });
    expect(breaker.recordFailure()).toBeUndefined();
    expect(breaker.recordFailure()).toBeUndefined();
    breaker.recordSuccess();
    expect(breaker.consecutiveFailures).toBe(0);
    breaker.recordFailure();
    breaker.recordFailure();
    expect(breaker.state).toBe('closed');
    expect(breaker.recordFailure()).toBe('opened');
    expect(breaker.state).toBe('open');
    expect(breaker.opens).toBe(1);
  });

  it('probes after the backoff; one success closes it', () => {
    const { breaker, advance, now } = clocked({ threshold: 1, probeInitialDelayMs: 1000 });
    breaker.recordFailure();
    const due = breaker.nextProbeAt ?? 0;
    // Half jitter: the first delay is between half and all of the initial delay.
    expect(due - now()).toBeGreaterThanOrEqual(500);
    expect(due - now()).toBeLessThanOrEqual(1000);
    expect(breaker.probeDue()).toBe(false);
    expect(breaker.beginProbe()).toBe(true);
    expect(breaker.state).toBe('half_open');
    expect(breaker.nextProbeAt).toBeNull();
    advance(1000);
    expect(breaker.recordSuccess()).toBe('closed');
    expect(breaker.state).toBe('closed');
    expect(breaker.openedAt).toBeNull();
  });

  it('a failed probe reopens it with a longer delay, capped', () => {
    const { breaker, advance, now } = clocked({
      threshold: 2,
      probeInitialDelayMs: 100,
      probeMaxDelayMs: 1000,
    });
    breaker.recordFailure();
    breaker.recordFailure();
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      const wait = (breaker.nextProbeAt ?? 0) - now();
      delays.push(wait);
      advance(wait);
      expect(breaker.probeDue()).toBe(true);
      breaker.beginProbe();
      expect(breaker.recordFailure()).toBe('reopened');
    }
    expect(delays.every((d) => d >= 50 && d <= 1000)).toBe(true);
    expect(Math.max(...delays.slice(-3))).toBeGreaterThan(Math.max(...delays.slice(0, 1)));
    expect(breaker.consecutiveFailures).toBe(10);
    // After closing, the next opening starts from the first delay again.
    breaker.beginProbe();
    breaker.recordSuccess();
    breaker.recordFailure();
    breaker.recordFailure();
    expect((breaker.nextProbeAt ?? 0) - now()).toBeLessThanOrEqual(100);
  });

  it('failures while open count but do not move the probe', () => {
    const { breaker } = clocked({ threshold: 1 });
    breaker.recordFailure();
    const due = breaker.nextProbeAt;
    expect(breaker.recordFailure()).toBeUndefined();
    expect(breaker.nextProbeAt).toBe(due);
    expect(breaker.consecutiveFailures).toBe(2);
    expect(breaker.beginProbe()).toBe(true);
    expect(breaker.beginProbe()).toBe(false);
  });

  it('rejects a nonsensical threshold', () => {
    expect(() => new CircuitBreaker({ threshold: 0 })).toThrow(
      /threshold must be a whole number >= 1/,
    );
  });
});
