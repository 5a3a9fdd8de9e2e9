/**
 * Where SaveImage-style nodes write: ComfyUI's `get_save_image_path`. The prefix may carry a
 * subfolder and `%year%`-style variables; files are `<name>_<counter:05>_.<ext>` and the counter is
 * 1 + the highest one already in the folder for that name.
 *
 * The folder is listed once per (folder, name); after that the next counter is kept in memory, so
 * saving stays fast in folders with many files. Before reusing a remembered counter the target
 * file is checked (`allocate`), or the caller creates it exclusively and asks for a `rescan` when
 * something else wrote it meanwhile (`claim`), and the folder is listed again.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { NodeExecutionError } from './types.js';

export interface SaveTarget {
  /** Absolute folder the files go to. */
  folder: string;
  /** File name stem (may contain `%batch_num%`). */
  filename: string;
  /** Subfolder relative to the base directory, as reported in the UI ("" for none). */
  subfolder: string;
  /** Counter of the first file. */
  counter: number;
}

function two(n: number): string {
  return String(n).padStart(2, '0');
}

function expandVars(prefix: string, width: number, height: number, now: Date): string {
  return prefix
    .replaceAll('%width%', String(width))
    .replaceAll('%height%', String(height))
    .replaceAll('%year%', String(now.getFullYear()))
    .replaceAll('%month%', two(now.getMonth() + 1))
    .replaceAll('%day%', two(now.getDate()))
    .replaceAll('%hour%', two(now.getHours()))
    .replaceAll('%minute%', two(now.getMinutes()))
    .replaceAll('%second%', two(now.getSeconds()));
}

/** Python's os.path.normpath for POSIX paths. */
function normpath(p: string): string {
  if (p === '') return '.';
  let out = path.posix.normalize(p);
  if (out.length > 1 && out.endsWith('/')) out = out.slice(0, -1);
  return out;
}

function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  if (i < 0) return '';
  const head = p.slice(0, i + 1);
  return /^\/+$/.test(head) ? head : head.replace(/\/+$/, '');
}

function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

function commonPath(a: string, b: string): string {
  const pa = a.split('/');
  const pb = b.split('/');
  const out: string[] = [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) break;
    out.push(pa[i] ?? '');
  }
  const joined = out.join('/');
  return joined === '' ? '/' : joined;
}

/** Python's int() on a string, or undefined when it would raise. */
function pyInt(s: string): number | undefined {
  return /^\s*[+-]?\d+\s*$/.test(s) ? Number.parseInt(s.trim(), 10) : undefined;
}

/** A resolved prefix: its folder, file stem and counter key. */
interface Place {
  folder: string;
  filename: string;
  subfolder: string;
  prefixLen: number;
  key: string;
}

/** Bound on remembered prefixes (prompts may use a fresh prefix each). */
const MAX_PLACES = 1000;

/** Keeps SaveImage counters of one emulated instance. */
export class SavePathAllocator {
  private readonly next = new Map<string, number>();
  private readonly places = new Map<string, Place>();

  /**
   * Resolves a prefix for `count` files of `ext` and reserves their counters.
   *
   * @example
   * const t = allocator.allocate('/out', 'ComfyUI', 64, 64, 1, 'png');
   * // t.counter === 1 in an empty folder; file `${t.filename}_00001_.png`
   */
  allocate(
    baseDir: string,
    filenamePrefix: string,
    width: number,
    height: number,
    count: number,
    ext: string,
    now: Date = new Date(),
  ): SaveTarget {
    return this.resolve(baseDir, filenamePrefix, width, height, count, ext, now, 'check');
  }

