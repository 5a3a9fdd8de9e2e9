import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';

/** One problem with one field: where (`instances[2].port`) and what to fix. */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * A field path from segments.
 *
 * @example
 * formatPath(['instances', 2, 'port']); // 'instances[2].port'
 */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number' || /^\d+$/.test(s)) out += `[${s}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/**
 * Joins a prefix path and a child path.
 *
 * @example
 * joinPath('instances[0]', 'port'); // 'instances[0].port'
 */
export function joinPath(prefix: string, child: string): string {
  if (prefix === '') return child;
  if (child === '') return prefix;
  return child.startsWith('[') ? `${prefix}${child}` : `${prefix}.${child}`;
}

type SchemaObject = Record<string, unknown>;

function asSchema(v: unknown): SchemaObject | undefined {
  return v !== null && typeof v === 'object' ? (v as SchemaObject) : undefined;
}

/**
 * A short description of a value for messages.
 *
 * @example
 * describeValue('8188'); // '"8188" (a string)'
 */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string':
      return `${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)} (a string)`;
    case 'number':
      return Number.isInteger(v) ? `${v}` : `${v} (not an integer)`;
    case 'boolean':
      return `${v} (a boolean)`;
    case 'object':
      return 'an object';
    default:
      return typeof v;
  }
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

function typeWord(schema: SchemaObject | undefined): string {
  if (!schema) return 'a valid value';
  if ('const' in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum))
    return `one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`;
  const t = schema.type;
  if (typeof t === 'string') return TYPE_WORDS[t] ?? t;
  if (Array.isArray(schema.anyOf)) {
    return schema.anyOf.map((s) => typeWord(asSchema(s))).join(' or ');
  }
  return 'a valid value';
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] ?? 0;
      row[j] = Math.min(
        (row[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        prev + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      prev = tmp;
    }
  }
  return row[b.length] ?? 0;
}

/**
 * The closest allowed name (camelCase spelled in snake_case, or a small typo), if any.
 *
 * @example
 * suggestField('maxConcurrent', ['max_concurrent', 'port']); // 'max_concurrent'
 */
export function suggestField(name: string, allowed: readonly string[]): string | undefined {
  const snake = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toLowerCase();
  if (allowed.includes(snake)) return snake;
  let best: string | undefined;
  // A typo is at most 2 edits, and fewer than half the name (so 'id' does not become 'kind').
  let bestScore = Math.min(3, Math.ceil(snake.length / 2));
  for (const a of allowed) {
    const d = levenshtein(snake, a);
    if (d < bestScore) {
      best = a;
      bestScore = d;
    }
  }
  return best;
}

/** Field-specific wording for pattern failures. */
const PATTERN_HINTS: Record<string, string> = {
  '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$':
    "may contain only letters, digits, '_', '.', ':' and '-', must start with a letter or digit and be at most 128 characters",
  '^[A-Za-z_][A-Za-z0-9_]*$':
    "must be a valid environment variable name (letters, digits and '_', not starting with a digit)",
};

/**
 * Validates `value` against a TypeBox schema and returns errors a person can act on, each with a
 * path (`path_map[0].remote`) and a message (`must be a string, got 3`). Empty when valid.
 *
 * Objects, arrays, records and unions are walked here, so every field is reported (TypeBox's own
 * error list stops after a few entries); leaves are checked with TypeBox.
 *
 * @example
 * schemaErrors(InstanceCreateSchema, { host: 'a', port: 70000, maxConcurrent: 2 });
 * // [{ path: 'maxConcurrent', message: "unknown field; did you mean 'max_concurrent'?" },
 * //  { path: 'port', message: 'must be between 1 and 65535, got 70000' }]
 */
export function schemaErrors(schema: TSchema, value: unknown, prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  walk(schema as unknown as SchemaObject, value, [], (segs, message) => {
    const path = joinPath(prefix, formatPath(segs));
    if (!out.some((e) => e.path === path && e.message === message)) out.push({ path, message });
  });
  return out;
}

// A plain boolean (Value.Check is a type guard, which would narrow `value` to never afterwards).
function passes(schema: SchemaObject, value: unknown): boolean {
  return Value.Check(schema as unknown as TSchema, value);
}

// Values under these keys may be secrets: messages name their type, never their content.
const SECRET_KEYS = new Set(['auth', 'env_vars']);

function isSecretPath(segs: readonly (string | number)[]): boolean {
  return segs.some((s) => typeof s === 'string' && SECRET_KEYS.has(s));
}

function describeAt(segs: readonly (string | number)[], v: unknown): string {
  if (!isSecretPath(segs)) return describeValue(v);
  if (v === null) return 'null';
  return Array.isArray(v) ? 'an array' : `a ${typeof v} (value hidden)`;
}

