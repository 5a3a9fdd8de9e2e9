import type { TextPosition } from './errors.js';

/** Outcome of {@link parseJsonText}. */
export type JsonTextResult =
  | { ok: true; value: unknown }
  | { ok: false; problem: string; position: TextPosition | undefined };

/**
 * 1-based line and column of a 0-based offset.
 *
 * @example
 * positionAt('[\n  1,,]', 6); // { offset: 6, line: 2, column: 5 }
 */
export function positionAt(text: string, offset: number): TextPosition {
  const clamped = Math.max(0, Math.min(offset, text.length));
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < clamped; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { offset: clamped, line, column: clamped - lineStart + 1 };
}

class SyntaxProblem {
  constructor(
    readonly offset: number,
    readonly problem: string,
  ) {}
}

const VALUE_HINT =
  'expected a JSON value (a string in double quotes, a number, true, false, null, [ ] or { })';
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const MAX_DEPTH = 512;

/**
 * Finds the first syntax error of a JSON text and says what was expected there. Only run after
 * `JSON.parse` failed: it walks the grammar itself because Node's messages differ between
 * versions and sometimes carry no position.
 */
function locate(text: string): SyntaxProblem | undefined {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] ?? '')) i++;
  };
  function fail(problem: string): never {
    throw new SyntaxProblem(i, problem);
  }
  const string = () => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail('the string is not closed; expected a closing "');
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return;
      }
      if (c < 0x20)
        fail('a string may not contain a raw line break or control character; write it as \\n');
      if (c === 92) {
        const e = text[i + 1] ?? '';
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            fail('\\u must be followed by 4 hex digits');
          }
          i += 6;
          continue;
        }
        if (!'"\\/bfnrt'.includes(e) || e === '') {
          fail(`'\\${e}' is not a JSON escape; write a backslash as \\\\`);
        }
        i += 2;
        continue;
      }
      i++;
    }
  };
  const value = (depth: number): void => {
    if (depth > MAX_DEPTH) fail('nested too deeply');
    ws();
    const c = text[i];
    if (c === undefined) fail(`the text ends too early; ${VALUE_HINT}`);
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] === "'")
          fail('property names need double quotes (JSON does not allow single quotes)');
        if (text[i] !== '"') fail('expected a property name in double quotes');
        string();
        ws();
        if (text[i] !== ':') fail("expected ':' after the property name");
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === '}')
            fail("expected another property after ','; remove the trailing comma");
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail(
          i >= text.length
            ? "the text ends too early; expected ',' or '}'"
            : "expected ',' or '}' after the property value",
        );
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] === ']' || text[i] === ',') fail(`expected a value; remove the extra ','`);
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === ']') fail("expected another value after ','; remove the trailing comma");
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail(
          i >= text.length
            ? "the text ends too early; expected ',' or ']'"
            : "expected ',' or ']' after the array element",
        );
      }
    }
    if (c === '"') {
      string();
      return;
    }
    if (c === "'") fail('strings need double quotes (JSON does not allow single quotes)');
    if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (!m) fail('not a valid number');
      i += m?.[0].length ?? 0;
      return;
    }
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    fail(`unexpected '${c}'; ${VALUE_HINT}`);
  };
  try {
    ws();
    if (i >= text.length) fail('the value is empty; expected JSON');
    value(0);
    ws();
    if (i < text.length) fail('unexpected text after the end of the JSON value');
    return undefined;
  } catch (err) {
    if (err instanceof SyntaxProblem) return err;
    throw err;
  }
}

/**
 * `JSON.parse` with an error that says where (offset, line, column) and what was expected,
 * without echoing the text back (it may hold secrets).
 *
 * @example
 * parseJsonText('[{"a":1,}]');
 * // { ok: false, problem: "expected another property after ','; remove the trailing comma",
 * //   position: { offset: 8, line: 1, column: 9 } }
 */
export function parseJsonText(text: string): JsonTextResult {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    const found = locate(text);
    if (found)
      return { ok: false, problem: found.problem, position: positionAt(text, found.offset) };
    const message = err instanceof Error ? err.message : String(err);
    const at = /at position (\d+)/.exec(message);
    return {
      ok: false,
      problem: message
        .replace(/, ".*" is not valid JSON$/s, '')
        .replace(/( in JSON)? at position \d+/, ''),
      position: at ? positionAt(text, Number(at[1])) : undefined,
    };
  }
}

/**
 * `line 3, column 5 (offset 42)`, or `an unknown position`.
 *
 * @example
 * describePosition({ offset: 42, line: 3, column: 5 }); // 'line 3, column 5 (offset 42)'
 */
export function describePosition(position: TextPosition | undefined): string {
  return position
    ? `line ${position.line}, column ${position.column} (offset ${position.offset})`
    : 'an unknown position';
}
