/**
 * Tiny JSON-path patterns for the shape comparator's rules, and the printable form of a concrete
 * path. A pattern starts with `$` and is made of:
 * - `.name` or `["any key"]`: that object key;
 * - `.*`: any object key; `[3]`: that array index; `[*]`: any array index;
 * - `..`: any number (zero or more) of segments, e.g. `$..timestamp` matches a timestamp anywhere.
 */

/** One step of a concrete path: an object key or an array index. */
export type PathSegment = string | number;

type Token =
  | { kind: 'key'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'anyKey' }
  | { kind: 'anyIndex' }
  | { kind: 'deep' };

/** A parsed pattern, ready for `matches`. */
export interface PathPattern {
  readonly source: string;
  readonly tokens: readonly Token[];
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses a pattern; throws a clear error on bad syntax.
 *
 * @example
 * const p = parsePathPattern('$.status.messages[*][1].timestamp');
 * matchesPath(p, ['status', 'messages', 0, 1, 'timestamp']); // true
 */
export function parsePathPattern(source: string): PathPattern {
  if (!source.startsWith('$')) throw new Error(`path pattern must start with "$": ${source}`);
  const tokens: Token[] = [];
  let i = 1;
  const fail = (why: string): never => {
    throw new Error(`bad path pattern ${JSON.stringify(source)} at ${i}: ${why}`);
  };
  while (i < source.length) {
    if (source.startsWith('..', i)) {
      tokens.push({ kind: 'deep' });
      i += 2;
      // `..name`, `..*` and `..[` continue without a dot of their own.
      if (source[i] === '[') continue;
      i = readName(source, i, tokens, fail);
    } else if (source[i] === '.') {
      i = readName(source, i + 1, tokens, fail);
    } else if (source[i] === '[') {
      const end = source.indexOf(']', i);
      if (end < 0) fail('unclosed [');
      const inner = source.slice(i + 1, end);
      if (inner === '*') tokens.push({ kind: 'anyIndex' });
      else if (/^\d+$/.test(inner)) tokens.push({ kind: 'index', index: Number(inner) });
      else if (/^(["']).*\1$/.test(inner)) tokens.push({ kind: 'key', name: inner.slice(1, -1) });
      else fail(`expected [n], [*] or ["key"], got [${inner}]`);
      i = end + 1;
    } else {
      fail(`unexpected ${JSON.stringify(source[i])}`);
    }
  }
  return { source, tokens };
}

function readName(
  source: string,
  start: number,
  tokens: Token[],
  fail: (why: string) => never,
): number {
  if (source[start] === '*') {
    tokens.push({ kind: 'anyKey' });
    return start + 1;
  }
  let end = start;
  while (end < source.length && source[end] !== '.' && source[end] !== '[') end++;
  const name = source.slice(start, end);
  if (!name) fail('empty key name');
  tokens.push({ kind: 'key', name });
  return end;
}

/** Whether a concrete path matches a pattern (the whole path, not a prefix). */
export function matchesPath(pattern: PathPattern, path: readonly PathSegment[]): boolean {
  return matchFrom(pattern.tokens, 0, path, 0);
}

function matchFrom(
  tokens: readonly Token[],
  ti: number,
  path: readonly PathSegment[],
  pi: number,
): boolean {
  if (ti === tokens.length) return pi === path.length;
  const token = tokens[ti]!;
  if (token.kind === 'deep') {
    for (let skip = pi; skip <= path.length; skip++) {
      if (matchFrom(tokens, ti + 1, path, skip)) return true;
    }
    return false;
  }
  if (pi === path.length) return false;
  const segment = path[pi]!;
  const ok =
    (token.kind === 'key' && segment === token.name) ||
    (token.kind === 'index' && segment === token.index) ||
    (token.kind === 'anyKey' && typeof segment === 'string') ||
    (token.kind === 'anyIndex' && typeof segment === 'number');
  return ok && matchFrom(tokens, ti + 1, path, pi + 1);
}

/**
 * Printable form of a concrete path, e.g. `$.status.messages[1][0]` or `$["gw upload.png"]`.
 *
 * @example
 * formatPath(['status', 'messages', 1, 0]); // '$.status.messages[1][0]'
 */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '$';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}
