import path from 'node:path';

/** Longest file name {@link safeFileName} returns (well under every file system's limit). */
export const MAX_SAFE_NAME_LENGTH = 150;

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
// Control characters and the characters Windows refuses in names (and both separators).
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
const UNSAFE_CHARS = /[\u0000-\u001f\u007f<>:"|?*\\/]/g;

/**
 * A file name that is safe on every platform, from any name an instance or client reports: only
 * the last path segment is kept, control and reserved characters become `_`, leading dots and
 * trailing dots/spaces go, Windows device names get a `_` prefix, and long names are shortened
 * keeping their extension. Never empty, never `.` or `..`.
 *
 * @example
 * safeFileName('../../etc/passwd'); // 'passwd'
 * safeFileName('C:\\out\\a:b.png'); // 'a_b.png'
 * safeFileName('..'); // 'file'
 */
export function safeFileName(name: string, fallback = 'file'): string {
  const last = name.split(/[\\/]/).pop() ?? '';
  let s = last.normalize('NFC').replace(UNSAFE_CHARS, '_');
  s = s.replace(/^[.\s]+/, '').replace(/[.\s]+$/, '');
  if (s === '') s = fallback;
  if (WINDOWS_RESERVED.test(s)) s = `_${s}`;
  if (s.length > MAX_SAFE_NAME_LENGTH) {
    const ext = path.extname(s).slice(0, 16);
    s = s.slice(0, MAX_SAFE_NAME_LENGTH - ext.length) + ext;
  }
  return s;
}

/**
 * Why a client-chosen file name is unusable as is (a path, traversal, control characters, too
 * long), or undefined when it is a plain name. Names of job inputs are checked with this rather
 * than silently changed, because the workflow refers to them by name.
 *
 * @example
 * fileNameProblem('photo.png'); // undefined
 * fileNameProblem('../x.png'); // 'must be a plain file name, without directories'
 */
export function fileNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > 255) return 'must be at most 255 characters';
  if (/[\\/]/.test(name)) return 'must be a plain file name, without directories';
  if (name === '.' || name === '..') return 'must be a file name, not . or ..';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'must not contain control characters';
  return undefined;
}

/**
 * Resolves `relative` under `root`, refusing anything that would land outside it (absolute paths,
 * `..` segments, drive letters).
 *
 * @example
 * resolveInside('/data/outputs', 'a/b.png'); // '/data/outputs/a/b.png'
 * resolveInside('/data/outputs', '../x'); // throws
 */
export function resolveInside(root: string, relative: string): string {
  if (path.isAbsolute(relative) || /^[A-Za-z]:/.test(relative) || relative.includes('\0')) {
    throw new Error(`path ${JSON.stringify(relative)} must be relative`);
  }
  const base = path.resolve(root);
  const full = path.resolve(base, relative);
  const rel = path.relative(base, full);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new Error(`path ${JSON.stringify(relative)} leaves ${base}`);
  }
  return full;
}
