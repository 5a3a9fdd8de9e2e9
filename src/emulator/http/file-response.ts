/**
 * aiohttp's FileResponse: Etag ("<mtime ns hex>-<size hex>"), Last-Modified, Accept-Ranges,
 * single byte ranges (206/416) and conditional requests (304).
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SERVER_HEADER } from './reply.js';

/**
 * Sends a file; `headers` come first (Content-Disposition, Content-Type), as ComfyUI passes them.
 * Resolves false when the file is gone.
 *
 * @example
 * await sendFile(req, res, '/out/x.png', { 'Content-Disposition': 'filename="x.png"', 'Content-Type': 'image/png' });
 */
export async function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  file: string,
  headers: Record<string, string>,
): Promise<boolean> {
  let info: Awaited<ReturnType<typeof statBig>>;
  try {
    info = await statBig(file);
  } catch {
    return false;
  }
  const size = Number(info.size);
  const etag = `"${info.mtimeNs.toString(16)}-${size.toString(16)}"`;
  const mtimeSeconds = Math.floor(Number(info.mtimeMs) / 1000);
  const lastModified = new Date(mtimeSeconds * 1000).toUTCString();
  const base: Record<string, string | number> = {
    ...headers,
    Etag: etag,
    'Last-Modified': lastModified,
  };

  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    const tags = ifNoneMatch.split(',').map((t) => t.trim().replace(/^W\//, ''));
    if (tags.includes(etag) || tags.includes('*')) return notModified(res, etag, lastModified);
  } else {
    const since = req.headers['if-modified-since'];
    if (since !== undefined) {
      const sinceMs = Date.parse(since);
      if (!Number.isNaN(sinceMs) && mtimeSeconds * 1000 <= sinceMs) {
        return notModified(res, etag, lastModified);
      }
    }
  }

  let start = 0;
  let end = size - 1;
  let status = 200;
  const rangeHeader = req.headers.range;
  if (rangeHeader !== undefined) {
    const range = parseRange(rangeHeader, size);
    if (range === 'unsatisfiable') {
      res.writeHead(416, {
        ...base,
        'Content-Range': `bytes */${size}`,
        'Content-Length': 0,
        Server: SERVER_HEADER,
      });
      res.end();
      return true;
    }
    if (range !== undefined) {
      [start, end] = range;
      status = 206;
    }
  }
  const length = size === 0 ? 0 : end - start + 1;
  const out: Record<string, string | number> = {
    ...base,
    'Content-Length': length,
    'Accept-Ranges': 'bytes',
    Server: SERVER_HEADER,
  };
  if (status === 206) out['Content-Range'] = `bytes ${start}-${end}/${size}`;
  if (req.method === 'HEAD' || length === 0) {
    res.writeHead(status, out);
    res.end();
    return true;
  }
  if (length <= 256 * 1024) {
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch {
      return false;
    }
    res.writeHead(status, out);
    res.end(status === 206 ? data.subarray(start, end + 1) : data);
    return true;
  }
  res.writeHead(status, out);
  const stream = createReadStream(file, { start, end });
  stream.on('error', () => res.destroy());
  stream.pipe(res);
  return true;
}

function statBig(file: string) {
  return stat(file, { bigint: true }).then((s) => {
    if (!s.isFile()) throw new Error('not a file');
    return s;
  });
}

function notModified(res: ServerResponse, etag: string, lastModified: string): true {
  res.writeHead(304, { Etag: etag, 'Last-Modified': lastModified, Server: SERVER_HEADER });
  res.end();
  return true;
}

/** One "bytes=a-b" range; undefined to ignore the header, 'unsatisfiable' for 416. */
export function parseRange(
  header: string,
  size: number,
): [number, number] | 'unsatisfiable' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return 'unsatisfiable';
    return [Math.max(0, size - suffix), size - 1];
  }
  const start = Number(first);
  if (start >= size) return 'unsatisfiable';
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (end < start) return 'unsatisfiable';
  return [start, end];
}
