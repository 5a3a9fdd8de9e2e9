import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** ComfyUI's three file folders. */
export type FolderType = 'input' | 'output' | 'temp';

const TYPES: readonly FolderType[] = ['input', 'output', 'temp'];

/** `type` as ComfyUI reads it, or undefined for anything else. */
export function folderType(value: unknown, fallback: FolderType): FolderType | undefined {
  if (value === undefined || value === null || value === '') return fallback;
  return TYPES.includes(value as FolderType) ? (value as FolderType) : undefined;
}

/** Splits `name [output]` into the name and the folder it names (ComfyUI's annotation). */
export function splitAnnotation(
  name: string,
  fallback: FolderType,
): { name: string; type: FolderType } {
  const m = /^(.*) \[(input|output|temp)\]$/.exec(name);
  return m?.[1] !== undefined ? { name: m[1], type: m[2] as FolderType } : { name, type: fallback };
}

function within(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** An upload as ComfyUI answers it. */
export interface UploadAnswer {
  name: string;
  subfolder: string;
  type: FolderType;
}

/** Where a /view request leads: a file, or ComfyUI's status for it. */
export type ViewTarget = { ok: true; file: string; name: string } | { ok: false; status: number };

/**
 * The gateway's own ComfyUI-style input/output/temp folders (`<root>/<type>/...`) for files
 * clients upload through the drop-in routes: ComfyUI's naming rules (same content → same name,
 * `name (1).png` on a collision, `overwrite`), and its path rules for uploads and /view.
 *
 * @example
 * const folders = new ComfyFileFolders(path.join(dataDir, 'comfy'));
 * const a = await folders.upload({ bytes, filename: 'x.png', subfolder: '', type: 'input', overwrite: false });
 * // { name: 'x.png', subfolder: '', type: 'input' }
 */
export class ComfyFileFolders {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** The folder of a type. */
  dirOf(type: FolderType): string {
    return path.join(this.root, type);
  }

  /** Stores an upload; undefined when the path leaves the folder (ComfyUI answers 400). */
  async upload(u: {
    bytes: Buffer;
    filename: string;
    subfolder: string;
    type: FolderType;
    overwrite: boolean;
  }): Promise<UploadAnswer | undefined> {
    const base = this.dirOf(u.type);
    const folder = path.resolve(base, path.normalize(u.subfolder === '' ? '.' : u.subfolder));
    let target = path.resolve(folder, u.filename);
    if (!within(base, folder) || !within(base, target) || path.dirname(target) !== folder) {
      return undefined;
    }
    await mkdir(folder, { recursive: true });
    let name = path.basename(target);
    if (!u.overwrite) {
      const ext = path.extname(name);
      const stem = name.slice(0, name.length - ext.length);
      const hash = sha256(u.bytes);
      // Bounded: a folder cannot hold more than this many collisions for one name in practice.
      for (let i = 1; i < 100_000 && existsSync(target); i++) {
        const same = await readFile(target).then(
          (b) => sha256(b) === hash,
          () => false,
        );
        if (same) return { name, subfolder: u.subfolder, type: u.type };
        name = `${stem} (${i})${ext}`;
        target = path.join(folder, name);
      }
    }
    const tmp = `${target}.${process.pid}.${Date.now()}.part`;
    await writeFile(tmp, u.bytes);
    await rename(tmp, target);
    return { name, subfolder: u.subfolder, type: u.type };
  }

  /**
   * ComfyUI's /view path rules: '..' or a leading '/' → 400, a subfolder outside the folder →
   * 403, only the basename of `filename` counts, missing → 404.
   */
  async resolveView(filename: string, subfolder: string, type: FolderType): Promise<ViewTarget> {
    if (filename.startsWith('/') || filename.includes('..')) return { ok: false, status: 400 };
    const base = this.dirOf(type);
    let dir = base;
    if (subfolder !== '') {
      dir = path.resolve(base, subfolder);
      if (!within(base, dir)) return { ok: false, status: 403 };
    }
    const name = path.basename(filename);
    const file = path.join(dir, name);
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) return { ok: false, status: 404 };
    return { ok: true, file, name };
  }

  /**
   * The file a LoadImage-style value names in the gateway's folders (`sub/x.png`,
   * `x.png [output]`), or undefined when there is none.
   */
  fileForValue(value: string): string | undefined {
    const { name, type } = splitAnnotation(value, 'input');
    if (name === '' || name.startsWith('/') || path.isAbsolute(name)) return undefined;
    const base = this.dirOf(type);
    const file = path.resolve(base, name);
    if (!within(base, file)) return undefined;
    try {
      return statSync(file).isFile() ? file : undefined;
    } catch {
      return undefined;
    }
  }
}
