/**
 * HTTP plumbing for one instance: a keep-alive Agent capped at the per-instance connection limit,
 * per-request timeouts by phase, AbortSignal support, typed network errors, and response bodies as
 * streams (never buffered unless a caller asks for text, and then capped).
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ResolvedConnection } from './connection.js';
import {
  ComfyAbortError,
  ComfyError,
  ComfyTimeoutError,
  ComfyUnreachableError,
  type RequestPhase,
} from './errors.js';

/** Per-call options accepted by every client method. */
export interface CallOptions {
  /** Aborts the call (and the body stream of a /view response). */
  signal?: AbortSignal;
  /** Overrides the client's timeout for this call (ms until the response headers arrive). */
  timeoutMs?: number;
}

export interface TransportOptions {
  /** ms until response headers (includes waiting for a pooled connection). */
  timeoutMs: number;
  /** ms to open TCP (+TLS) once a socket is being created. */
  connectTimeoutMs: number;
  /** ms without a byte while reading a body (only counted while the reader keeps up). */
  bodyIdleTimeoutMs: number;
  /** Sockets in use at once; more requests wait for one. */
  maxConnections: number;
  /** Idle keep-alive sockets are closed after this many ms. */
  idleSocketTimeoutMs: number;
}

export type RequestBody =
  | { kind: 'json'; value: unknown }
  | { kind: 'stream'; contentType: string; length?: number; stream: Readable };

export interface TransportRequest extends CallOptions {
  method: 'GET' | 'POST';
  /** Full request path, proxy prefix included (see routePath). */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: RequestBody;
  /** Safe to send twice: retried once when a reused keep-alive socket turns out to be dead. */
  idempotent: boolean;
  accept?: string;
  /** Extra request headers (e.g. Range). */
  headers?: Record<string, string>;
}

export interface TransportResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body. Consume it or destroy it: an unread body keeps its pooled socket busy. */
  body: Readable;
  /** Redacted URL (no credentials, no query). */
  url: string;
}

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|EPROTO$|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_)/;

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function describeCause(code: string | undefined, err: unknown): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'ECONNRESET':
      return 'connection reset';
    case 'EPIPE':
      return 'connection closed while sending';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to host';
    default:
      if (code && TLS_CODE.test(code)) return `TLS failure (${code})`;
      return err instanceof Error ? err.message : String(err);
  }
}

/** Turns a socket-level error into the module's typed error. */
export function toNetworkError(
  err: unknown,
  phase: RequestPhase,
  url: string,
  method: string,
): ComfyError {
  if (err instanceof ComfyError) return err;
  const code = errorCode(err);
  return new ComfyUnreachableError(
    `Cannot reach ${url}: ${describeCause(code, err)}`,
    code,
    phase,
    { cause: err, url, method },
  );
}

