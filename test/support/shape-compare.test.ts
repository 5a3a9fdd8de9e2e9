import { describe, expect, it } from 'vitest';
import { matchesPath, parsePathPattern } from './json-path.js';
import { keysInOrder, parseJsonOrdered } from './ordered-json.js';
import { assertShape, compareShape, formatDiffs, SYSTEM_STATS_RULES } from './shape-compare.js';

const messages = (second: string) => ({
  status: {
    status_str: 'success',
    completed: true,
    messages: [
      ['execution_start', { prompt_id: 'a', timestamp: 1 }],
      [second, { nodes: [], prompt_id: 'a', timestamp: 2 }],
    ],
  },
});

describe('compareShape', () => {
  it('accepts the same structure when only volatile values differ', () => {
    const recorded = {
      prompt_id: '0b36b790-b7ad-46db-aa1b-1651bf4e7441',
      timestamp: 1795564727090,
      output: { images: [{ filename: 'gw_empty_00001_.png', subfolder: '', type: 'output' }] },
    };
    const actual = {
      prompt_id: 'f0f0f0f0-0000-4000-8000-000000000000',
      timestamp: 1,
      output: { images: [{ filename: 'gw_empty_00042_.png', subfolder: '', type: 'output' }] },
    };
    expect(compareShape(actual, recorded)).toEqual([]);
  });

  it('names the path and both values of a changed scalar', () => {
    const diffs = compareShape(messages('execution_error'), messages('execution_cached'));
    expect(formatDiffs(diffs)).toBe(
      "  $.status.messages[1][0]: expected 'execution_cached' got 'execution_error'",
    );
  });

  it('fails on a wrong key order', () => {
    const diffs = compareShape({ b: 1, a: 2 }, { a: 2, b: 1 });
    expect(diffs).toEqual([{ path: '$', message: 'key order: expected [a, b] got [b, a]' }]);
  });

  it('sees the wire order of integer-like keys, which plain objects would hide', () => {
    const actual = parseJsonOrdered('{"2": {}, "10": {}}');
    const recorded = parseJsonOrdered('{"10": {}, "2": {}}');
    expect(formatDiffs(compareShape(actual, recorded))).toContain(
      'key order: expected [10, 2] got [2, 10]',
    );
  });

  it('fails on a missing key and on an unexpected one', () => {
    const diffs = compareShape({ node: '2', extra: 1 }, { node: '2', display_node: '2' });
    expect(diffs).toEqual([
      { path: '$.display_node', message: "missing (expected '2')" },
      { path: '$.extra', message: 'unexpected key (got 1)' },
    ]);
  });

  it('fails on a changed JSON type even where values may differ', () => {
    const diffs = compareShape({ prompt_id: null }, { prompt_id: 'abc' });
    expect(diffs).toEqual([
      { path: '$.prompt_id', message: "expected string 'abc' got null null" },
    ]);
  });

  it('compares arrays as ordered sequences by default', () => {
    expect(compareShape(['1', '2'], ['2', '1']).map((d) => d.path)).toEqual(['$[0]', '$[1]']);
    expect(compareShape(['1'], ['1', '2'])).toEqual([
      { path: '$', message: 'expected 2 elements got 1' },
    ]);
  });

  it('compares set-like arrays in any order but with the same members', () => {
    expect(compareShape({ executed: ['10', '1'] }, { executed: ['1', '10'] })).toEqual([]);
    const diffs = compareShape({ executed: ['10', '2'] }, { executed: ['1', '10'] });
    expect(formatDiffs(diffs)).toContain("as a set: missing ['1']; unexpected ['2']");
  });

  it('accepts a bag of any length whose elements all have a recorded shape', () => {
    const rules = [{ path: '$', kind: 'bag' as const, of: '' }];
    expect(compareShape(['a.safetensors', 'b.ckpt'], [], { extra: rules })).toEqual([]);
    const diffs = compareShape(['ok', 3], [], { extra: rules });
    expect(formatDiffs(diffs)).toContain('$[1]: matches no recorded element');
  });

  it('pairs values of id-keyed objects in order, whatever the keys', () => {
    const extra = [{ path: '$', kind: 'keys' as const }];
    const recorded = { 'id-1': { status: 'a' }, 'id-2': { status: 'b' } };
    expect(compareShape({ x: { status: 'a' }, y: { status: 'b' } }, recorded, { extra })).toEqual(
      [],
    );
    expect(compareShape({ x: { status: 'b' }, y: { status: 'a' } }, recorded, { extra })).toEqual([
      { path: '$.x.status', message: "expected 'a' got 'b'" },
      { path: '$.y.status', message: "expected 'b' got 'a'" },
    ]);
  });

  it('lets a later rule override an earlier one', () => {
    const recorded = { exception_message: 'index 3 is out of bounds' };
    expect(compareShape({ exception_message: 'other' }, recorded)).toEqual([]);
    const extra = [{ path: '$.exception_message', kind: 'value' as const }];
    expect(compareShape({ exception_message: 'other' }, recorded, { extra })).toHaveLength(1);
  });

  it('runs custom checks', () => {
    const extra = [
      {
        path: '$.number',
        kind: 'check' as const,
        check: (a: unknown) => (typeof a === 'number' && a < 0 ? undefined : 'expected < 0'),
      },
    ];
    expect(compareShape({ number: -7 }, { number: -5 }, { extra })).toEqual([]);
    expect(compareShape({ number: 7 }, { number: -5 }, { extra })).toEqual([
      { path: '$.number', message: 'expected < 0' },
    ]);
  });

  it('ignores machine figures in /system_stats but not the keys', () => {
    const recorded = {
      system: { os: 'linux', ram_total: 1, argv: ['main.py', '--cpu'] },
      devices: [{ name: 'cpu', type: 'cpu', index: null, vram_total: 1 }],
    };
    const actual = {
      system: { os: 'linux', ram_total: 2, argv: ['main.py'] },
      devices: [
        { name: 'cuda:0', type: 'cuda', index: 0, vram_total: 5 },
        { name: 'cuda:1', type: 'cuda', index: 1, vram_total: 5 },
      ],
    };
    expect(compareShape(actual, recorded, { extra: SYSTEM_STATS_RULES })).toEqual([]);
    const broken = { ...actual, system: { ram_total: 2, os: 'linux', argv: [] } };
    expect(compareShape(broken, recorded, { extra: SYSTEM_STATS_RULES })).toHaveLength(1);
  });

  it('throws a readable error from assertShape', () => {
    expect(() => assertShape({ a: 1 }, { a: 2 }, 'GET /x')).toThrow(
      'GET /x: differs from the recording\n  $.a: expected 2 got 1',
    );
  });
});

