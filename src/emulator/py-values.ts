/**
 * How ComfyUI's Python handlers read JSON values: truthiness, `in`, `int()` and `float()` of
 * strings, and which values would make them raise (which aiohttp turns into a 500).
 */

/** A handler would raise here (TypeError, ValueError, AttributeError...): answer 500. */
export class PythonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PythonError';
  }
}

/** A JSON object (Python dict). */
export function isDict(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Python truthiness of a JSON value. */
export function truthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') {
    return false;
  }
  if (Array.isArray(value)) return value.length > 0;
  if (isDict(value)) return Object.keys(value).length > 0;
  return true;
}

/**
 * `key in value` for a JSON value (dict keys, list items, substrings); raises for the rest.
 *
 * @example
 * pyContains({ clear: true }, 'clear'); // true
 */
export function pyContains(value: unknown, key: string): boolean {
  if (isDict(value)) return Object.hasOwn(value, key);
  if (Array.isArray(value)) return value.includes(key);
  if (typeof value === 'string') return value.includes(key);
  throw new PythonError(`argument of type '${typeName(value)}' is not iterable`);
}

/** `value[key]` on a JSON value that passed pyContains: only dicts can be indexed by a string. */
export function pyGetItem(value: unknown, key: string): unknown {
  if (isDict(value)) return value[key];
  throw new PythonError(`${typeName(value)} indices must be integers`);
}

/** `value.get(key)`: only dicts have it. */
export function pyGet(value: unknown, key: string): unknown {
  if (isDict(value)) return value[key];
  throw new PythonError(`'${typeName(value)}' object has no attribute 'get'`);
}

/** Iterating a JSON value in a for loop (dicts give their keys, strings their characters). */
export function pyIter(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (isDict(value)) return Object.keys(value);
  if (typeof value === 'string') return [...value];
  throw new PythonError(`'${typeName(value)}' object is not iterable`);
}

/** Python's `int(str)`. */
export function pyInt(text: string): number {
  const trimmed = text.trim();
  if (!/^[+-]?\d+(_\d+)*$/.test(trimmed)) {
    throw new PythonError(`invalid literal for int() with base 10: '${text}'`);
  }
  return Number(trimmed.replaceAll('_', ''));
}

/** Python's `float(x)` for a JSON value. */
export function pyFloat(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') {
    const trimmed = value.trim().replaceAll('_', '');
    const lower = trimmed.toLowerCase();
    if (/^[+-]?(inf|infinity)$/.test(lower)) {
      return lower.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    }
    if (/^[+-]?nan$/.test(lower)) return Number.NaN;
    if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(lower)) return Number(trimmed);
    throw new PythonError(`could not convert string to float: '${value}'`);
  }
  throw new PythonError(
    `float() argument must be a string or a real number, not '${typeName(value)}'`,
  );
}

function typeName(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'string') return 'str';
  if (Array.isArray(value)) return 'list';
  return 'dict';
}
