import {
  ClusterError,
  ClusterTimeoutError,
  errorFromResponse,
  GatewayUnreachableError,
} from './errors.js';

/** Query parameters; undefined, null and '' are left out, arrays become one comma-separated value. */
export type Query = Record<
  string,
  string | number | boolean | readonly string[] | undefined | null
>;

/** One request to the gateway. */
export interface HttpRequest {
  method?: string;
  query?: Query | undefined;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is (FormData, text). */
  body?: FormData | Blob | string;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
  /** Overrides the client's per-request timeout; null: none. */
  timeoutMs?: number | null;
  /** Non-2xx statuses whose body is returned instead of thrown (GET /health's 503). */
  okStatuses?: readonly number[];
}

/** What {@link GatewayHttp} needs. */
export interface GatewayHttpOptions {
  url: string;
  apiKey: string | undefined;
  timeoutMs: number;
  fetch: typeof fetch;
  userAgent: string;
}

/**
 * The path with its query string.
 *
 * @example
 * withQuery('/api/v1/jobs', { status: ['failed', 'cancelled'], limit: 10, cursor: null }); // '/api/v1/jobs?status=failed%2Ccancelled&limit=10'
 */
export function withQuery(path: string, query: Query | undefined): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    params.append(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const qs = params.toString();
  return qs === '' ? path : `${path}${path.includes('?') ? '&' : '?'}${qs}`;
}

function isAbortLike(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err.name === 'AbortError' || err.name === 'TimeoutError' || err.name === 'ClusterTimeoutError')
  );
}

/**
 * The SDK's HTTP layer: the base URL, the API key as a Bearer token, a timeout per request (until
 * the body is read; for streams until the headers arrive), and every failure turned into a
 * {@link ClusterError}: no answer → {@link GatewayUnreachableError}, too slow →
 * {@link ClusterTimeoutError}, 401/403 → AuthError, other non-2xx → ClusterError with the
 * gateway's code. A call aborted by the caller's own signal rejects with that signal's reason.
 *
 * @example
 * const http = new GatewayHttp({ url, apiKey, timeoutMs: 30_000, fetch, userAgent: 'x' });
 * const { body } = await http.json<{ instances: unknown[] }>('/api/v1/instances');
 */
export class GatewayHttp {
  readonly #o: GatewayHttpOptions;

  constructor(options: GatewayHttpOptions) {
    this.#o = options;
  }

  get url(): string {
    return this.#o.url;
  }

  /** The absolute URL of a gateway path. */
  href(path: string, query?: Query): string {
    return `${this.#o.url}${withQuery(path, query)}`;
  }

  /** A JSON call: resolves with the status and parsed body (undefined when empty). */
  async json<T>(path: string, req: HttpRequest = {}): Promise<{ status: number; body: T }> {
    const { response, done } = await this.#send(path, req, 'application/json');
    try {
      const text = await this.#read(response, req.signal);
      let body: unknown;
      if (text !== '') {
        try {
          body = JSON.parse(text);
        } catch {
          if (response.ok) {
            throw new ClusterError(
              'invalid_response',
              `the gateway answered ${path} with something that is not JSON`,
              { status: response.status },
            );
          }
        }
      }
      if (!response.ok && !req.okStatuses?.includes(response.status)) {
        throw errorFromResponse(response.status, body, text);
      }
      return { status: response.status, body: body as T };
    } finally {
      done();
    }
  }

  /**
   * Opens a streamed answer (SSE, file download): resolves once the headers are in; the timeout
   * stops there, the caller's signal still aborts the body. Non-2xx answers are thrown.
   */
  async open(path: string, req: HttpRequest = {}, accept = '*/*'): Promise<Response> {
    const { response, done, stopTimer } = await this.#send(path, req, accept);
    // The caller's signal keeps aborting the body; only the timeout ends here.
    stopTimer();
    if (!response.ok) {
      done();
      const text = await this.#read(response, req.signal).catch(() => '');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      throw errorFromResponse(response.status, body, text);
    }
    if (!response.body || !req.signal) return response;
    // Forget the caller's signal once the body is over (a long-lived signal must not collect
    // one listener per stream).
    const release = new TransformStream<Uint8Array, Uint8Array>({ flush: done });
    return new Response(response.body.pipeThrough(release), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  }

  async #read(response: Response, signal: AbortSignal | undefined): Promise<string> {
    try {
      return await response.text();
    } catch (err) {
      throw this.#failure(err, signal, undefined);
    }
  }

  async #send(
    path: string,
    req: HttpRequest,
    accept: string,
  ): Promise<{ response: Response; done: () => void; stopTimer: () => void }> {
    const headers: Record<string, string> = {
      accept,
      'user-agent': this.#o.userAgent,
      ...req.headers,
    };
    if (this.#o.apiKey) headers.authorization = `Bearer ${this.#o.apiKey}`;
    let body = req.body;
    if (req.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(req.json);
    }
    const controller = new AbortController();
    const timeoutMs = req.timeoutMs === undefined ? this.#o.timeoutMs : req.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    let timeout: ClusterTimeoutError | undefined;
    if (timeoutMs !== null && timeoutMs > 0) {
      timer = setTimeout(() => {
        timeout = new ClusterTimeoutError(
          `the gateway at ${this.#o.url} did not answer ${req.method ?? 'GET'} ${path} within ${timeoutMs} ms`,
        );
        controller.abort(timeout);
      }, timeoutMs);
    }
    const onAbort = () => controller.abort(req.signal?.reason);
    if (req.signal?.aborted) onAbort();
    else req.signal?.addEventListener('abort', onAbort, { once: true });
    const stopTimer = () => {
      if (timer) clearTimeout(timer);
    };
    const done = () => {
      stopTimer();
      req.signal?.removeEventListener('abort', onAbort);
    };
    try {
      const response = await this.#o.fetch(this.href(path, req.query), {
        method: req.method ?? (body === undefined ? 'GET' : 'POST'),
        headers,
        ...(body === undefined ? {} : { body }),
        signal: controller.signal,
      });
      // Reading the body may still time out (JSON); streams stop the timer at the headers.
      return { response, done, stopTimer };
    } catch (err) {
      done();
      throw this.#failure(err, req.signal, timeout);
    }
  }

  #failure(
    err: unknown,
    signal: AbortSignal | undefined,
    timeout: ClusterTimeoutError | undefined,
  ) {
    if (timeout) return timeout;
    if (err instanceof ClusterTimeoutError) return err;
    if (signal?.aborted) return signal.reason ?? err;
    if (isAbortLike(err)) return err;
    return new GatewayUnreachableError(this.#o.url, err);
  }
}
