import { describe, expect, it } from 'vitest';
import { parseJsonText, positionAt } from './json-text.js';

describe('parseJsonText', () => {
  it('parses valid JSON', () => {
    expect(parseJsonText('[1, {"a": true}]')).toEqual({ ok: true, value: [1, { a: true }] });
  });

  it.each([
    ['[{"a":1,}]', 8, 1, 9, 'remove the trailing comma'],
    ['[\n  {"a": 1\n  "b": 2}]', 14, 3, 3, "expected ',' or '}' after the property value"],
    ["[{'a':1}]", 2, 1, 3, 'JSON does not allow single quotes'],
    ['[1, abc]', 4, 1, 5, "unexpected 'a'; expected a JSON value"],
    ['[1,2', 4, 1, 5, "the text ends too early; expected ',' or ']'"],
    ['[1] x', 4, 1, 5, 'unexpected text after the end'],
    ['', 0, 1, 1, 'the value is empty'],
    ['{\n  "instances": [,]\n}', 18, 2, 17, "expected a value; remove the extra ','"],
    ['["a\nb"]', 3, 1, 4, 'raw line break'],
    ['["C:\\dir"]', 4, 1, 5, "'\\d' is not a JSON escape"],
    ['[01]', 2, 1, 3, "expected ',' or ']'"],
    ['{"a" 1}', 5, 1, 6, "expected ':'"],
  ])('%j -> offset %i (line %i, column %i): %s', (text, offset, line, column, fragment) => {
    const r = parseJsonText(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.position).toEqual({ offset, line, column });
    expect(r.problem).toContain(fragment);
  });

  it('does not echo the text back (it may hold secrets)', () => {
    const r = parseJsonText('[{"token": "s3cret" x}]');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem).not.toContain('s3cret');
  });

  it('positionAt counts lines and columns from 1', () => {
    expect(positionAt('ab\ncd', 4)).toEqual({ offset: 4, line: 2, column: 2 });
    expect(positionAt('ab', 99)).toEqual({ offset: 2, line: 1, column: 3 });
  });
});
