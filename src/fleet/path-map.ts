import type { PathMapping } from './instance.js';

function norm(p: string): string {
  return p.replace(/\\/g, '/');
}

// Windows drive paths compare case-insensitively, POSIX paths exactly.
function startsWith(path: string, prefix: string): boolean {
  const a = norm(path);
  const b = norm(prefix);
  if (/^[A-Za-z]:/.test(b)) return a.toLowerCase().startsWith(b.toLowerCase());
  return a.startsWith(b);
}

function translate(path: string, map: readonly PathMapping[], from: 'local' | 'remote'): string {
  const to = from === 'local' ? 'remote' : 'local';
  let best: PathMapping | undefined;
  for (const m of map) {
    if (startsWith(path, m[from]) && (!best || norm(m[from]).length > norm(best[from]).length))
      best = m;
  }
  if (!best) return path;
  return best[to] + norm(path).slice(norm(best[from]).length);
}

/**
 * Rewrites a client-side path to the instance's view of the shared file system, using the
 * longest matching `path_map` prefix; paths outside every prefix are returned unchanged.
 *
 * @example
 * toRemotePath('U:\\shots\\a.exr', [{ local: 'U:/', remote: '/home/me/ComfyUI/' }]);
 * // '/home/me/ComfyUI/shots/a.exr'
 */
export function toRemotePath(path: string, map: readonly PathMapping[]): string {
  return translate(path, map, 'local');
}

/**
 * The reverse of {@link toRemotePath}: an instance path as the client sees it.
 *
 * @example
 * toLocalPath('/home/me/ComfyUI/output/x.png', [{ local: 'U:/', remote: '/home/me/ComfyUI/' }]);
 * // 'U:/output/x.png'
 */
export function toLocalPath(path: string, map: readonly PathMapping[]): string {
  return translate(path, map, 'remote');
}
