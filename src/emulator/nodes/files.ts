/**
 * File references the way ComfyUI's folder_paths resolves them: names relative to the input
 * directory, optional " [output]" / " [input]" / " [temp]" annotations, and the list of image
 * files LoadImage offers.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { EmulatorDirs } from './types.js';

/**
 * Splits an annotation off a file name. Like ComfyUI, the suffix is cut by length, so
 * "x.png [output]" gives "x.png".
 */
export function splitAnnotation(
  name: string,
  dirs: EmulatorDirs,
): { name: string; baseDir: string | undefined } {
  if (name.endsWith('[output]')) return { name: name.slice(0, -9), baseDir: dirs.output };
  if (name.endsWith('[input]')) return { name: name.slice(0, -8), baseDir: dirs.input };
  if (name.endsWith('[temp]')) return { name: name.slice(0, -7), baseDir: dirs.temp };
  return { name, baseDir: undefined };
}

/**
 * The absolute path an (annotated) image name refers to, or undefined when it would leave its base
 * directory (absolute paths, `..`).
 *
 * @example
 * annotatedPath('sub/x.png', dirs); // "<input>/sub/x.png"
 * annotatedPath('x.png [output]', dirs); // "<output>/x.png"
 */
export function annotatedPath(name: string, dirs: EmulatorDirs): string | undefined {
  const split = splitAnnotation(name, dirs);
  const base = path.resolve(split.baseDir ?? dirs.input);
  const full = path.resolve(base, split.name);
  if (full !== base && !full.startsWith(base + path.sep)) return undefined;
  return full;
}

/** Whether an (annotated) image name points at something that exists (LoadImage's validation). */
export function annotatedPathExists(name: string, dirs: EmulatorDirs): boolean {
  const full = annotatedPath(name, dirs);
  return full !== undefined && existsSync(full);
}

const IMAGE_EXTENSIONS = new Set([
  'png',
  'jpg',
  'jpeg',
  'jpe',
  'jfif',
  'gif',
  'bmp',
  'ico',
  'svg',
  'tif',
  'tiff',
  'webp',
  'avif',
  'heic',
  'heif',
  'pbm',
  'pgm',
  'ppm',
  'pnm',
  'ras',
  'rgb',
  'xbm',
  'xpm',
  'xwd',
  'ief',
]);

/** Whether the name has an extension whose MIME type is `image/*`. */
export function isImageFileName(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot >= 0 && IMAGE_EXTENSIONS.has(name.slice(dot + 1).toLowerCase());
}

const listingCache = new Map<string, { mtimeMs: number; files: string[] }>();

/**
 * Image files directly in the input directory, sorted (LoadImage's combo list). Subfolders are not
 * listed, as on a real server. Cached per directory until its modification time changes.
 *
 * @example
 * listInputImages('/srv/input'); // ["a.png", "b (1).png"]
 */
export function listInputImages(inputDir: string): string[] {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(inputDir).mtimeMs;
  } catch {
    return [];
  }
  const cached = listingCache.get(inputDir);
  if (cached && cached.mtimeMs === mtimeMs) return cached.files;
  const files: string[] = [];
  for (const entry of readdirSync(inputDir, { withFileTypes: true })) {
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      try {
        isFile = statSync(path.join(inputDir, entry.name)).isFile();
      } catch {
        isFile = false;
      }
    }
    if (isFile && isImageFileName(entry.name)) files.push(entry.name);
  }
  files.sort(comparePython);
  listingCache.set(inputDir, { mtimeMs, files });
  return files;
}

/** Python's default string order (by code point). */
export function comparePython(a: string, b: string): number {
  const ca = Array.from(a);
  const cb = Array.from(b);
  const n = Math.min(ca.length, cb.length);
  for (let i = 0; i < n; i++) {
    const x = ca[i]?.codePointAt(0) ?? 0;
    const y = cb[i]?.codePointAt(0) ?? 0;
    if (x !== y) return x - y;
  }
  return ca.length - cb.length;
}

/** SHA-256 of a file, hex (LoadImage's IS_CHANGED); NaN when it cannot be read. */
export function fileSha256(file: string): string | number {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return Number.NaN;
  }
}

/** Python's repr of a path inside an OSError message: `'...'`. */
export function quotePath(p: string): string {
  return p.includes("'") && !p.includes('"') ? `"${p}"` : `'${p.replace(/'/g, "\\'")}'`;
}
