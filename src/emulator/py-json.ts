/**
 * JSON text exactly as Python's `json.dumps` writes it (what aiohttp's `json_response` and
 * `send_json` send): `", "` and `": "` separators, non-ASCII escaped as `\uXXXX`, floats in Python's
 * repr (`1.0`, `1e-05`). JavaScript numbers carry no int/float distinction, so values that Python
 * holds as floats are wrapped in `PyFloat`; already serialised fragments go in `RawJson`.
 */
import { PyFloat, pyFloatRepr as pythonFloatRepr } from '../comfy/python-format.js';

export { PyFloat };

/** A fragment that is already JSON text (cached serialisations). */
export class RawJson {
  constructor(readonly json: string) {}
}

const NEEDS_ESCAPE = /[^ -!#-[\]-~]/;

/** Python `json.dumps(str)` with ensure_ascii (everything outside ' '..'~' escaped). */
export function pyString(s: string): string {
  // Printable ASCII except '"' and '\\' needs no escaping (the common case, tested natively).
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c < 0x7f) continue;
    if (i > start) out += s.slice(start, i);
    start = i + 1;
    switch (c) {
      case 0x22:
        out += '\\"';
        break;
      case 0x5c:
        out += '\\\\';
        break;
      case 0x0a:
        out += '\\n';
        break;
      case 0x0d:
        out += '\\r';
        break;
      case 0x09:
        out += '\\t';
        break;
      case 0x08:
        out += '\\b';
        break;
      case 0x0c:
        out += '\\f';
        break;
      default:
        out += `\\u${c.toString(16).padStart(4, '0')}`;
    }
  }
  if (start < s.length) out += s.slice(start);
  return `${out}"`;
}

/** A float as Python's json.dumps writes it: repr digits, and NaN / Infinity literals. */
export function pyFloatRepr(x: number): string {
  // Whole numbers below 1e16 print as their digits plus ".0" (the common 0.0 / 1.0 of progress).
  if (Number.isInteger(x) && x !== 0 && x < 1e16 && x > -1e16) return `${x}.0`;
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  return pythonFloatRepr(x);
}

function pyNumber(n: number): string {
  if (Number.isInteger(n)) {
    // Python ints print in full; -0 is just 0.
    if (Math.abs(n) < 1e21) return n === 0 ? '0' : String(n);
    return BigInt(n).toString();
  }
  return pyFloatRepr(n);
}

/**
 * Serialises a value the way Python's `json.dumps` does.
 *
 * @example
 * pyJson({ a: [1, new PyFloat(2)], b: 'é' }) // '{"a": [1, 2.0], "b": "\\u00e9"}'
 */
export function pyJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return pyString(value);
    case 'number':
      return pyNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        if (value.length === 0) return '[]';
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ', ';
          const item: unknown = value[i];
          out += item === undefined ? 'null' : pyJson(item);
        }
        return `${out}]`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        if (value instanceof PyFloat) {
          return pyFloatRepr(value.value);
        }
        if (value instanceof RawJson) return value.json;
      }
      let out = '{';
      let first = true;
      for (const key in value as Record<string, unknown>) {
        const item = (value as Record<string, unknown>)[key];
        if (item === undefined || typeof item === 'function') continue;
        if (!first) out += ', ';
        first = false;
        out += `${pyString(key)}: ${pyJson(item)}`;
      }
      return `${out}}`;
    }
    default:
      return 'null';
  }
}
