/**
 * Compares an actual JSON value with a recorded one by structure: same keys in the same order, same
 * JSON types, arrays element by element, and scalar values equal — except where a rule says a value
 * legitimately differs between two runs (ids, times, sizes, counters, ...).
 *
 * Rules are matched against the path of each value (see json-path.ts); the LAST matching rule wins,
 * so a test can append rules that refine the defaults.
 */
import type { JsonValue } from '../../src/comfy/protocol.js';
import type { PathSegment } from './json-path.js';
import { formatPath, matchesPath, type PathPattern, parsePathPattern } from './json-path.js';
import { keysInOrder } from './ordered-json.js';

/**
 * How a value at a matching path is compared:
 * - `value`: deep equality (key order included); the default for scalars, usable to override a rule.
 * - `type`: same JSON type, any value (ids, times, counters).
 * - `any`: anything at all (the key must still be there).
 * - `digits`: strings equal once every run of digits is replaced (`gw_empty_00001_.png` ~ `_00007_`).
 * - `set`: arrays of the same length whose elements match in any order (Python set order).
 * - `bag`: arrays of any length whose every element has the shape of some recorded element (or of
 *   `of`, when the recording's array is empty); inside an element, scalars are compared by type.
 * - `prefix`: the recording was truncated: its elements (or keys) must be the first ones of actual.
 * - `keys`: an object keyed by ids: keys may differ, values are compared pairwise in order.
 * - `check`: a custom check; returns a message when the actual value is wrong.
 */
export type ShapeRule =
  | {
      path: string;
      kind: 'value' | 'type' | 'any' | 'digits' | 'set' | 'prefix' | 'keys';
      why?: string;
    }
  | { path: string; kind: 'bag'; of?: JsonValue; why?: string }
  | {
      path: string;
      kind: 'check';
      check: (actual: unknown, recorded: unknown) => string | undefined;
      why?: string;
    };

/** One difference, at a printable path such as `$.status.messages[1][0]`. */
export interface ShapeDiff {
  path: string;
  message: string;
}

export interface CompareOptions {
  /** Replaces the default rules (DEFAULT_RULES). */
  rules?: readonly ShapeRule[];
  /** Appended after the rules, so they win over them. */
  extra?: readonly ShapeRule[];
}

/**
 * Values that differ between any two runs of the same exchange, wherever they appear.
 */
export const DEFAULT_RULES: readonly ShapeRule[] = [
  { path: '$..prompt_id', kind: 'type', why: 'uuid made by the server (or the test)' },
  { path: '$..timestamp', kind: 'type', why: 'wall clock' },
  { path: '$..create_time', kind: 'type', why: 'wall clock' },
  { path: '$..execution_start_time', kind: 'type', why: 'wall clock' },
  { path: '$..execution_end_time', kind: 'type', why: 'wall clock' },
  { path: '$..sid', kind: 'type', why: 'client id chosen by each run, or made by the server' },
  { path: '$..client_id', kind: 'type', why: 'client id chosen by each run' },
  { path: '$..filename', kind: 'digits', why: 'output counters depend on what the folder holds' },
  { path: '$..traceback', kind: 'bag', of: '', why: 'Python frames, paths and line numbers' },
  { path: '$..exception_message', kind: 'type', why: 'may quote server paths' },
  { path: '$..current_inputs.*[*]', kind: 'type', why: 'tensor reprs, file names' },
  { path: '$..executed', kind: 'set', why: 'list(set) in Python: order follows string hashing' },
  { path: '$..current_outputs', kind: 'set', why: 'list(set) in Python' },
];

/**
 * /system_stats values that belong to the machine and install, not to the protocol.
 */
export const SYSTEM_STATS_RULES: readonly ShapeRule[] = [
  { path: '$.system.ram_total', kind: 'type' },
  { path: '$.system.ram_free', kind: 'type' },
  { path: '$.system.comfyui_version', kind: 'type' },
  { path: '$.system.required_frontend_version', kind: 'type' },
  { path: '$.system.installed_templates_version', kind: 'any', why: 'null without the package' },
  { path: '$.system.required_templates_version', kind: 'type' },
  { path: '$.system.python_version', kind: 'type' },
  { path: '$.system.pytorch_version', kind: 'type' },
  { path: '$.system.argv', kind: 'bag', of: '', why: 'the command line' },
  { path: '$.devices', kind: 'bag', why: 'one entry per visible device' },
  { path: '$.devices[*].name', kind: 'type' },
  { path: '$.devices[*].type', kind: 'type' },
  { path: '$.devices[*].index', kind: 'any', why: 'null on CPU, a number on a GPU' },
  { path: '$.devices[*].vram_total', kind: 'type' },
  { path: '$.devices[*].vram_free', kind: 'type' },
  { path: '$.devices[*].torch_vram_total', kind: 'type' },
  { path: '$.devices[*].torch_vram_free', kind: 'type' },
];

