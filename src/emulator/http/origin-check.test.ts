import { describe, expect, it } from 'vitest';
import { isForbiddenOrigin, isLoopback } from './origin-check.js';

describe('isForbiddenOrigin (recorded cases)', () => {
  it('refuses a foreign Origin when Host is loopback', () => {
    expect(isForbiddenOrigin('127.0.0.1:8188', 'http://evil.example:8188', undefined)).toBe(true);
    expect(isForbiddenOrigin('127.0.0.1:8188', 'http://evil.example', undefined)).toBe(true);
    expect(isForbiddenOrigin('127.0.0.1:8188', 'http://localhost:8188', undefined)).toBe(true);
  });

  it('allows a matching Origin, a non-loopback Host, or no Origin', () => {
    expect(isForbiddenOrigin('127.0.0.1:8188', 'http://127.0.0.1:8188', undefined)).toBe(false);
    expect(isForbiddenOrigin('gateway.example:9000', 'http://other.example', undefined)).toBe(
      false,
    );
    expect(isForbiddenOrigin('127.0.0.1:8188', undefined, undefined)).toBe(false);
    // Ports are compared only when both carry one.
    expect(isForbiddenOrigin('127.0.0.1', 'http://127.0.0.1:3000', undefined)).toBe(false);
  });

  it('refuses cross-site browser requests', () => {
    expect(isForbiddenOrigin('gateway.example', undefined, 'cross-site')).toBe(true);
    expect(isForbiddenOrigin('127.0.0.1:8188', undefined, 'same-origin')).toBe(false);
  });

  it('knows loopback names and addresses', () => {
    expect(isLoopback('localhost')).toBe(true);
    expect(isLoopback('127.3.4.5')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('10.0.0.1')).toBe(false);
  });
});
