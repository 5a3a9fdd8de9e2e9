/**
 * A small multipart/form-data parser for the upload routes (the whole body is already in memory,
 * bounded by the upload size limit).
 */

/** One form field: a file (with filename) or a plain value. */
export interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

/** The body is not valid multipart/form-data. */
export class MultipartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MultipartError';
  }
}

/** The boundary parameter of a multipart/form-data Content-Type, or undefined. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const [type, ...params] = splitParams(contentType);
  if (type?.toLowerCase() !== 'multipart/form-data') return undefined;
  for (const param of params) {
    const [key, value] = splitKeyValue(param);
    if (key === 'boundary' && value !== '') return value;
  }
  return undefined;
}

/**
 * Splits a multipart body into its parts.
 *
 * @example
 * const parts = parseMultipart(body, multipartBoundary(req.headers['content-type']) ?? '');
 * const image = parts.find((p) => p.name === 'image');
 */
export function parseMultipart(body: Buffer, boundary: string): FormPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: FormPart[] = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new MultipartError('no boundary found in the body');
  for (;;) {
    pos += delimiter.length;
    // "--" after a delimiter closes the body.
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break;
    const headerStart = skipLineEnd(body, pos);
    const headerEnd = body.indexOf('\r\n\r\n', headerStart);
    if (headerEnd < 0) throw new MultipartError('part headers are not terminated');
    const headers = parseHeaders(body.subarray(headerStart, headerEnd).toString('utf8'));
    const dataStart = headerEnd + 4;
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), dataStart);
    if (next < 0) throw new MultipartError('part is not terminated by the boundary');
    const disposition = headers.get('content-disposition');
    if (disposition !== undefined) {
      const part = partFromDisposition(disposition, body.subarray(dataStart, next));
      const contentType = headers.get('content-type');
      if (contentType !== undefined) part.contentType = contentType;
      if (part.name !== '') parts.push(part);
    }
    pos = next + 2;
  }
  return parts;
}

function skipLineEnd(body: Buffer, pos: number): number {
  // Transport padding may follow the boundary before its CRLF.
  const lineEnd = body.indexOf('\r\n', pos);
  if (lineEnd < 0) throw new MultipartError('boundary line is not terminated');
  return lineEnd + 2;
}

function parseHeaders(text: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

function partFromDisposition(disposition: string, data: Buffer): FormPart {
  const [, ...params] = splitParams(disposition);
  let name = '';
  let filename: string | undefined;
  let filenameStar: string | undefined;
  for (const param of params) {
    const [key, value] = splitKeyValue(param);
    if (key === 'name') name = value;
    else if (key === 'filename') filename = value;
    else if (key === 'filename*') filenameStar = decodeExtValue(value);
  }
  const part: FormPart = { name, data };
  const chosen = filenameStar ?? filename;
  if (chosen !== undefined) part.filename = chosen;
  return part;
}

// RFC 5987: utf-8''na%C3%AFve.png
function decodeExtValue(value: string): string | undefined {
  const match = /^([^']*)'[^']*'(.*)$/.exec(value);
  if (match === null) return undefined;
  try {
    return decodeURIComponent(match[2] ?? '');
  } catch {
    return undefined;
  }
}

/** Splits "a; b=1; c=\"x;y\"" at semicolons outside quotes. */
function splitParams(header: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < header.length; i++) {
    const c = header[i] as string;
    if (c === '"' && header[i - 1] !== '\\') quoted = !quoted;
    if (c === ';' && !quoted) {
      out.push(current.trim());
      current = '';
    } else {
      current += c;
    }
  }
  out.push(current.trim());
  return out;
}

function splitKeyValue(param: string): [string, string] {
  const eq = param.indexOf('=');
  if (eq < 0) return [param.trim().toLowerCase(), ''];
  const key = param.slice(0, eq).trim().toLowerCase();
  let value = param.slice(eq + 1).trim();
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    value = value.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return [key, value];
}