/**
 * Compares `actual` with `recorded`; returns every difference (empty when they match).
 *
 * @example
 * const diffs = compareShape(await res.json(), exchange.response.body_json);
 * if (diffs.length) throw new Error(formatDiffs(diffs));
 */
export function compareShape(
  actual: unknown,
  recorded: unknown,
  options: CompareOptions = {},
): ShapeDiff[] {
  const rules = [...(options.rules ?? DEFAULT_RULES), ...(options.extra ?? [])].map(compileRule);
  const diffs: ShapeDiff[] = [];
  new Comparer(rules, diffs).compare(actual, recorded, []);
  return diffs;
}

/**
 * Throws an Error listing every difference, prefixed by `label`; does nothing when they match.
 *
 * @example
 * assertShape(body, exchange.response.body_json, 'GET /queue', { extra: [{ path: '$..number', kind: 'type' }] });
 */
export function assertShape(
  actual: unknown,
  recorded: unknown,
  label: string,
  options: CompareOptions = {},
): void {
  const diffs = compareShape(actual, recorded, options);
  if (diffs.length > 0)
    throw new Error(`${label}: differs from the recording\n${formatDiffs(diffs)}`);
}

/**
 * One line per difference (`$.a.b: expected 'x' got 'y'`), at most `limit` lines.
 *
 * @example
 * console.log(formatDiffs(compareShape(a, b)));
 */
export function formatDiffs(diffs: readonly ShapeDiff[], limit = 40): string {
  const lines = diffs.slice(0, limit).map((d) => `  ${d.path}: ${d.message}`);
  if (diffs.length > limit) lines.push(`  ... and ${diffs.length - limit} more`);
  return lines.join('\n');
}

