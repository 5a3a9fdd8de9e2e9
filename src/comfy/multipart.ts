/**
 * multipart/form-data bodies for /upload/image and /upload/mask, streamed: the file part is
 * passed through chunk by chunk (from memory or from a stream), never copied whole.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';

/** A file to upload: bytes in memory or a readable stream (give `size` to avoid chunked encoding). */
export interface MultipartFile {
  field: string;
  filename: string;
  contentType: string;
  data: Uint8Array | Readable | AsyncIterable<Uint8Array>;
  size?: number;
}

export interface MultipartBody {
  contentType: string;
  /** Total bytes, when the file size is known. */
  length: number | undefined;
  stream: Readable;
}

function quote(value: string): string {
  // As browsers do: quotes and line breaks are percent-encoded inside the quoted string.
  return value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/**
 * Builds a streamed multipart body: the text fields first, then the file.
 *
 * @example
 * const body = buildMultipart([['overwrite', 'true']], {
 *   field: 'image', filename: 'a.png', contentType: 'image/png', data: png,
 * });
 */
export function buildMultipart(
  fields: ReadonlyArray<[string, string]>,
  file: MultipartFile,
): MultipartBody {
  const boundary = `----comfy-cluster-${randomUUID()}`;
  let head = '';
  for (const [name, value] of fields) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${quote(name)}"\r\n\r\n${value}\r\n`;
  }
  head +=
    `--${boundary}\r\nContent-Disposition: form-data; name="${quote(file.field)}"; ` +
    `filename="${quote(file.filename)}"\r\nContent-Type: ${file.contentType}\r\n\r\n`;
  const headBuf = Buffer.from(head, 'utf8');
  const tailBuf = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');

  const data = file.data;
  const size = data instanceof Uint8Array ? data.byteLength : file.size;
  async function* parts(): AsyncGenerator<Uint8Array> {
    yield headBuf;
    if (data instanceof Uint8Array) {
      yield data;
    } else {
      for await (const chunk of data) {
        yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      }
    }
    yield tailBuf;
  }
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    length: size === undefined ? undefined : headBuf.byteLength + size + tailBuf.byteLength,
    stream: Readable.from(parts(), { objectMode: false }),
  };
}
