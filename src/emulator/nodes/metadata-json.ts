/**
 * The JSON of SaveImage's PNG text chunks, written in one pass: the same text as
 * `pyJsonDumps(promptForMetadata(prompt))` (Python's json.dumps of the prompt, FLOAT inputs as
 * floats), without building the marked copy of the prompt or the arrays of entries and parts the
 * general serialiser makes. SaveImage runs this once per prompt.
 */
import { PyFloat } from '../../comfy/python-format.js';
import { pyFloatRepr, pyString } from '../py-json.js';

function number(x: number): string {
  if (Number.isInteger(x) && !Object.is(x, -0)) {
    // Python prints ints exactly; JS's own digits are exact only up to 2^53.
    return Number.isSafeInteger(x) ? String(x) : BigInt(x).toString();
  }
  return pyFloatRepr(x);
}

/**
 * Python's `json.dumps(value)`, exactly as `pyJsonDumps` writes it.
 *
 * @example
 * dumpsJson({ a: [1, new PyFloat(2)], b: 'é' }); // '{"a": [1, 2.0], "b": "\\u00e9"}'
 */
export function dumpsJson(value: unknown): string {
  switch (typeof value) {
    case 'undefined':
      return 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return number(value);
    case 'string':
      return pyString(value);
    case 'object':
      break;
    default:
      return pyString(String(value));
  }
  if (value === null) return 'null';
  if (value instanceof PyFloat) return pyFloatRepr(value.value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ', ';
      // A hole stays empty, as Array.prototype.map leaves it.
      if (i in value) out += dumpsJson(value[i]);
    }
    return `${out}]`;
  }
  return objectJson(value as Record<string, unknown>, dumpsJson);
}

function objectJson(
  value: Record<string, unknown>,
  item: (value: unknown, key: string) => string,
): string {
  let out = '{';
  let first = true;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (!first) out += ', ';
    first = false;
    out += `${pyString(key)}: ${item(value[key], key)}`;
  }
  return `${out}}`;
}

/**
 * `json.dumps(prompt)` with the numbers of each node's FLOAT inputs (`floatsOf(class_type)`)
 * written as floats — `pyJsonDumps(promptForMetadata(prompt, ...))`.
 *
 * @example
 * promptMetadataJson(prompt, (classType) => floatInputs(classType));
 */
export function promptMetadataJson(
  prompt: Record<string, unknown>,
  floatsOf: (classType: string) => ReadonlySet<string>,
): string {
  return objectJson(prompt, (node) => {
    if (node === null || typeof node !== 'object') return dumpsJson(node);
    const fields = node as Record<string, unknown>;
    const inputs = fields.inputs;
    if (typeof inputs !== 'object' || !inputs) return dumpsJson(node);
    const floats = floatsOf(String(fields.class_type));
    return objectJson(fields, (field, key) => {
      if (key !== 'inputs') return dumpsJson(field);
      return objectJson(inputs as Record<string, unknown>, (input, name) =>
        floats.has(name) && typeof input === 'number' ? pyFloatRepr(input) : dumpsJson(input),
      );
    });
  });
}