describe('path patterns', () => {
  it('match keys, indexes, wildcards and any depth', () => {
    const p = (s: string) => parsePathPattern(s);
    expect(matchesPath(p('$..timestamp'), ['timestamp'])).toBe(true);
    expect(matchesPath(p('$..timestamp'), ['a', 0, 'timestamp'])).toBe(true);
    expect(matchesPath(p('$..timestamp'), ['timestamp', 'x'])).toBe(false);
    expect(matchesPath(p('$.*.prompt[1]'), ['id', 'prompt', 1])).toBe(true);
    expect(matchesPath(p('$.*.prompt[1]'), ['id', 'prompt', 0])).toBe(false);
    expect(matchesPath(p('$[*].data'), [3, 'data'])).toBe(true);
    expect(matchesPath(p('$["a b"]'), ['a b'])).toBe(true);
    expect(() => p('status')).toThrow('must start with "$"');
    expect(() => p('$[x]')).toThrow('bad path pattern');
  });
});

describe('parseJsonOrdered', () => {
  it('parses like JSON.parse and keeps wire key order', () => {
    const text = '{"b": [1, -2.5e3, true, null, "x\\"y"], "10": {"\\u00e9": {}}, "2": ""}';
    const value = parseJsonOrdered(text);
    expect(value).toEqual(JSON.parse(text));
    expect(keysInOrder(value as object)).toEqual(['b', '10', '2']);
  });

  it('rejects bad JSON with an error', () => {
    expect(() => parseJsonOrdered('{"a": 1,}')).toThrow(SyntaxError);
    expect(() => parseJsonOrdered('[1] x')).toThrow('unexpected text');
    expect(() => parseJsonOrdered('')).toThrow(SyntaxError);
  });
});
