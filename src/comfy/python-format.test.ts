import { describe, expect, it } from 'vitest';
import { PyFloat, pyFloatRepr, pyJsonDumps, pyRepr, pyStr, pyStrRepr } from './python-format.js';

describe('Python spelling of values', () => {
  it('prints floats like repr()', () => {
    const cases: Array<[number, string]> = [
      [2, '2.0'],
      [0.1, '0.1'],
      [1e-5, '1e-05'],
      [0.0001, '0.0001'],
      [1e16, '1e+16'],
      [123456.789, '123456.789'],
      [1.5e300, '1.5e+300'],
      [-0, '-0.0'],
      [Number.NaN, 'nan'],
      [Number.NEGATIVE_INFINITY, '-inf'],
    ];
    for (const [v, s] of cases) expect(pyFloatRepr(v), String(v)).toBe(s);
  });

  it('prints strings, lists and dicts like repr() and str()', () => {
    expect(pyStrRepr("it's")).toBe('"it\'s"');
    expect(pyStrRepr('a\nb')).toBe("'a\\nb'");
    expect(pyRepr(['a', 1, true, null, { k: 1.5 }])).toBe("['a', 1, True, None, {'k': 1.5}]");
    expect(pyStr('abc')).toBe('abc');
    expect(pyRepr(10 ** 21)).toBe('1000000000000000000000');
  });

  it('dumps JSON like json.dumps (spaces, \\u escapes, floats marked as floats)', () => {
    expect(pyJsonDumps({ a: [1, new PyFloat(2)], é: 'ü\u2028', n: null })).toBe(
      '{"a": [1, 2.0], "\\u00e9": "\\u00fc\\u2028", "n": null}',
    );
    expect(pyJsonDumps('😀')).toBe('"\\ud83d\\ude00"');
  });
});