/** The JSON type of a value: null, array, object, string, number, boolean (or undefined). */
export function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** A short printable form of a value for diff messages. */
export function preview(value: unknown, max = 60): string {
  if (value === undefined) return 'nothing';
  const text = typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

interface CompiledRule {
  rule: ShapeRule;
  pattern: PathPattern;
}

function compileRule(rule: ShapeRule): CompiledRule {
  return { rule, pattern: parsePathPattern(rule.path) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Comparer {
  /** `shapeOnly`: scalars are compared by type (inside bag elements). */
  constructor(
    private readonly rules: readonly CompiledRule[],
    private readonly diffs: ShapeDiff[],
    private readonly shapeOnly = false,
  ) {}

  compare(actual: unknown, recorded: unknown, path: PathSegment[]): void {
    const rule = this.ruleAt(path);
    switch (rule?.kind) {
      case 'any':
        return;
      case 'type':
        if (jsonType(actual) !== jsonType(recorded)) this.typeDiff(actual, recorded, path);
        return;
      case 'digits':
        if (
          typeof actual !== 'string' ||
          typeof recorded !== 'string' ||
          actual.replace(/\d+/g, '#') !== recorded.replace(/\d+/g, '#')
        ) {
          this.add(
            path,
            `expected ${preview(recorded)} (digits may differ) got ${preview(actual)}`,
          );
        }
        return;
      case 'check': {
        const message = rule.check(actual, recorded);
        if (message) this.add(path, message);
        return;
      }
      case 'value':
        new Comparer([], this.diffs).compare(actual, recorded, path);
        return;
    }
    if (jsonType(actual) !== jsonType(recorded)) {
      this.typeDiff(actual, recorded, path);
      return;
    }
    if (Array.isArray(actual) && Array.isArray(recorded)) {
      if (rule?.kind === 'bag') this.bag(actual, recorded, rule.of, path);
      else if (rule?.kind === 'set') this.set(actual, recorded, path);
      else this.sequence(actual, recorded, path, rule?.kind === 'prefix');
      return;
    }
    if (isObject(actual) && isObject(recorded)) {
      if (rule?.kind === 'keys') this.dynamicKeys(actual, recorded, path);
      else this.object(actual, recorded, path, rule?.kind === 'prefix');
      return;
    }
    if (actual !== recorded && !this.shapeOnly) {
      this.add(path, `expected ${preview(recorded)} got ${preview(actual)}`);
    }
  }

  private ruleAt(path: readonly PathSegment[]): ShapeRule | undefined {
    for (let i = this.rules.length - 1; i >= 0; i--) {
      const compiled = this.rules[i]!;
      if (matchesPath(compiled.pattern, path)) return compiled.rule;
    }
    return undefined;
  }

  private object(
    actual: Record<string, unknown>,
    recorded: Record<string, unknown>,
    path: PathSegment[],
    prefix: boolean,
  ): void {
    const recordedKeys = keysInOrder(recorded);
    let actualKeys = keysInOrder(actual);
    if (prefix) actualKeys = actualKeys.slice(0, recordedKeys.length);
    const inActual = new Set(actualKeys);
    const inRecorded = new Set(recordedKeys);
    for (const key of recordedKeys) {
      if (!inActual.has(key)) {
        this.add([...path, key], `missing (expected ${preview(recorded[key])})`);
      }
    }
    for (const key of actualKeys) {
      if (!inRecorded.has(key))
        this.add([...path, key], `unexpected key (got ${preview(actual[key])})`);
    }
    const commonRecorded = recordedKeys.filter((k) => inActual.has(k));
    const commonActual = actualKeys.filter((k) => inRecorded.has(k));
    if (commonRecorded.join('\u0000') !== commonActual.join('\u0000')) {
      this.add(
        path,
        `key order: expected [${commonRecorded.join(', ')}] got [${commonActual.join(', ')}]`,
      );
    }
    for (const key of commonRecorded) this.compare(actual[key], recorded[key], [...path, key]);
  }

  private dynamicKeys(
    actual: Record<string, unknown>,
    recorded: Record<string, unknown>,
    path: PathSegment[],
  ): void {
    const recordedKeys = keysInOrder(recorded);
    const actualKeys = keysInOrder(actual);
    if (recordedKeys.length !== actualKeys.length) {
      this.add(path, `expected ${recordedKeys.length} entries got ${actualKeys.length}`);
    }
    const n = Math.min(recordedKeys.length, actualKeys.length);
    for (let i = 0; i < n; i++) {
      const key = actualKeys[i]!;
      this.compare(actual[key], recorded[recordedKeys[i]!], [...path, key]);
    }
  }

  private sequence(
    actual: readonly unknown[],
    recorded: readonly unknown[],
    path: PathSegment[],
    prefix: boolean,
  ): void {
    const lengthOk = prefix ? actual.length >= recorded.length : actual.length === recorded.length;
    if (!lengthOk) {
      this.add(
        path,
        `expected ${prefix ? 'at least ' : ''}${recorded.length} elements got ${actual.length}`,
      );
    }
    const n = Math.min(actual.length, recorded.length);
    for (let i = 0; i < n; i++) this.compare(actual[i], recorded[i], [...path, i]);
  }

  private set(actual: readonly unknown[], recorded: readonly unknown[], path: PathSegment[]): void {
    const unused = recorded.map((_, i) => i);
    const unmatched: number[] = [];
    actual.forEach((element, i) => {
      const hit = unused.findIndex((r) => this.trial(element, recorded[r], [...path, i]) === 0);
      if (hit < 0) unmatched.push(i);
      else unused.splice(hit, 1);
    });
    if (unmatched.length || unused.length) {
      const got = unmatched.map((i) => preview(actual[i], 30)).join(', ');
      const missing = unused.map((i) => preview(recorded[i], 30)).join(', ');
      this.add(
        path,
        `as a set: ${missing ? `missing [${missing}]` : ''}${missing && got ? '; ' : ''}${got ? `unexpected [${got}]` : ''}`,
      );
    }
  }

  private bag(
    actual: readonly unknown[],
    recorded: readonly unknown[],
    of: JsonValue | undefined,
    path: PathSegment[],
  ): void {
    const templates: unknown[] = recorded.length ? [...recorded] : of === undefined ? [] : [of];
    if (!templates.length) return;
    actual.forEach((element, i) => {
      let best: ShapeDiff[] | undefined;
      for (const template of templates) {
        const found: ShapeDiff[] = [];
        new Comparer(this.rules, found, true).compare(element, template, [...path, i]);
        if (!found.length) return;
        if (!best || found.length < best.length) best = found;
      }
      this.add([...path, i], 'matches no recorded element; closest differs:');
      this.diffs.push(...(best ?? []));
    });
  }

  /** Number of differences, without recording them. */
  private trial(actual: unknown, recorded: unknown, path: PathSegment[]): number {
    const found: ShapeDiff[] = [];
    new Comparer(this.rules, found, this.shapeOnly).compare(actual, recorded, path);
    return found.length;
  }

  private typeDiff(actual: unknown, recorded: unknown, path: PathSegment[]): void {
    this.add(
      path,
      `expected ${jsonType(recorded)} ${preview(recorded)} got ${jsonType(actual)} ${preview(actual)}`,
    );
  }

  private add(path: readonly PathSegment[], message: string): void {
    this.diffs.push({ path: formatPath(path), message });
  }
}
