/**
 * A /view answer as a stream: status and headers at once, the bytes as they come. Saving to a file
 * writes to a temporary name next to the target and renames it, so a half-written file never
 * appears under the final name.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { ComfyAbortError } from './errors.js';

/** An output file as ComfyUI lists it (`{filename, subfolder, type}`), or just a filename. */
export interface FileRef {
  filename: string;
  subfolder?: string;
  type?: 'output' | 'input' | 'temp' | (string & {});
}

/**
 * A streamed /view response. Read `body` (or `toWeb()`) or call `saveTo()`; if you do neither,
 * call `cancel()`, or the connection stays busy.
 */
export interface ViewResponse {
  /** 200, or 206 for a range request. */
  readonly status: number;
  readonly contentType: string | undefined;
  /** From Content-Length; undefined when the server streams without one. */
  readonly contentLength: number | undefined;
  /** From Content-Disposition, when present. */
  readonly filename: string | undefined;
  readonly headers: IncomingHttpHeaders;
  /** The bytes, as a Node stream. Errors are ComfyError subclasses. */
  readonly body: Readable;
  /** The bytes, as a web ReadableStream. */
  toWeb(): ReadableStream<Uint8Array>;
  /** Streams the bytes into `path` (atomically, via a temporary file); resolves to the byte count. */
  saveTo(path: string, options?: { signal?: AbortSignal }): Promise<number>;
  /** Drops the response and its connection. */
  cancel(): void;
}

function dispositionFilename(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const star = /filename\*=(?:UTF-8'')?([^;]+)/i.exec(header);
  if (star?.[1]) {
    try {
      return decodeURIComponent(star[1].trim().replace(/^"|"$/g, ''));
    } catch {
      // fall through to the plain form
    }
  }
  const plain = /filename="([^"]*)"|filename=([^;]+)/i.exec(header);
  return plain ? (plain[1] ?? plain[2]?.trim()) : undefined;
}

/**
 * Streams `body` into `path` through a temporary sibling file, renamed on success and removed on
 * failure. Resolves to the number of bytes written.
 *
 * @example
 * const bytes = await saveStreamToFile(view.body, '/data/out.png');
 */
export async function saveStreamToFile(
  body: Readable,
  path: string,
  signal?: AbortSignal,
): Promise<number> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.part`;
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.byteLength;
      callback(null, chunk);
    },
  });
  try {
    if (signal?.aborted) throw new ComfyAbortError(signal.reason);
    await pipeline(
      body,
      counter,
      createWriteStream(temp, { flags: 'wx' }),
      signal ? { signal } : {},
    );
    await rename(temp, path);
    return bytes;
  } catch (err) {
    body.destroy();
    await unlink(temp).catch(() => undefined);
    if (signal?.aborted && !(err instanceof ComfyAbortError))
      throw new ComfyAbortError(signal.reason);
    throw err;
  }
}

/** Wraps a transport response into a ViewResponse. */
export function createViewResponse(
  status: number,
  headers: IncomingHttpHeaders,
  body: Readable,
): ViewResponse {
  const length = Number(headers['content-length']);
  return {
    status,
    headers,
    body,
    contentType: headers['content-type'],
    contentLength:
      Number.isFinite(length) && headers['content-length'] !== undefined ? length : undefined,
    filename: dispositionFilename(headers['content-disposition']),
    toWeb: () => Readable.toWeb(body) as ReadableStream<Uint8Array>,
    saveTo: (path, options) => saveStreamToFile(body, path, options?.signal),
    cancel: () => {
      body.destroy();
    },
  };
}
