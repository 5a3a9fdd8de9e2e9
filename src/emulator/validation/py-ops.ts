/**
 * The Python operations ComfyUI's validation performs on JSON values, with the exceptions they
 * raise: `int()`, `float()`, `str()`, `bool()`, `in`, indexing a dict or a tuple.
 */
import { pyRepr, pyStr, pyStrRepr } from '../nodes/index.js';

/** A Python exception raised while validating (type name, `str(ex)`, traceback frames). */
export class PyException extends Error {
  constructor(
    readonly pyType: string,
    message: string,
    readonly frames: string[] = [],
  ) {
    super(message);
    this.name = 'PyException';
  }
}

/** The Python type name of a JSON value. */
export function pyTypeName(v: unknown): string {
  if (v === null || v === undefined) return 'NoneType';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'string') return 'str';
  if (Array.isArray(v)) return 'list';
  return 'dict';
}

export function isDict(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Python `==` between JSON scalars (1 == 1.0 == True). */
export function pyEquals(a: unknown, b: unknown): boolean {
  const num = (v: unknown) => (typeof v === 'boolean' ? (v ? 1 : 0) : v);
  const x = num(a);
  const y = num(b);
  if (typeof x === 'number' && typeof y === 'number') return x === y;
  if (Array.isArray(x) && Array.isArray(y)) {
    return x.length === y.length && x.every((v, i) => pyEquals(v, y[i]));
  }
  if (isDict(x) && isDict(y)) {
    const kx = Object.keys(x);
    return (
      kx.length === Object.keys(y).length &&
      kx.every((k) => Object.hasOwn(y, k) && pyEquals(x[k], y[k]))
    );
  }
  return x === y;
}

/** `key in container` for a JSON container; raises TypeError for scalars. */
export function pyIn(container: unknown, key: string): boolean {
  if (isDict(container)) return Object.hasOwn(container, key);
  if (typeof container === 'string') return container.includes(key);
  if (Array.isArray(container)) return container.some((v) => pyEquals(v, key));
  throw new PyException('TypeError', `argument of type '${pyTypeName(container)}' is not iterable`);
}

/** `container[key]` with a string key. */
export function pyGetStr(container: unknown, key: string): unknown {
  if (isDict(container)) {
    if (!Object.hasOwn(container, key)) throw new PyException('KeyError', pyStrRepr(key));
    return container[key];
  }
  if (typeof container === 'string') {
    throw new PyException('TypeError', "string indices must be integers, not 'str'");
  }
  if (Array.isArray(container)) {
    throw new PyException('TypeError', 'list indices must be integers or slices, not str');
  }
  throw new PyException('TypeError', `'${pyTypeName(container)}' object is not subscriptable`);
}

/** `d[key]` on a dict with string keys, for any JSON key value. */
export function pyDictGet(d: Record<string, unknown>, key: unknown): unknown {
  if (Array.isArray(key) || isDict(key)) {
    throw new PyException('TypeError', `unhashable type: '${pyTypeName(key)}'`);
  }
  if (typeof key === 'string' && Object.hasOwn(d, key)) return d[key];
  throw new PyException('KeyError', pyRepr(key));
}

/** `tuple[index]` (RETURN_TYPES[slot]). */
export function pyTupleGet<T>(tuple: readonly T[], index: unknown): T {
  let i: number;
  if (typeof index === 'boolean') i = index ? 1 : 0;
  else if (typeof index === 'number' && Number.isInteger(index)) i = index;
  else {
    throw new PyException(
      'TypeError',
      `tuple indices must be integers or slices, not ${pyTypeName(index)}`,
    );
  }
  const j = i < 0 ? tuple.length + i : i;
  if (j < 0 || j >= tuple.length) throw new PyException('IndexError', 'tuple index out of range');
  return tuple[j] as T;
}

/** Python's `int(x)`. */
export function pyInt(v: unknown): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') {
    if (Number.isNaN(v)) throw new PyException('ValueError', 'cannot convert float NaN to integer');
    if (!Number.isFinite(v))
      throw new PyException('OverflowError', 'cannot convert float infinity to integer');
    return Math.trunc(v);
  }
  if (typeof v === 'string') {
    const t = v.trim();
    if (/^[+-]?\d+(_\d+)*$/.test(t)) return Number(t.replaceAll('_', ''));
    throw new PyException('ValueError', `invalid literal for int() with base 10: ${pyStrRepr(v)}`);
  }
  throw new PyException(
    'TypeError',
    `int() argument must be a string, a bytes-like object or a real number, not '${pyTypeName(v)}'`,
  );
}

/** Python's `float(x)`. */
export function pyFloat(v: unknown): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const t = v.trim().toLowerCase();
    if (/^[+-]?(inf|infinity)$/.test(t)) {
      return t.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    }
    if (/^[+-]?nan$/.test(t)) return Number.NaN;
    const digits = String.raw`\d+(?:_\d+)*`;
    const re = new RegExp(
      `^[+-]?(?:${digits}(?:\\.(?:${digits})?)?|\\.${digits})(?:e[+-]?${digits})?$`,
    );
    if (re.test(t)) return Number(t.replaceAll('_', ''));
    throw new PyException('ValueError', `could not convert string to float: ${pyStrRepr(v)}`);
  }
  throw new PyException(
    'TypeError',
    `float() argument must be a string or a real number, not '${pyTypeName(v)}'`,
  );
}

/** Python's `bool(x)` (truthiness). */
export function pyBool(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isDict(v)) return Object.keys(v).length > 0;
  return true;
}

export { pyRepr, pyStr };
