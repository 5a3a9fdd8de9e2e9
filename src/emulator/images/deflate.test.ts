import { deflateSync, inflateSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deflate } from './deflate.js';

describe('deflate', () => {
  // Filtered image rows: a constant background with sparse other bytes, so matches often run up
  // to the end of the input (where a reused stream's stale window would change the choice).
  const sparse = fc
    .tuple(fc.constantFrom(0, 200), fc.constantFrom(0.02, 0.1, 0.3), fc.nat({ max: 800 }), fc.nat())
    .map(([background, density, length, seed]) => {
      const out = new Uint8Array(length);
      let x = seed;
      for (let i = 0; i < length; i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        out[i] = (x >>> 8) % 1000 < density * 1000 ? x >>> 24 : background;
      }
      return out;
    });

  it('gives the bytes of a fresh deflateSync stream, call after call', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.uint8Array({ maxLength: 3000 }), sparse), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.constantFrom(0, 1, 4, 6, 9),
        fc.constantFrom(8, 9),
        (inputs, level, memLevel) => {
          for (const input of inputs) {
            const expected = deflateSync(input, { level, memLevel });
            expect(deflate(input, level, memLevel).equals(expected)).toBe(true);
          }
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
