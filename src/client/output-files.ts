import { createHash } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import path from 'node:path';

/** One output written by `saveOutputs`. */
export interface SavedOutput {
  /** The output's index in the job. */
  index: number;
  /** Where it was written. */
  path: string;
  size: number;
  /** sha256 of the bytes written (hex); equal to the job record's. */
  sha256: string;
}

// Characters Windows refuses in names, control characters, and both separators.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
const UNSAFE = /[<>:"/\\|?*\u0000-\u001f\u007f]/g;
const RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i;

/**
 * A file name safe to create in a folder from a name the server gave: only its last path segment,
 * unsafe characters replaced, no leading dots, at most 200 characters; `output-<index>` when
 * nothing usable is left.
 *
 * @example
 * safeOutputName('../../etc/passwd', 0); // 'passwd'
 * safeOutputName('..', 3); // 'output-3'
 */
export function safeOutputName(name: string | null | undefined, index: number): string {
  const last = (name ?? '').split(/[/\\]/).pop() ?? '';
  let safe = last
    .replace(UNSAFE, '_')
    .replace(/^[.\s]+/, '')
    .replace(/[.\s]+$/, '');
  if (RESERVED.test(safe)) safe = `_${safe}`;
  if (safe.length > 200) {
    const ext = path.extname(safe).slice(0, 20);
    safe = safe.slice(0, 200 - ext.length) + ext;
  }
  return safe === '' ? `output-${index}` : safe;
}

/** `name`, then `name-1.ext`, `name-2.ext`, ... */
function candidate(name: string, n: number): string {
  if (n === 0) return name;
  const ext = path.extname(name);
  return `${name.slice(0, name.length - ext.length)}-${n}${ext}`;
}

/**
 * Writes a stream into `dir` under `name` without ever replacing a file: a taken name gets a
 * suffix (`-1`, `-2`, ...). Returns the path, size and sha256 of what was written.
 *
 * @example
 * const saved = await writeNewFile(dir, 'out.png', response.body);
 */
export async function writeNewFile(
  dir: string,
  name: string,
  stream: ReadableStream<Uint8Array>,
): Promise<{ path: string; size: number; sha256: string }> {
  let file: Awaited<ReturnType<typeof open>> | undefined;
  let target = '';
  for (let n = 0; n < 10_000 && !file; n++) {
    target = path.join(dir, candidate(name, n));
    try {
      file = await open(target, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  if (!file) throw new Error(`no free file name for ${name} in ${dir}`);
  const hash = createHash('sha256');
  let size = 0;
  try {
    const reader = stream.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      hash.update(value);
      size += value.byteLength;
      await file.write(value);
    }
    await file.close();
  } catch (err) {
    await file.close().catch(() => undefined);
    await unlink(target).catch(() => undefined);
    throw err;
  }
  return { path: target, size, sha256: hash.digest('hex') };
}
