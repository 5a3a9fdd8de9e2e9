/**
 * JSON parsing that remembers the key order of every object as it was on the wire.
 *
 * `JSON.parse` builds plain objects, and JavaScript lists integer-like keys ("1", "10") first and in
 * ascending order whatever the text said. ComfyUI keys many objects by node id, and Python keeps
 * insertion order, so the comparator needs the order from the text itself: `keysInOrder` returns it
 * for objects made by `parseJsonOrdered`, and falls back to `Object.keys` for any other object.
 */
import type { JsonValue } from '../../src/comfy/protocol.js';

const wireOrder = new WeakMap<object, string[]>();

/**
 * The keys of an object in the order its JSON text had them.
 *
 * @example
 * keysInOrder(parseJsonOrdered('{"10": 1, "2": 2}') as object); // ['10', '2']
 */
export function keysInOrder(value: object): string[] {
  return wireOrder.get(value) ?? Object.keys(value);
}

/**
 * Parses JSON like `JSON.parse` (same values, same errors for bad input) and records key order.
 *
 * @example
 * const body = parseJsonOrdered(await response.text());
 */
export function parseJsonOrdered(text: string): JsonValue {
  const parser = new OrderedParser(text);
  const value = parser.value();
  parser.end();
  return value;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// The token is found here; JSON.parse then decodes it and rejects bad escapes or raw controls.
const STRING = /"(?:[^"\\]|\\.)*"/y;

class OrderedParser {
  private at = 0;

  constructor(private readonly text: string) {}

  value(): JsonValue {
    this.space();
    const c = this.text[this.at];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (this.text.startsWith('true', this.at)) return this.word('true', true);
    if (this.text.startsWith('false', this.at)) return this.word('false', false);
    if (this.text.startsWith('null', this.at)) return this.word('null', null);
    return this.number();
  }

  end(): void {
    this.space();
    if (this.at !== this.text.length) this.fail('unexpected text after the JSON value');
  }

  private object(): JsonValue {
    this.at++;
    const out: { [key: string]: JsonValue } = {};
    const keys: string[] = [];
    this.space();
    if (this.text[this.at] === '}') {
      this.at++;
    } else {
      for (;;) {
        this.space();
        if (this.text[this.at] !== '"') this.fail('expected a string key');
        const key = this.string();
        this.space();
        if (this.text[this.at] !== ':') this.fail('expected ":"');
        this.at++;
        if (!Object.hasOwn(out, key)) keys.push(key);
        // defineProperty: a "__proto__" key must become an own property, as JSON.parse does.
        Object.defineProperty(out, key, {
          value: this.value(),
          enumerable: true,
          writable: true,
          configurable: true,
        });
        this.space();
        const c = this.text[this.at++];
        if (c === '}') break;
        if (c !== ',') this.fail('expected "," or "}"');
      }
    }
    wireOrder.set(out, keys);
    return out;
  }

  private array(): JsonValue {
    this.at++;
    const out: JsonValue[] = [];
    this.space();
    if (this.text[this.at] === ']') {
      this.at++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.space();
      const c = this.text[this.at++];
      if (c === ']') return out;
      if (c !== ',') this.fail('expected "," or "]"');
    }
  }

  private string(): string {
    STRING.lastIndex = this.at;
    const m = STRING.exec(this.text);
    if (!m) return this.fail('bad string');
    this.at += m[0].length;
    return JSON.parse(m[0]) as string;
  }

  private number(): number {
    NUMBER.lastIndex = this.at;
    const m = NUMBER.exec(this.text);
    if (!m) return this.fail('unexpected token');
    this.at += m[0].length;
    return Number(m[0]);
  }

  private word<T extends JsonValue>(word: string, value: T): T {
    this.at += word.length;
    return value;
  }

  private space(): void {
    while (/[ \t\r\n]/.test(this.text[this.at] ?? '')) this.at++;
  }

  private fail(why: string): never {
    throw new SyntaxError(`JSON: ${why} at position ${this.at}`);
  }
}

/**
 * `JSON.stringify` that writes object keys in their wire order (see `keysInOrder`), so a recorded
 * request body is sent with the key order the recorder sent.
 *
 * @example
 * stringifyOrdered(parseJsonOrdered('{"10": 1, "2": 2}')); // '{"10":1,"2":2}'
 */
export function stringifyOrdered(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => stringifyOrdered(v)).join(',')}]`;
  const record = value as Record<string, unknown>;
  const parts = keysInOrder(record)
    .filter((key) => record[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${stringifyOrdered(record[key])}`);
  return `{${parts.join(',')}}`;
}

/**
 * Builds an object from entries and remembers their order as its wire order (see `keysInOrder`).
 *
 * @example
 * keysInOrder(orderedObject([['10', 1], ['2', 2]])); // ['10', '2']
 */
export function orderedObject(
  entries: Iterable<readonly [string, unknown]>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keys: string[] = [];
  for (const [key, value] of entries) {
    if (!Object.hasOwn(out, key)) keys.push(key);
    Object.defineProperty(out, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  wireOrder.set(out, keys);
  return out;
}
