import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { SNIFF_BYTES } from './mime-sniff.js';

/** Bytes to write: a buffer, or any async iterable of chunks (a Node stream is one). */
export type ByteSource = Uint8Array | AsyncIterable<Uint8Array | string>;

/** What {@link writeHashed} wrote. */
export interface HashedFile {
  size: number;
  /** Hex sha256 of the content. */
  sha256: string;
  /** The first bytes, for sniffing the media type. */
  head: Uint8Array;
}

export interface HashedWriteOptions {
  /** Refuse (and remove the partial file) beyond this many bytes. */
  maxBytes?: number;
  /** Builds the error thrown when `maxBytes` is exceeded. */
  tooLarge?: (maxBytes: number) => Error;
  signal?: AbortSignal;
}

async function* chunks(source: ByteSource): AsyncIterable<Uint8Array> {
  if (source instanceof Uint8Array) {
    yield source;
    return;
  }
  for await (const c of source) yield typeof c === 'string' ? Buffer.from(c) : c;
}

/**
 * A temporary name beside `target` (same directory, so the final rename is atomic).
 *
 * @example
 * tempSibling('/data/outputs/j/1/0-a.png'); // '/data/outputs/j/1/.0-a.png.3f9c….part'
 */
export function tempSibling(target: string): string {
  return path.join(
    path.dirname(target),
    `.${path.basename(target)}.${randomBytes(6).toString('hex')}.part`,
  );
}

/**
 * Streams `source` into `file` while hashing it: written to a temporary sibling, flushed to disk,
 * then renamed over `file`, so `file` is either absent or complete. On any failure (too large,
 * aborted, read error) the temporary file is removed and nothing appears under `file`.
 *
 * @example
 * const { sha256, size } = await writeHashed(view.body, '/data/outputs/j/1/0-out.png', { maxBytes: 1e9 });
 */
export async function writeHashed(
  source: ByteSource,
  file: string,
  options: HashedWriteOptions = {},
): Promise<HashedFile> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = tempSibling(file);
  const hash = createHash('sha256');
  const head = Buffer.alloc(SNIFF_BYTES);
  let headLength = 0;
  let size = 0;
  const fh = await open(temp, 'wx');
  try {
    for await (const chunk of chunks(source)) {
      options.signal?.throwIfAborted();
      size += chunk.byteLength;
      if (options.maxBytes !== undefined && size > options.maxBytes) {
        throw (
          options.tooLarge?.(options.maxBytes) ??
          new Error(`file is larger than ${options.maxBytes} bytes`)
        );
      }
      if (headLength < SNIFF_BYTES) {
        const take = Math.min(SNIFF_BYTES - headLength, chunk.byteLength);
        head.set(chunk.subarray(0, take), headLength);
        headLength += take;
      }
      hash.update(chunk);
      await fh.write(chunk);
    }
    options.signal?.throwIfAborted();
    await fh.sync();
    await fh.close();
    await rename(temp, file);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    const destroy = (source as unknown as { destroy?: unknown }).destroy;
    if (typeof destroy === 'function') destroy.call(source);
    throw err;
  }
  return { size, sha256: hash.digest('hex'), head: head.subarray(0, headLength) };
}