type Report = (segments: readonly (string | number)[], message: string) => void;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function walk(
  schema: SchemaObject,
  value: unknown,
  segs: (string | number)[],
  report: Report,
): void {
  if (Array.isArray(schema.anyOf)) {
    walkUnion(schema, value, segs, report);
    return;
  }
  if (schema.type === 'object' && isPlainObject(value)) {
    const props = asSchema(schema.properties) ?? {};
    const allowed = Object.keys(props);
    const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
    for (const r of required) if (!(r in value)) report([...segs, r], 'is required');
    const patterns = asSchema(schema.patternProperties);
    for (const [key, child] of Object.entries(value)) {
      const prop = asSchema(props[key]);
      if (prop) {
        walk(prop, child, [...segs, key], report);
        continue;
      }
      if (patterns) {
        const [pattern, valueSchema] = Object.entries(patterns)[0] ?? [];
        if (pattern !== undefined && new RegExp(pattern).test(key)) {
          const vs = asSchema(valueSchema);
          if (vs) walk(vs, child, [...segs, key], report);
        } else {
          const hint = pattern !== undefined ? PATTERN_HINTS[pattern] : undefined;
          report([...segs, key], hint ? `key ${hint}` : `key must match ${pattern}`);
        }
        continue;
      }
      if (schema.additionalProperties === false) {
        const hint = suggestField(key, allowed);
        report(
          [...segs, key],
          hint
            ? `unknown field; did you mean '${hint}'?`
            : `unknown field; allowed fields are ${allowed.join(', ')}`,
        );
      }
    }
    return;
  }
  if (schema.type === 'array' && Array.isArray(value)) {
    const items = asSchema(schema.items);
    if (items) {
      for (const [i, item] of value.entries()) walk(items, item, [...segs, i], report);
    }
    // Array-level rules (uniqueItems, length) once the items themselves are valid.
    if (passes(schema, value)) return;
    const arrayOnly = { ...schema, items: {} };
    for (const e of Value.Errors(arrayOnly as unknown as TSchema, value)) {
      if (e.instancePath === '') leafMessage(e, schema, value, segs, report);
    }
    return;
  }
  for (const e of Value.Errors(schema as unknown as TSchema, value)) {
    if (e.instancePath === '') leafMessage(e, schema, value, segs, report);
  }
}

function flattenUnion(schema: SchemaObject): SchemaObject[] {
  const branches = Array.isArray(schema.anyOf) ? schema.anyOf : [];
  return branches
    .map(asSchema)
    .filter((b): b is SchemaObject => b !== undefined)
    .flatMap((b) => (Array.isArray(b.anyOf) ? flattenUnion(b) : [b]));
}

function discriminator(branch: SchemaObject): unknown {
  const tag = asSchema(asSchema(branch.properties)?.type);
  return tag && 'const' in tag ? tag.const : undefined;
}

// A union of objects tagged by `type` is checked against the branch the value names; any other
// union gets one message listing what it accepts.
function walkUnion(
  schema: SchemaObject,
  value: unknown,
  segs: (string | number)[],
  report: Report,
): void {
  if (passes(schema, value)) return;
  const branches = flattenUnion(schema);
  const tagged = branches.filter((b) => discriminator(b) !== undefined);
  if (tagged.length > 0 && isPlainObject(value)) {
    const branch = tagged.find((b) => discriminator(b) === value.type);
    if (branch) {
      walk(branch, value, segs, report);
      return;
    }
    const tags = tagged.map((b) => JSON.stringify(discriminator(b)));
    report(
      [...segs, 'type'],
      `must be one of ${tags.join(', ')}, got ${describeValue(value.type)}`,
    );
    return;
  }
  const words = branches.map((b) =>
    discriminator(b) !== undefined
      ? `an object with type ${JSON.stringify(discriminator(b))}`
      : typeWord(b),
  );
  report(segs, `must be ${words.join(' or ')}, got ${describeAt(segs, value)}`);
}

function leafMessage(
  e: { keyword: string; params: object; message: string },
  node: SchemaObject,
  actual: unknown,
  segs: readonly (string | number)[],
  report: Report,
): void {
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type':
    case 'enum':
    case 'const':
      report(segs, `must be ${typeWord(node)}, got ${describeAt(segs, actual)}`);
      return;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const { minimum: min, maximum: max } = node;
      report(
        segs,
        typeof min === 'number' && typeof max === 'number'
          ? `must be between ${min} and ${max}, got ${describeAt(segs, actual)}`
          : `must be ${String(params.comparison)} ${String(params.limit)}, got ${describeAt(segs, actual)}`,
      );
      return;
    }
    case 'minLength':
      report(
        segs,
        node.minLength === 1
          ? 'must not be empty'
          : `must be at least ${String(node.minLength)} characters`,
      );
      return;
    case 'maxLength':
      report(
        segs,
        `must be at most ${String(node.maxLength)} characters, got ${String(actual).length}`,
      );
      return;
    case 'pattern': {
      const hint = PATTERN_HINTS[String(node.pattern)];
      report(
        segs,
        hint ? `${describeAt(segs, actual)} ${hint}` : `must match ${String(node.pattern)}`,
      );
      return;
    }
    case 'uniqueItems':
      report(segs, 'must not contain the same value twice');
      return;
    case 'minItems':
      report(segs, `must have at least ${String(node.minItems)} items`);
      return;
    case 'maxItems':
      report(segs, `must have at most ${String(node.maxItems)} items`);
      return;
    default:
      report(segs, e.message);
  }
}
