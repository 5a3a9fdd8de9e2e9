/**
 * Request bodies with aiohttp's client_max_size: a body reaching the limit is refused with 413
 * ("Maximum request body size N exceeded, actual body size M").
 */
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';

/** The body reached the configured maximum. */
export class BodyTooLargeError extends Error {
  constructor(
    readonly maxSize: number,
    readonly actualSize: number,
  ) {
    super(`Maximum request body size ${maxSize} exceeded, actual body size ${actualSize}`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Reads the whole body, failing with BodyTooLargeError once it reaches `maxSize` bytes.
 *
 * @example
 * const body = await readBody(req, 100 * 1024 * 1024);
 */
export function readBody(req: IncomingMessage, maxSize: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const onData = (chunk: Buffer): void => {
      if (failed) return;
      size += chunk.byteLength;
      if (size >= maxSize) {
        failed = true;
        req.off('data', onData);
        req.pause();
        reject(new BodyTooLargeError(maxSize, size));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (failed) return;
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    });
    req.once('error', (err) => {
      if (!failed) reject(err);
      failed = true;
    });
  });
}

/** Parses a body as aiohttp's request.json() does (UTF-8 text, then JSON); throws on bad input. */
export function parseJsonBody(body: Buffer): unknown {
  // A BOM stays in the text and makes the parse fail, as with Python's json.loads. Invalid UTF-8
  // fails as a fatal TextDecoder would (TypeError), checked in one native pass.
  if (!isUtf8(body)) throw new TypeError('The encoded data was not valid for encoding utf-8');
  return JSON.parse(body.toString('utf8'));
}
