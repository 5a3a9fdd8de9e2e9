/**
 * Raw HTTP for contract tests: exact control over method, path, query, headers (Host and Origin
 * included) and body bytes, and the raw answer back. `fetch` would add or refuse headers.
 */
import { request } from 'node:http';
import type { JsonValue } from '../../src/comfy/protocol.js';
import { keysInOrder, orderedObject, parseJsonOrdered, stringifyOrdered } from './ordered-json.js';
import type { RecordedMultipartPart, RecordedRequest } from './transcripts.js';

export interface HttpCall {
  method: string;
  /** Path without query, e.g. "/view". */
  path: string;
  /** Raw query string without "?" (sent as is), or null/undefined for none. */
  query?: string | null;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export interface HttpReply {
  status: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  text: string;
  /** The body parsed as JSON with wire key order kept; throws with the body in the message. */
  json(): JsonValue;
}

const TIMEOUT_MS = 15_000;

/**
 * Sends one request to `baseUrl` (http://host:port) on a fresh connection.
 *
 * @example
 * const reply = await httpRequest(target.url, { method: 'GET', path: '/queue' });
 * reply.json();
 */
export function httpRequest(baseUrl: string, call: HttpCall): Promise<HttpReply> {
  const base = new URL(baseUrl);
  const body = call.body === undefined ? undefined : Buffer.from(call.body);
  const headers: Record<string, string> = { ...call.headers };
  const hasLength = Object.keys(headers).some((h) => h.toLowerCase() === 'content-length');
  // Python's http.client sends Content-Length: 0 on a POST without a body; so do we.
  if (!hasLength && (body !== undefined || ['POST', 'PUT', 'PATCH'].includes(call.method))) {
    headers['Content-Length'] = String(body?.length ?? 0);
  }
  const path = call.query ? `${call.path}?${call.query}` : call.path;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: base.hostname,
        port: base.port || 80,
        method: call.method,
        path,
        headers,
        agent: false,
        timeout: TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const replyBody = Buffer.concat(chunks);
          const text = replyBody.toString('utf8');
          const flat: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
          }
          resolve({
            status: res.statusCode ?? 0,
            headers: flat,
            body: replyBody,
            text,
            json() {
              try {
                return parseJsonOrdered(text);
              } catch (err) {
                throw new Error(
                  `${call.method} ${path}: body is not JSON (${(err as Error).message}): ${text.slice(0, 200)}`,
                );
              }
            },
          });
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`${call.method} ${path}: no answer in ${TIMEOUT_MS} ms`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * GET or POST JSON and return the parsed answer, failing on any non-2xx status.
 *
 * @example
 * const { prompt_id } = (await jsonCall(url, 'POST', '/prompt', { prompt })) as PostPromptResponse;
 */
export async function jsonCall(
  baseUrl: string,
  method: 'GET' | 'POST',
  pathAndQuery: string,
  body?: unknown,
): Promise<JsonValue> {
  const [path = '', query] = pathAndQuery.split('?', 2);
  const reply = await httpRequest(baseUrl, {
    method,
    path,
    query: query ?? null,
    ...(body === undefined
      ? {}
      : { body: stringifyOrdered(body), headers: { 'Content-Type': 'application/json' } }),
  });
  if (reply.status < 200 || reply.status > 299) {
    throw new Error(`${method} ${pathAndQuery}: HTTP ${reply.status}: ${reply.text.slice(0, 300)}`);
  }
  return reply.text === '' ? null : reply.json();
}

/**
 * A multipart/form-data body made of the recorder's parts (file bytes from their inline base64),
 * with the given boundary.
 *
 * @example
 * multipartBody(exchange.request.body_multipart!, 'gwBoundary');
 */
export function multipartBody(
  parts: readonly RecordedMultipartPart[],
  boundary: string,
  rename: (filename: string) => string = (f) => f,
): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\n`));
    if ('file' in part) {
      if (part.file.base64 === undefined) {
        throw new Error(`multipart part ${part.name}: the recording has no inline bytes`);
      }
      chunks.push(
        Buffer.from(
          `Content-Disposition: form-data; name="${part.name}"; filename="${rename(part.filename)}"\r\n` +
            `Content-Type: ${part.content_type}\r\n\r\n`,
        ),
        Buffer.from(part.file.base64, 'base64'),
        Buffer.from('\r\n'),
      );
    } else {
      chunks.push(
        Buffer.from(`Content-Disposition: form-data; name="${part.name}"\r\n\r\n${part.value}\r\n`),
      );
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/** How to adapt a recorded request to this run (unique file names, this run's ids, ...). */
export interface RequestAdapter {
  /** Applied to the query string and to every string inside a JSON body. */
  rewrite?: (text: string) => string;
  /** Replaces the JSON body entirely (after nothing else). */
  bodyJson?: JsonValue;
  /** Extra or replacing headers. */
  headers?: Record<string, string>;
}

/**
 * The recorder's request as an HttpCall: same method, path, query, headers and body bytes.
 *
 * @example
 * const reply = await httpRequest(target.url, recordedCall(ex.request));
 */
export function recordedCall(recorded: RecordedRequest, adapter: RequestAdapter = {}): HttpCall {
  const rewrite = adapter.rewrite ?? ((s: string) => s);
  const headers: Record<string, string> = { ...recorded.headers, ...adapter.headers };
  const call: HttpCall = {
    method: recorded.method,
    path: recorded.path,
    query: recorded.query === null ? null : rewrite(recorded.query),
    headers,
  };
  if (adapter.bodyJson !== undefined) {
    call.body = stringifyOrdered(adapter.bodyJson);
  } else if (recorded.body_json !== undefined) {
    call.body = stringifyOrdered(mapStrings(recorded.body_json, rewrite));
  } else if (recorded.body_raw !== undefined) {
    call.body = recorded.body_raw;
  } else if (recorded.body_multipart !== undefined) {
    const type = headers['Content-Type'] ?? '';
    const boundary = /boundary=([^;]+)/.exec(type)?.[1];
    if (!boundary) throw new Error(`multipart request without a boundary: ${type}`);
    call.body = multipartBody(recorded.body_multipart, boundary, rewrite);
  }
  return call;
}

/**
 * A deep copy of a JSON value with `fn` applied to every string (object keys left alone).
 *
 * @example
 * mapStrings(prompt, (s) => s.replace('gw_upload', 'gw_upload_x1'));
 */
export function mapStrings<T>(value: T, fn: (text: string) => string): T {
  if (typeof value === 'string') return fn(value) as T;
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, fn)) as T;
  if (value !== null && typeof value === 'object') {
    return copyObject(value as Record<string, unknown>, (v) => mapStrings(v, fn)) as T;
  }
  return value;
}

/** Copies an object keeping its wire key order (see ordered-json.ts), mapping each value. */
export function copyObject(
  value: Record<string, unknown>,
  mapValue: (v: unknown, key: string) => unknown,
): Record<string, unknown> {
  return orderedObject(keysInOrder(value).map((key) => [key, mapValue(value[key], key)] as const));
}