function buildQuery(query: TransportRequest['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/**
 * Sends requests to one instance over a private keep-alive pool.
 *
 * @example
 * const t = new HttpTransport(resolveConnection({ baseUrl }), options);
 * const res = await t.send({ method: 'GET', path: '/queue', idempotent: true });
 * const text = await readBodyText(res, 1 << 20);
 */
export class HttpTransport {
  readonly #conn: ResolvedConnection;
  readonly #options: TransportOptions;
  readonly #agent: http.Agent;
  readonly #inflight = new Set<(err: ComfyError) => void>();
  #closed = false;
  #socketsCreated = 0;

  constructor(conn: ResolvedConnection, options: TransportOptions) {
    this.#conn = conn;
    this.#options = options;
    const agentOptions: https.AgentOptions = {
      keepAlive: true,
      maxSockets: options.maxConnections,
      maxFreeSockets: options.maxConnections,
      timeout: options.idleSocketTimeoutMs,
      scheduling: 'lifo',
    };
    if (conn.secure && conn.tls) Object.assign(agentOptions, conn.tls);
    this.#agent = conn.secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  }

  /** Sockets opened so far (for stats: reuse shows as requests ≫ sockets). */
  get socketsCreated(): number {
    return this.#socketsCreated;
  }

  /** Sends one request; resolves when the response headers arrive. */
  async send(req: TransportRequest): Promise<TransportResponse> {
    if (this.#closed) throw new ComfyError('CLIENT_CLOSED', 'The ComfyUI client is closed');
    if (req.signal?.aborted) throw new ComfyAbortError(req.signal.reason);
    try {
      return await this.#attempt(req);
    } catch (err) {
      // A keep-alive socket the server had already closed: the request never reached it.
      if (err instanceof StaleSocketError && req.idempotent && !this.#closed) {
        return this.#attempt(req).catch((again: unknown) => {
          throw again instanceof StaleSocketError ? again.error : again;
        });
      }
      throw err instanceof StaleSocketError ? err.error : err;
    }
  }

  #attempt(req: TransportRequest): Promise<TransportResponse> {
    const conn = this.#conn;
    const path = req.path;
    const url = `${conn.displayOrigin}${req.path}`;
    const method = req.method;
    const timeoutMs = req.timeoutMs ?? this.#options.timeoutMs;
    const headers: Record<string, string | number> = {
      ...conn.secretHeaders,
      ...req.headers,
      accept: req.accept ?? 'application/json',
      'user-agent': 'comfy-cluster',
    };
    let payload: Buffer | undefined;
    if (req.body?.kind === 'json') {
      payload = Buffer.from(JSON.stringify(req.body.value), 'utf8');
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.byteLength;
    } else if (req.body?.kind === 'stream') {
      headers['content-type'] = req.body.contentType;
      if (req.body.length !== undefined) headers['content-length'] = req.body.length;
    } else if (method === 'POST') {
      headers['content-length'] = 0;
    }

    return new Promise<TransportResponse>((resolve, reject) => {
      let phase: RequestPhase = 'queued';
      let settled = false;
      let reused = false;
      let body: PassThrough | undefined;
      let res: IncomingMessage | undefined;
      let totalTimer: NodeJS.Timeout | undefined;
      let connectTimer: NodeJS.Timeout | undefined;
      let idleTimer: NodeJS.Timeout | undefined;

      const request = (conn.secure ? https : http).request({
        host: conn.hostname,
        port: conn.port,
        method,
        path: `${path}${buildQuery(req.query)}`,
        headers,
        agent: this.#agent,
      });

      const cleanup = () => {
        clearTimeout(totalTimer);
        clearTimeout(connectTimer);
        clearTimeout(idleTimer);
        req.signal?.removeEventListener('abort', onAbort);
        this.#inflight.delete(kill);
      };
      // Ends the exchange with an error, wherever it is.
      const kill = (err: ComfyError) => {
        cleanup();
        if (!settled) {
          settled = true;
          reject(err);
        } else {
          body?.destroy(err);
        }
        res?.destroy();
        request.destroy();
      };
      const onAbort = () => kill(new ComfyAbortError(req.signal?.reason, { url, method }));
      req.signal?.addEventListener('abort', onAbort, { once: true });
      this.#inflight.add(kill);

      totalTimer = setTimeout(() => {
        const where =
          phase === 'queued'
            ? `waiting for a free connection (limit ${this.#options.maxConnections})`
            : phase === 'connect'
              ? 'connecting'
              : 'waiting for the response';
        kill(
          new ComfyTimeoutError(
            `${method} ${url}: timed out after ${timeoutMs} ms ${where}`,
            phase,
            timeoutMs,
            {
              url,
              method,
            },
          ),
        );
      }, timeoutMs);

      request.on('socket', (socket) => {
        reused = request.reusedSocket;
        if (!socket.connecting) {
          phase = 'response';
          return;
        }
        this.#socketsCreated++;
        phase = 'connect';
        const connectMs = Math.min(this.#options.connectTimeoutMs, timeoutMs);
        connectTimer = setTimeout(() => {
          kill(
            new ComfyTimeoutError(
              `${method} ${url}: could not connect within ${connectMs} ms`,
              'connect',
              connectMs,
              {
                url,
                method,
              },
            ),
          );
        }, connectMs);
        socket.once(conn.secure ? 'secureConnect' : 'connect', () => {
          clearTimeout(connectTimer);
          if (phase === 'connect') phase = 'response';
        });
      });

      request.on('error', (err) => {
        if (settled && phase !== 'body') return;
        const code = errorCode(err);
        const mapped = toNetworkError(err, phase, url, method);
        if (
          !settled &&
          reused &&
          phase === 'response' &&
          (code === 'ECONNRESET' || code === 'EPIPE')
        ) {
          cleanup();
          settled = true;
          reject(new StaleSocketError(mapped));
          return;
        }
        kill(mapped);
      });

      request.on('response', (incoming) => {
        clearTimeout(totalTimer);
        phase = 'body';
        res = incoming;
        const stream = new PassThrough();
        body = stream;
        const idleMs = this.#options.bodyIdleTimeoutMs;
        const armIdle = () => {
          clearTimeout(idleTimer);
          idleTimer = setTimeout(onIdle, idleMs);
        };
        // Silence only counts against the server while the reader keeps up with it.
        const onIdle = () => {
          if (incoming.complete) return;
          if (incoming.isPaused() || stream.writableNeedDrain) {
            armIdle();
            return;
          }
          kill(
            new ComfyTimeoutError(`${method} ${url}: no data for ${idleMs} ms`, 'body', idleMs, {
              url,
              method,
            }),
          );
        };
        incoming.on('data', armIdle);
        incoming.on('end', () => {
          clearTimeout(idleTimer);
          cleanup();
        });
        incoming.on('aborted', () => {
          kill(
            new ComfyUnreachableError(
              `Cannot reach ${url}: connection lost while reading the response`,
              'ECONNRESET',
              'body',
              { url, method },
            ),
          );
        });
        incoming.on('error', (err) => kill(toNetworkError(err, 'body', url, method)));
        // The reader gave up early: drop the socket rather than return it half-read to the pool.
        stream.on('close', () => {
          if (!incoming.complete) {
            cleanup();
            incoming.destroy();
            request.destroy();
          }
        });
        incoming.pipe(stream);
        armIdle();
        settled = true;
        resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: stream, url });
      });

      if (req.body?.kind === 'stream') {
        const source = req.body.stream;
        pipeline(source, request).catch((err: unknown) => {
          // Once an answer (or an error) is in, a broken upload no longer matters to the caller.
          if (settled || (request.destroyed && !source.errored)) return;
          kill(
            err instanceof ComfyError
              ? err
              : new ComfyError(
                  'INVALID_ARGUMENT',
                  `${method} ${url}: the upload source failed: ${String(err)}`,
                  {
                    cause: err,
                    url,
                    method,
                  },
                ),
          );
        });
      } else {
        request.end(payload);
      }
    });
  }

  /** Stops every request in flight (they reject with CLIENT_CLOSED) and closes all sockets. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const closed = new ComfyError('CLIENT_CLOSED', 'The ComfyUI client was closed');
    for (const kill of [...this.#inflight]) kill(closed);
    this.#agent.destroy();
  }
}

/** Internal marker: the request failed on a reused keep-alive socket before any answer. */
class StaleSocketError extends Error {
  constructor(readonly error: ComfyError) {
    super(error.message);
  }
}

/**
 * Reads a whole body as UTF-8 text, up to `maxBytes` (then throws RESPONSE_TOO_LARGE).
 *
 * @example
 * const text = await readBodyText(res, 1 << 20);
 */
export async function readBodyText(res: TransportResponse, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    const buf = chunk as Buffer;
    size += buf.byteLength;
    if (size > maxBytes) {
      res.body.destroy();
      throw new ComfyError(
        'RESPONSE_TOO_LARGE',
        `${res.url}: response larger than ${maxBytes} bytes`,
        {
          url: res.url,
        },
      );
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** Reads at most `maxBytes` of a body for an error message, then drops the rest. */
export async function readBodySnippet(res: TransportResponse, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      const buf = chunk as Buffer;
      chunks.push(buf);
      size += buf.byteLength;
      if (size >= maxBytes) break;
    }
  } catch {
    // A broken error body still leaves us with the status code.
  } finally {
    res.body.destroy();
  }
  return Buffer.concat(chunks, size).subarray(0, maxBytes).toString('utf8');
}
