/**
 * How Python would print JSON-decoded values: `repr()`, `str()` and `json.dumps()`. ComfyUI builds
 * its error messages and PNG metadata with these, so whatever reproduces them (prompt validation,
 * the emulator) needs the same spelling (`'a'` quotes, `True`/`None`, `1e-05`, `{"a": 1}` with
 * spaces).
 *
 * One thing cannot be recovered from JavaScript numbers: whether a JSON number was an int or a
 * float (`2` vs `2.0`). Integral numbers print as ints unless wrapped in `PyFloat`.
 */

/** Marks a number Python holds as a float, so it prints as `2.0` rather than `2`. */
export class PyFloat {
  constructor(readonly value: number) {}
  /** Plain JSON.stringify (e.g. in tests) still sees a number. */
  toJSON(): number {
    return this.value;
  }
}

/**
 * Python's `repr(float)`: shortest round-trip digits, exponent form below 1e-4 or from 1e16.
 *
 * @example
 * pyFloatRepr(1e-5); // "1e-05"
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant = '0', expStr = '0'] = x.toExponential().split('e');
  const exp = Number(expStr);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const sign = neg ? '-' : '';
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp) < 10 ? `0${Math.abs(exp)}` : `${Math.abs(exp)}`;
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${e}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return `${sign}${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

/**
 * A JS number as Python prints the value JSON decoding would give (int when integral).
 *
 * @example
 * pyNumberRepr(2); // "2"
 * pyNumberRepr(0.5); // "0.5"
 */
export function pyNumberRepr(x: number): string {
  if (Number.isInteger(x) && !Object.is(x, -0)) return BigInt(x).toString();
  return pyFloatRepr(x);
}

/**
 * Python's `repr(str)`: single quotes unless the text has a single quote and no double quote.
 *
 * @example
 * pyStrRepr("it's"); // "\"it's\""
 */
export function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + quote;
}

/**
 * Python's `repr()` of a JSON-decoded value.
 *
 * @example
 * pyRepr(['a', 1, true, null]); // "['a', 1, True, None]"
 */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (value instanceof PyFloat) return pyFloatRepr(value.value);
  if (typeof value === 'number') return pyNumberRepr(value);
  if (typeof value === 'string') return pyStrRepr(value);
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return String(value);
    const entries = Object.entries(value as Record<string, unknown>);
    return `{${entries.map(([k, v]) => `${pyStrRepr(k)}: ${pyRepr(v)}`).join(', ')}}`;
  }
  return String(value);
}

/**
 * Python's `str()`: strings as they are, everything else as `repr()`.
 *
 * @example
 * pyStr('abc'); // "abc"
 */
export function pyStr(value: unknown): string {
  return typeof value === 'string' ? value : pyRepr(value);
}

function jsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    const ch = s[i] ?? '';
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/**
 * Python's `json.dumps(value)` with default settings (`", "` / `": "` separators, non-ASCII as
 * `\uXXXX`, NaN/Infinity literals).
 *
 * @example
 * pyJsonDumps({ a: [1, new PyFloat(2)] }); // '{"a": [1, 2.0]}'
 */
export function pyJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (value instanceof PyFloat) return jsonFloat(value.value);
  if (typeof value === 'number') {
    return Number.isInteger(value) && !Object.is(value, -0)
      ? pyNumberRepr(value)
      : jsonFloat(value);
  }
  if (typeof value === 'string') return jsonString(value);
  if (Array.isArray(value)) return `[${value.map(pyJsonDumps).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    return `{${entries.map(([k, v]) => `${jsonString(k)}: ${pyJsonDumps(v)}`).join(', ')}}`;
  }
  return jsonString(String(value));
}

function jsonFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  return pyFloatRepr(x);
}