  /**
   * Like {@link allocate}, but trusts the remembered counter without touching the disk (one
   * `stat` less per save). The caller must create the files exclusively (flag `'wx'`) and, when
   * that fails with EEXIST, call {@link rescan} with the same arguments and retry.
   *
   * @example
   * let t = allocator.claim('/out', 'ComfyUI', 8, 8, 1, 'png');
   * // on EEXIST: t = allocator.rescan('/out', 'ComfyUI', 8, 8, 1, 'png');
   */
  claim(
    baseDir: string,
    filenamePrefix: string,
    width: number,
    height: number,
    count: number,
    ext: string,
    now: Date = new Date(),
  ): SaveTarget {
    return this.resolve(baseDir, filenamePrefix, width, height, count, ext, now, 'trust');
  }

  /**
   * Lists the folder again (something else wrote there) and reserves counters after the highest.
   *
   * @example
   * const t = allocator.rescan('/out', 'ComfyUI', 8, 8, 1, 'png');
   */
  rescan(
    baseDir: string,
    filenamePrefix: string,
    width: number,
    height: number,
    count: number,
    ext: string,
    now: Date = new Date(),
  ): SaveTarget {
    return this.resolve(baseDir, filenamePrefix, width, height, count, ext, now, 'rescan');
  }

  private resolve(
    baseDir: string,
    filenamePrefix: string,
    width: number,
    height: number,
    count: number,
    ext: string,
    now: Date,
    mode: 'check' | 'trust' | 'rescan',
  ): SaveTarget {
    const place = filenamePrefix.includes('%')
      ? this.place(baseDir, expandVars(filenamePrefix, width, height, now))
      : this.placeOf(baseDir, filenamePrefix);
    const { folder, filename, subfolder, key, prefixLen } = place;
    let counter = this.next.get(key);
    if (
      counter === undefined ||
      mode === 'rescan' ||
      (mode === 'check' && existsSync(this.file(place, counter, ext)))
    ) {
      counter = this.scan(folder, filename, prefixLen);
    }
    this.next.set(key, counter + count);
    return { folder, filename, subfolder, counter };
  }

  /** Where a variable-free prefix leads, resolved once per (base, prefix). */
  private placeOf(baseDir: string, prefix: string): Place {
    const cacheKey = `${baseDir}\u0000${prefix}`;
    let place = this.places.get(cacheKey);
    if (place === undefined) {
      place = this.place(baseDir, prefix);
      if (this.places.size >= MAX_PLACES) this.places.clear();
      this.places.set(cacheKey, place);
    }
    return place;
  }

  private place(baseDir: string, prefix: string): Place {
    const base = path.resolve(baseDir);
    const norm = normpath(prefix);
    const subfolder = dirname(norm);
    const filename = basename(norm);
    const folder = path.resolve(base, subfolder);
    const common = commonPath(base, folder);
    if (common !== base) {
      throw new NodeExecutionError(
        'Exception',
        `**** ERROR: Saving image outside the output folder is not allowed.\n full_output_folder: ${folder}\n         output_dir: ${base}\n         commonpath: ${common}`,
      );
    }
    const prefixLen = basename(prefix).length;
    return {
      folder,
      filename,
      subfolder,
      prefixLen,
      key: `${folder}\u0000${filename}\u0000${prefixLen}`,
    };
  }

  private file(place: Place, counter: number, ext: string): string {
    return path.join(
      place.folder,
      `${place.filename.replaceAll('%batch_num%', '0')}_${String(counter).padStart(5, '0')}_.${ext}`,
    );
  }

  /** Forgets remembered counters (e.g. after the output folder was emptied). */
  reset(): void {
    this.next.clear();
  }

  private scan(folder: string, filename: string, prefixLen: number): number {
    let names: string[];
    try {
      names = readdirSync(folder);
    } catch {
      mkdirSync(folder, { recursive: true });
      return 1;
    }
    let best: number | undefined;
    for (const name of names) {
      const head = name.slice(0, prefixLen + 1);
      if (head.slice(0, -1) !== filename || head.slice(-1) !== '_') continue;
      const digits = pyInt(name.slice(prefixLen + 1).split('_')[0] ?? '') ?? 0;
      if (best === undefined || digits > best) best = digits;
    }
    return best === undefined ? 1 : best + 1;
  }
}
