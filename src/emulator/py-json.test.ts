import { describe, expect, it } from 'vitest';
import { PyFloat, pyFloatRepr, pyJson, pyString, RawJson } from './py-json.js';

describe('pyJson', () => {
  it('writes Python json.dumps separators and key order', () => {
    expect(pyJson({ queue_running: [], queue_pending: [] })).toBe(
      '{"queue_running": [], "queue_pending": []}',
    );
    expect(pyJson({ a: [1, true, null, 'x'], b: {} })).toBe('{"a": [1, true, null, "x"], "b": {}}');
  });

  it('keeps the int/float distinction through PyFloat', () => {
    expect(pyJson({ n: 5, f: new PyFloat(5), g: 5.5 })).toBe('{"n": 5, "f": 5.0, "g": 5.5}');
    expect(pyJson(-0)).toBe('0');
    expect(pyJson(1e21)).toBe('1000000000000000000000');
  });

  it('escapes like ensure_ascii, DEL included', () => {
    expect(pyString('é "q" \\ \n\u007f😀')).toBe('"\\u00e9 \\"q\\" \\\\ \\n\\u007f\\ud83d\\ude00"');
    expect(pyString('plain [output]')).toBe('"plain [output]"');
  });

  it('inserts raw fragments and skips undefined values', () => {
    expect(pyJson({ a: new RawJson('{"x": 1}'), b: undefined })).toBe('{"a": {"x": 1}}');
  });
});

describe('pyFloatRepr', () => {
  it('matches Python repr', () => {
    const cases: [number, string][] = [
      [1, '1.0'],
      [0.5, '0.5'],
      [100, '100.0'],
      [0.0001, '0.0001'],
      [0.00001, '1e-05'],
      [1.5e-7, '1.5e-07'],
      [1e16, '1e+16'],
      [123456789012345680, '1.2345678901234568e+17'],
      [1234.5678, '1234.5678'],
      [-2.25, '-2.25'],
      [0, '0.0'],
      [-0, '-0.0'],
      [-3, '-3.0'],
      [2 ** 53 + 2, '9007199254740994.0'],
      [9999999999999998, '9999999999999998.0'],
      [-1e16, '-1e+16'],
      [Number.NaN, 'NaN'],
      [Number.POSITIVE_INFINITY, 'Infinity'],
    ];
    for (const [value, repr] of cases) expect(pyFloatRepr(value)).toBe(repr);
  });
});
