import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { JobError } from './errors.js';
import { type ByteSource, writeHashed } from './hashed-write.js';
import { mimeFromName, sniffMime } from './mime-sniff.js';

/** Default largest input: 100 MB (ComfyUI's own default upload limit). */
export const DEFAULT_MAX_INPUT_BYTES = 100 * 1024 * 1024;

/** An input file in the store. */
export interface StoredInput {
  /** Hex sha256: the input's identity. */
  hash: string;
  size: number;
  /** Sniffed from the bytes (PNG, JPEG, WebP, ...), else from a data URL or the name. */
  mime: string;
  /** Absolute path of the stored file. */
  path: string;
  /** The same bytes were stored before (nothing new was written). */
  existed: boolean;
}

/** What {@link InputStore.put} accepts: bytes, a stream, or a base64 data URL / plain base64. */
export type InputData = ByteSource | string;

const HASH = /^[0-9a-f]{64}$/;
const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/s;

/**
 * Decodes a base64 data URL (`data:image/png;base64,...`) or plain base64 text, refusing anything
 * else with a clear message (URL-safe base64 and whitespace are accepted).
 *
 * @example
 * decodeBase64Input('data:image/png;base64,iVBORw0KGgo='); // { bytes, mime: 'image/png' }
 */
export function decodeBase64Input(
  text: string,
  maxBytes = DEFAULT_MAX_INPUT_BYTES,
): { bytes: Buffer; mime: string | undefined } {
  let payload = text;
  let mime: string | undefined;
  const m = DATA_URL.exec(text.trimStart());
  if (text.trimStart().startsWith('data:')) {
    if (!m)
      throw new JobError(
        'INPUT_INVALID',
        'malformed data URL (expected data:<type>;base64,<data>)',
      );
    if (!(m[2] ?? '').split(';').includes('base64')) {
      throw new JobError(
        'INPUT_INVALID',
        'data URL must be base64-encoded (data:<type>;base64,...)',
      );
    }
    mime = m[1] ? m[1].toLowerCase() : undefined;
    payload = m[3] ?? '';
  }
  const clean = payload.replace(/\s+/g, '');
  if (clean === '' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean) || clean.length % 4 === 1) {
    throw new JobError('INPUT_INVALID', 'input data is not valid base64 (nor a base64 data URL)');
  }
  if (Math.floor((clean.length * 3) / 4) - 2 > maxBytes) {
    throw new JobError('INPUT_TOO_LARGE', `input is larger than ${maxBytes} bytes`, {
      max_bytes: maxBytes,
    });
  }
  return { bytes: Buffer.from(clean, 'base64'), mime };
}

/**
 * Content-addressed store of job inputs under `<data dir>/inputs/ab/abcdef…` (sha256). Writes are
 * atomic (temporary file, fsync, rename), so a stored hash always has its complete file; the same
 * bytes are stored once.
 *
 * @example
 * const inputs = new InputStore(path.join(dataDir, 'inputs'));
 * const { hash, mime } = await inputs.put('data:image/png;base64,iVBORw0...', { name: 'in.png' });
 * const bytes = await inputs.read(hash);
 */
export class InputStore {
  /** Absolute root folder. */
  readonly root: string;
  readonly maxBytes: number;

  constructor(root: string, options: { maxBytes?: number } = {}) {
    this.root = path.resolve(root);
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_INPUT_BYTES;
  }

  /** Where the file of `hash` lives (whether or not it exists). Throws for a malformed hash. */
  pathOf(hash: string): string {
    if (!HASH.test(hash))
      throw new JobError('INPUT_INVALID', `not a sha256 hash: ${JSON.stringify(hash)}`);
    return path.join(this.root, hash.slice(0, 2), hash);
  }

  /**
   * Stores bytes, a stream or base64 text; resolves to the input's hash, size and media type.
   * `name` (the client's file name) only helps guess the type when the bytes do not tell.
   */
  async put(
    data: InputData,
    options: { name?: string; maxBytes?: number; signal?: AbortSignal } = {},
  ): Promise<StoredInput> {
    const maxBytes = options.maxBytes ?? this.maxBytes;
    let source: ByteSource;
    let declared: string | undefined;
    if (typeof data === 'string') {
      const decoded = decodeBase64Input(data, maxBytes);
      source = decoded.bytes;
      declared = decoded.mime;
    } else if (
      data instanceof Uint8Array ||
      typeof (data as AsyncIterable<unknown>)?.[Symbol.asyncIterator] === 'function'
    ) {
      source = data;
    } else {
      throw new JobError('INPUT_INVALID', 'input data must be bytes, a stream or base64 text');
    }
    const staging = path.join(this.root, '.staging', randomUUID());
    const written = await writeHashed(source, staging, {
      maxBytes,
      tooLarge: (max) =>
        new JobError('INPUT_TOO_LARGE', `input is larger than ${max} bytes`, { max_bytes: max }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const target = this.pathOf(written.sha256);
    let existed = false;
    try {
      await stat(target);
      existed = true;
      await unlink(staging);
    } catch {
      await mkdir(path.dirname(target), { recursive: true });
      await rename(staging, target);
    }
    const mime =
      sniffMime(written.head) ??
      declared ??
      (options.name ? mimeFromName(options.name) : undefined) ??
      'application/octet-stream';
    return { hash: written.sha256, size: written.size, mime, path: target, existed };
  }

  /** Whether the file of `hash` is stored. */
  async has(hash: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(hash))).isFile();
    } catch {
      return false;
    }
  }

  /** The bytes of `hash` (INPUT_NOT_FOUND when absent). */
  async read(hash: string): Promise<Buffer> {
    try {
      return await readFile(this.pathOf(hash));
    } catch (err) {
      throw notFound(hash, err);
    }
  }

  /** A read stream over `hash`'s file (errors with ENOENT when absent). */
  open(hash: string): Readable {
    return createReadStream(this.pathOf(hash));
  }

  /** Deletes the file of `hash`; false when it was not there. */
  async remove(hash: string): Promise<boolean> {
    try {
      await unlink(this.pathOf(hash));
      return true;
    } catch {
      return false;
    }
  }
}

function notFound(hash: string, cause: unknown): Error {
  if ((cause as NodeJS.ErrnoException)?.code === 'ENOENT') {
    return new JobError('INPUT_NOT_FOUND', `input ${hash} is not stored`, { hash });
  }
  return cause instanceof Error ? cause : new Error(String(cause));
}
