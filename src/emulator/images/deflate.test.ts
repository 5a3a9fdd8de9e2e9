import { deflateSync, inflateSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deflate } from './deflate.js';

describe('deflate', () => {
  it('gives the bytes of a fresh deflateSync stream, call after call', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.constantFrom(0, 1, 4, 6, 9),
        fc.constantFrom(8, 9),
        (input, level, memLevel) => {
          const expected = deflateSync(input, { level, memLevel });
          expect(deflate(input, level, memLevel).equals(expected)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('round-trips repetitive and large inputs (beyond the reused-stream size)', () => {
    const rows = Buffer.alloc(300 * 1024, 7);
    for (let i = 0; i < rows.length; i += 97) rows[i] = i & 0xff;
    for (const input of [rows.subarray(0, 1000), rows]) {
      const out = deflate(input, 4, 9);
      expect(out.equals(deflateSync(input, { level: 4, memLevel: 9 }))).toBe(true);
      expect(inflateSync(out).equals(input)).toBe(true);
    }
  });

  it('rejects an invalid level as deflateSync does', () => {
    expect(() => deflate(Buffer.from('x'), 42, 9)).toThrow(RangeError);
  });
});
