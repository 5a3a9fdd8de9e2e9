/** One satisfiable byte range (inclusive end). */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a `Range` header for a file of `size` bytes: one range (`bytes=a-b`, `bytes=a-`,
 * `bytes=-n`). Returns undefined when absent or not understood (serve the whole file), or
 * 'unsatisfiable' (416). Several ranges are answered with the whole file.
 *
 * @example
 * parseRange('bytes=0-9', 100); // { start: 0, end: 9 }
 * parseRange('bytes=200-', 100); // 'unsatisfiable'
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const n = Number(b);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}
