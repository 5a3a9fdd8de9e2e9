/**
 * Typed HTTP client for ONE ComfyUI server: every route a gateway needs, ComfyUI's odd answers
 * turned into typed results or typed errors, and fallbacks for servers without the jobs API.
 * Cheap to create, safe to share between many concurrent jobs, every call cancellable.
 */

import type { Readable } from 'node:stream';
import { inspect } from 'node:util';
import { clientConnections } from './client-internals.js';
import {
  type ComfyConnectionOptions,
  describeConnection,
  type ResolvedConnection,
  resolveConnection,
  routePath,
} from './connection.js';
import { ComfyError, ComfyHttpError, ComfyNotComfyError, ComfyValidationError } from './errors.js';
import {
  type CallOptions,
  HttpTransport,
  readBodySnippet,
  readBodyText,
  type TransportRequest,
  type TransportResponse,
} from './http-transport.js';
import { jobFromHistory, jobFromQueueItem } from './job-fallback.js';
import { buildMultipart } from './multipart.js';
import {
  finishedFromHistory,
  finishedFromJob,
  isJsonObject,
  type PromptState,
} from './prompt-state.js';
import type {
  ComfyJobDetail,
  ComfyJobList,
  ComfyJobListQuery,
  FeatureFlags,
  FreeBody,
  History,
  HistoryRecord,
  JsonValue,
  NodeInfo,
  ObjectInfo,
  PostPromptBody,
  PostPromptResponse,
  PromptErrorResponse,
  PromptInfo,
  QueueState,
  SystemStats,
  UploadResult,
} from './protocol.js';
import { createViewResponse, type FileRef, type ViewResponse } from './view-response.js';

export type { CallOptions } from './http-transport.js';

/** Options of a ComfyClient. Only `baseUrl` is required. */
export interface ComfyClientOptions extends ComfyConnectionOptions {
  /** ms until response headers arrive (COMFYUI_TIMEOUT). Default 30 000. */
  timeoutMs?: number;
  /** ms to open a TCP/TLS connection. Default 10 000 (never more than timeoutMs). */
  connectTimeoutMs?: number;
  /** ms without a byte while a body streams in (only while the reader keeps up). Default timeoutMs. */
  bodyIdleTimeoutMs?: number;
  /** Connections to this instance at once (MAX_CONNECTIONS_PER_INSTANCE). Default 3. */
  maxConnections?: number;
  /** Idle keep-alive sockets are closed after this many ms. Default 4 000. */
  idleSocketTimeoutMs?: number;
  /** Largest JSON answer read into memory. Default 128 MiB. */
  maxResponseBytes?: number;
  /**
   * Whether the server has /api/jobs. 'auto' (default) decides from system_stats'
   * comfyui_version (< 0.4 has none) and falls back for good on a route-level 404.
   */
  jobsApi?: 'auto' | boolean;
}

/** POST /prompt's 200 answer, plus `partial`: true when some outputs failed validation. */
export type QueuedPrompt = PostPromptResponse & {
  /** `node_errors` is non-empty: only the outputs that validated were queued. */
  readonly partial: boolean;
};

/** Options of /upload/image and /upload/mask. */
export interface UploadOptions extends CallOptions {
  /** Name to store the file under (the server may rename it: use the returned `name`). */
  filename: string;
  /** Default: from the file extension, else application/octet-stream. */
  contentType?: string;
  subfolder?: string;
  /** Default 'input'. */
  type?: 'input' | 'output' | 'temp';
  /** Replace a file of the same name. Default false (ComfyUI then renames or dedupes). */
  overwrite?: boolean;
  /** Byte size of a streamed upload, to send a Content-Length. */
  size?: number;
}

/** Extra options of /upload/mask: the image whose alpha channel the mask replaces. */
export interface UploadMaskOptions extends UploadOptions {
  originalRef: FileRef;
}

/** Query options of GET /view. */
export interface ViewOptions extends CallOptions {
  /** e.g. 'webp;90' or 'jpeg;80': the server re-encodes. */
  preview?: string;
  channel?: 'rgba' | 'rgb' | 'a';
  /** Byte range (inclusive end), sent as a Range header. */
  range?: { start: number; end?: number };
}

/** Upload data: bytes in memory, or a stream. */
export type UploadData = Uint8Array | Readable | AsyncIterable<Uint8Array>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ERROR_BODY_LIMIT = 64 * 1024;
const SNIPPET = 300;

const CONTENT_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  bmp: 'image/bmp',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  mp4: 'video/mp4',
  webm: 'video/webm',
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  flac: 'audio/flac',
};

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ComfyError(
      'INVALID_ARGUMENT',
      `${name} must be a positive number, got ${String(value)}`,
    );
  }
  return value;
}

function invalid(message: string): ComfyError {
  return new ComfyError('INVALID_ARGUMENT', message);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function parseVersion(version: string): number[] | undefined {
  const match = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(version.trim());
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
}

/** True when the jobs routes exist from this version on (older servers answer 404). */
function versionHasJobsApi(version: string): boolean | undefined {
  const v = parseVersion(version);
  if (!v) return undefined;
  const [major = 0, minor = 0] = v;
  return major > 0 || minor >= 4;
}

function checkPromptIds(ids: readonly string[], what: string): void {
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string' && id.length > 0)) {
    throw invalid(`${what} must be a list of prompt ids`);
  }
}

/**
 * HTTP client for one ComfyUI instance.
 *
 * @example
 * const client = new ComfyClient({ baseUrl: 'http://127.0.0.1:8188', maxConnections: 3 });
 * const { prompt_id } = await client.queuePrompt({ prompt, client_id: stream.clientId });
 * const record = await client.getHistoryItem(prompt_id);
 * client.close();
 */
export class ComfyClient {
  readonly #conn: ResolvedConnection;
  readonly #transport: HttpTransport;
  readonly #maxResponseBytes: number;
  readonly #jobsApiOption: 'auto' | boolean;
  #jobsApi: boolean | undefined;
  #version: string | undefined;
  #closed = false;

  constructor(options: ComfyClientOptions) {
    if (!options || typeof options !== 'object')
      throw invalid('ComfyClient needs options with a baseUrl');
    this.#conn = resolveConnection(options);
    const timeoutMs = positive('timeoutMs', options.timeoutMs, 30_000);
    const maxConnections = positive('maxConnections', options.maxConnections, 3);
    if (!Number.isInteger(maxConnections)) throw invalid('maxConnections must be an integer');
    this.#transport = new HttpTransport(this.#conn, {
      timeoutMs,
      connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, 10_000),
      bodyIdleTimeoutMs: positive('bodyIdleTimeoutMs', options.bodyIdleTimeoutMs, timeoutMs),
      maxConnections,
      idleSocketTimeoutMs: positive('idleSocketTimeoutMs', options.idleSocketTimeoutMs, 4_000),
    });
    this.#maxResponseBytes = positive(
      'maxResponseBytes',
      options.maxResponseBytes,
      128 * 1024 * 1024,
    );
    this.#jobsApiOption = options.jobsApi ?? 'auto';
    if (typeof this.#jobsApiOption === 'boolean') this.#jobsApi = this.#jobsApiOption;
    clientConnections.set(this, this.#conn);
  }

  /** The instance URL without credentials (scheme://host:port/prefix). */
  get url(): string {
    return this.#conn.displayUrl;
  }

  /** comfyui_version from the last /system_stats answer. */
  get version(): string | undefined {
    return this.#version;
  }

  /** Whether /api/jobs is known to exist (undefined until detected). */
  get jobsApi(): boolean | undefined {
    return this.#jobsApi;
  }

  /** TCP connections opened so far (keep-alive reuse keeps this far below the request count). */
  get connectionsOpened(): number {
    return this.#transport.socketsCreated;
  }

  get closed(): boolean {
    return this.#closed;
  }

  // -------------------------------------------------------------------------------------------
  // Plumbing
  // -------------------------------------------------------------------------------------------

  #send(req: TransportRequest): Promise<TransportResponse> {
    return this.#transport.send(req);
  }

  async #httpError(res: TransportResponse, method: string): Promise<ComfyHttpError> {
    const body = await readBodySnippet(res, ERROR_BODY_LIMIT);
    let json: JsonValue | undefined;
    try {
      json = body ? (JSON.parse(body) as JsonValue) : undefined;
    } catch {
      json = undefined;
    }
    const shown = body.trim().slice(0, SNIPPET);
    return new ComfyHttpError(
      `${method} ${res.url} answered ${res.status}${shown ? `: ${shown}` : ''}`,
      res.status,
      body,
      json,
      { url: res.url, method },
    );
  }

  #notComfy(res: TransportResponse, method: string, text: string, why: string): ComfyNotComfyError {
    const contentType = res.headers['content-type'];
    return new ComfyNotComfyError(
      `${method} ${res.url} did not answer like ComfyUI (${why}; content-type ${contentType ?? 'none'})`,
      res.status,
      contentType,
      text.slice(0, SNIPPET),
      { url: res.url, method },
    );
  }

  async #parseJson(res: TransportResponse, method: string): Promise<unknown> {
    const text = await readBodyText(res, this.#maxResponseBytes);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw this.#notComfy(
        res,
        method,
        text,
        text.trimStart().startsWith('<') ? 'HTML' : 'not JSON',
      );
    }
  }

  /** GET/POST a JSON route: 2xx + valid shape → value; otherwise a typed error. */
  async #json<T>(
    req: TransportRequest,
    check: (value: unknown) => value is T,
    what: string,
  ): Promise<T> {
    const res = await this.#send(req);
    if (res.status < 200 || res.status >= 300) throw await this.#httpError(res, req.method);
    const value = await this.#parseJson(res, req.method);
    if (!check(value))
      throw this.#notComfy(res, req.method, JSON.stringify(value), `expected ${what}`);
    return value;
  }

  /** POST a route that answers 200 with an empty body. */
  async #post(
    route: string,
    body: unknown,
    opts: CallOptions | undefined,
    idempotent: boolean,
  ): Promise<void> {
    const req: TransportRequest = {
      method: 'POST',
      path: routePath(this.#conn, route),
      idempotent,
      ...opts,
    };
    if (body !== undefined) req.body = { kind: 'json', value: body };
    const res = await this.#send(req);
    if (res.status < 200 || res.status >= 300) throw await this.#httpError(res, 'POST');
    await readBodySnippet(res, ERROR_BODY_LIMIT);
  }

  #get(
    route: string,
    opts: CallOptions | undefined,
    query?: TransportRequest['query'],
  ): TransportRequest {
    const req: TransportRequest = {
      method: 'GET',
      path: routePath(this.#conn, route),
      idempotent: true,
      ...opts,
    };
    if (query) req.query = query;
    return req;
  }

  // -------------------------------------------------------------------------------------------
  // Prompts and queue
  // -------------------------------------------------------------------------------------------

  /**
   * GET /prompt: how many prompts are pending plus running.
   *
   * @example
   * const { exec_info } = await client.getPromptInfo();
   */
  async getPromptInfo(opts?: CallOptions): Promise<PromptInfo> {
    return this.#json(
      this.#get('/prompt', opts),
      (v): v is PromptInfo =>
        isJsonObject(v) &&
        isJsonObject(v.exec_info) &&
        typeof v.exec_info.queue_remaining === 'number',
      '{exec_info:{queue_remaining}}',
    );
  }

  /**
   * POST /prompt. Throws ComfyValidationError (with ComfyUI's exact `error` and `node_errors`) on
   * a 400. A 200 whose `node_errors` is not empty is returned with `partial: true`: some outputs
   * were dropped. Not retried automatically (a retry could queue the prompt twice).
   *
   * @example
   * const queued = await client.queuePrompt({ prompt, prompt_id: jobId, client_id: stream.clientId });
   * if (queued.partial) log.warn(queued.node_errors);
   */
  async queuePrompt(body: PostPromptBody, opts?: CallOptions): Promise<QueuedPrompt> {
    if (!isJsonObject(body as unknown))
      throw invalid('queuePrompt needs a body object with a prompt');
    if (!isJsonObject(body.prompt as unknown))
      throw invalid('body.prompt must be an API-format workflow object');
    if (
      body.prompt_id !== undefined &&
      (typeof body.prompt_id !== 'string' || !UUID.test(body.prompt_id))
    ) {
      throw invalid(
        'prompt_id must be a lowercase hyphenated UUID (ComfyUI rejects anything else)',
      );
    }
    if (
      body.client_id !== undefined &&
      (typeof body.client_id !== 'string' || body.client_id === '')
    ) {
      throw invalid(
        'client_id must be a non-empty string (an empty one silently drops every event)',
      );
    }
    if (body.number !== undefined && !Number.isFinite(body.number))
      throw invalid('number must be finite');

    const res = await this.#send({
      method: 'POST',
      path: routePath(this.#conn, '/prompt'),
      body: { kind: 'json', value: body },
      idempotent: false,
      ...opts,
    });
    if (res.status === 400) {
      const text = await readBodySnippet(res, this.#maxResponseBytes);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (
        isJsonObject(parsed) &&
        isJsonObject(parsed.error) &&
        typeof parsed.error.type === 'string'
      ) {
        throw new ComfyValidationError(parsed as unknown as PromptErrorResponse, text, {
          url: res.url,
          method: 'POST',
        });
      }
      throw new ComfyHttpError(
        `POST ${res.url} answered 400: ${text.slice(0, SNIPPET)}`,
        400,
        text,
        parsed as JsonValue | undefined,
        { url: res.url, method: 'POST' },
      );
    }
    if (res.status < 200 || res.status >= 300) throw await this.#httpError(res, 'POST');
    const value = await this.#parseJson(res, 'POST');
    if (
      !isJsonObject(value) ||
      typeof value.prompt_id !== 'string' ||
      typeof value.number !== 'number'
    ) {
      throw this.#notComfy(
        res,
        'POST',
        JSON.stringify(value),
        'expected {prompt_id, number, node_errors}',
      );
    }
    const nodeErrors = isJsonObject(value.node_errors) ? value.node_errors : {};
    return {
      ...(value as unknown as PostPromptResponse),
      node_errors: nodeErrors as unknown as PostPromptResponse['node_errors'],
      partial: Object.keys(nodeErrors).length > 0,
    };
  }

  /**
   * GET /queue. `queue_pending` is in heap order: sort by number, then prompt_id, for run order.
   *
   * @example
   * const { queue_running, queue_pending } = await client.getQueue();
   */
  async getQueue(opts?: CallOptions): Promise<QueueState> {
    return this.#json(
      this.#get('/queue', opts),
      (v): v is QueueState =>
        isJsonObject(v) && Array.isArray(v.queue_running) && Array.isArray(v.queue_pending),
      '{queue_running, queue_pending}',
    );
  }

  /**
   * POST /queue {clear: true}: drops every pending prompt (not the running one).
   *
   * @example
   * await client.clearQueue();
   */
  async clearQueue(opts?: CallOptions): Promise<void> {
    return this.#post('/queue', { clear: true }, opts, true);
  }

  /**
   * POST /queue {delete: ids}: drops these pending prompts (running ones are untouched).
   *
   * @example
   * await client.deleteFromQueue([promptId]);
   */
  async deleteFromQueue(promptIds: readonly string[], opts?: CallOptions): Promise<void> {
    checkPromptIds(promptIds, 'deleteFromQueue');
    return this.#post('/queue', { delete: [...promptIds] }, opts, true);
  }

  /**
   * POST /interrupt. With a prompt id, only that prompt is interrupted, and only if it is the
   * one running; without, whatever runs is stopped.
   *
   * @example
   * await client.interrupt(promptId);
   */
  async interrupt(promptId?: string, opts?: CallOptions): Promise<void> {
    if (promptId !== undefined && (typeof promptId !== 'string' || promptId === '')) {
      throw invalid('interrupt: promptId must be a non-empty string');
    }
    return this.#post(
      '/interrupt',
      promptId === undefined ? {} : { prompt_id: promptId },
      opts,
      promptId !== undefined,
    );
  }

  /**
   * POST /free: unload models and/or free memory (also resets the node cache).
   *
   * @example
   * await client.free({ unload_models: true, free_memory: true });
   */
  async free(body: FreeBody, opts?: CallOptions): Promise<void> {
    return this.#post('/free', body, opts, true);
  }

  // -------------------------------------------------------------------------------------------
  // History
  // -------------------------------------------------------------------------------------------

  /**
   * GET /history. Without `maxItems` a busy server returns up to 10 000 full records: pass it.
   * `maxItems` alone = newest N; with `offset` = N from position `offset`, oldest first.
   *
   * @example
   * const recent = await client.getHistory({ maxItems: 20 });
   */
  async getHistory(
    query: { maxItems?: number; offset?: number } = {},
    opts?: CallOptions,
  ): Promise<History> {
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
        throw invalid(`getHistory: ${name} must be a non-negative integer`);
      }
    }
    return this.#json(
      this.#get('/history', opts, { max_items: query.maxItems, offset: query.offset }),
      (v): v is History => isJsonObject(v),
      'an object keyed by prompt_id',
    );
  }

  /**
   * GET /history/{id}: the record, or undefined when the server does not know the id (ComfyUI
   * answers 200 `{}` for that).
   *
   * @example
   * const record = await client.getHistoryItem(promptId);
   * if (record) use(record.outputs);
   */
  async getHistoryItem(promptId: string, opts?: CallOptions): Promise<HistoryRecord | undefined> {
    if (typeof promptId !== 'string' || promptId === '')
      throw invalid('getHistoryItem: promptId is required');
    const history = await this.#json(
      this.#get(`/history/${encodeURIComponent(promptId)}`, opts),
      (v): v is History => isJsonObject(v),
      'an object keyed by prompt_id',
    );
    const record = history[promptId];
    return isJsonObject(record as unknown) ? record : undefined;
  }

  /**
   * POST /history {delete: ids}.
   *
   * @example
   * await client.deleteHistory([promptId]);
   */
  async deleteHistory(promptIds: readonly string[], opts?: CallOptions): Promise<void> {
    checkPromptIds(promptIds, 'deleteHistory');
    return this.#post('/history', { delete: [...promptIds] }, opts, true);
  }

  /**
   * POST /history {clear: true}: wipes the whole history of the instance.
   *
   * @example
   * await client.clearHistory();
   */
  async clearHistory(opts?: CallOptions): Promise<void> {
    return this.#post('/history', { clear: true }, opts, true);
  }

  // -------------------------------------------------------------------------------------------
  // Jobs API (new servers) with fallbacks
  // -------------------------------------------------------------------------------------------

  /**
   * Whether this server has /api/jobs: from the option, an earlier 404, or system_stats'
   * version (fetched once if needed).
   *
   * @example
   * if (await client.hasJobsApi()) await client.listJobs({ status: ['pending'] });
   */
  async hasJobsApi(opts?: CallOptions): Promise<boolean> {
    if (this.#jobsApi !== undefined) return this.#jobsApi;
    if (this.#version === undefined) await this.getSystemStats(opts);
    if (this.#jobsApi === undefined) this.#jobsApi = true;
    return this.#jobsApi;
  }

  /** A 404/405 from the jobs routes that is not ComfyUI's own "Job not found" JSON. */
  #routeMissing(status: number, body: string): boolean {
    if (status !== 404 && status !== 405) return false;
    try {
      const parsed = JSON.parse(body) as unknown;
      return !(isJsonObject(parsed) && typeof parsed.error === 'string');
    } catch {
      return true;
    }
  }

  /**
   * GET /api/jobs (new servers only; throws code UNSUPPORTED on servers without it).
   *
   * @example
   * const { jobs } = await client.listJobs({ status: ['pending', 'in_progress'], limit: 50 });
   */
  async listJobs(query: ComfyJobListQuery = {}, opts?: CallOptions): Promise<ComfyJobList> {
    if (!(await this.hasJobsApi(opts))) {
      throw new ComfyError(
        'UNSUPPORTED',
        `${this.url} has no /api/jobs (ComfyUI ${this.#version ?? 'unknown'})`,
      );
    }
    const res = await this.#send({
      method: 'GET',
      path: routePath(this.#conn, '/api/jobs', false),
      idempotent: true,
      query: {
        status: query.status?.join(','),
        workflow_id: query.workflow_id,
        sort_by: query.sort_by,
        sort_order: query.sort_order,
        limit: query.limit,
        offset: query.offset,
      },
      ...opts,
    });
    if (res.status < 200 || res.status >= 300) {
      const error = await this.#httpError(res, 'GET');
      if (this.#routeMissing(res.status, error.body)) {
        this.#jobsApi = false;
        throw new ComfyError('UNSUPPORTED', `${this.url} has no /api/jobs`, { cause: error });
      }
      throw error;
    }
    const value = await this.#parseJson(res, 'GET');
    if (!isJsonObject(value) || !Array.isArray(value.jobs)) {
      throw this.#notComfy(res, 'GET', JSON.stringify(value), 'expected {jobs, pagination}');
    }
    return value as unknown as ComfyJobList;
  }

  /** GET /api/jobs/{id}: the job, undefined for "Job not found", 'missing' when the route is. */
  async #getJobNative(
    promptId: string,
    opts?: CallOptions,
  ): Promise<ComfyJobDetail | undefined | 'missing'> {
    const res = await this.#send({
      method: 'GET',
      path: routePath(this.#conn, `/api/jobs/${encodeURIComponent(promptId)}`, false),
      idempotent: true,
      ...opts,
    });
    if (res.status === 404 || res.status === 405) {
      const body = await readBodySnippet(res, ERROR_BODY_LIMIT);
      if (this.#routeMissing(res.status, body)) {
        this.#jobsApi = false;
        return 'missing';
      }
      return undefined;
    }
    if (res.status < 200 || res.status >= 300) throw await this.#httpError(res, 'GET');
    const value = await this.#parseJson(res, 'GET');
    if (!isJsonObject(value) || typeof value.id !== 'string' || typeof value.status !== 'string') {
      throw this.#notComfy(res, 'GET', JSON.stringify(value), 'expected a job {id, status}');
    }
    return value as unknown as ComfyJobDetail;
  }

  /**
   * A job in /api/jobs/{id} shape, or undefined when the server does not know it. On servers
   * without the jobs API it is rebuilt from /queue and /history/{id}.
   *
   * @example
   * const job = await client.getJob(promptId); // job?.status: 'pending' | 'in_progress' | ...
   */
  async getJob(promptId: string, opts?: CallOptions): Promise<ComfyJobDetail | undefined> {
    if (typeof promptId !== 'string' || promptId === '')
      throw invalid('getJob: promptId is required');
    if (await this.hasJobsApi(opts)) {
      const job = await this.#getJobNative(promptId, opts);
      if (job !== 'missing') return job;
    }
    const queue = await this.getQueue(opts);
    const running = queue.queue_running.find((item) => item[1] === promptId);
    if (running) return jobFromQueueItem(running, 'in_progress');
    const pending = queue.queue_pending.find((item) => item[1] === promptId);
    if (pending) return jobFromQueueItem(pending, 'pending');
    const record = await this.getHistoryItem(promptId, opts);
    return record ? jobFromHistory(promptId, record) : undefined;
  }

  /**
   * Where a prompt stands: pending, running, finished (with its history record and outcome) or
   * unknown (lost). Uses /api/jobs/{id} when available, else /queue then /history/{id}.
   *
   * @example
   * const state = await client.getPromptState(promptId);
   * if (state.state === 'finished') collect(state.history);
   */
  async getPromptState(promptId: string, opts?: CallOptions): Promise<PromptState> {
    if (typeof promptId !== 'string' || promptId === '')
      throw invalid('getPromptState: promptId is required');
    if (await this.hasJobsApi(opts)) {
      const job = await this.#getJobNative(promptId, opts);
      if (job !== 'missing') {
        if (job === undefined) return { state: 'unknown', promptId };
        if (job.status === 'pending') return { state: 'pending', promptId, job };
        if (job.status === 'in_progress') return { state: 'running', promptId, job };
        const record = await this.getHistoryItem(promptId, opts);
        return record ? finishedFromHistory(promptId, record) : finishedFromJob(job);
      }
    }
    // Queue first: a prompt moves from the queue to history atomically, so this order never
    // misses one that finishes between the two calls.
    const queue = await this.getQueue(opts);
    if (queue.queue_running.some((item) => item[1] === promptId))
      return { state: 'running', promptId };
    if (queue.queue_pending.some((item) => item[1] === promptId))
      return { state: 'pending', promptId };
    const record = await this.getHistoryItem(promptId, opts);
    return record ? finishedFromHistory(promptId, record) : { state: 'unknown', promptId };
  }

  /**
   * Cancels a prompt: dequeued if pending, interrupted if running. Uses POST
   * /api/jobs/{id}/cancel when available, else /queue {delete} plus /interrupt {prompt_id}.
   * `cancelled` is false when the prompt was not queued or running.
   *
   * @example
   * const { cancelled } = await client.cancelJob(promptId);
   */
  async cancelJob(promptId: string, opts?: CallOptions): Promise<{ cancelled: boolean }> {
    if (typeof promptId !== 'string' || promptId === '')
      throw invalid('cancelJob: promptId is required');
    if (await this.hasJobsApi(opts)) {
      const result = await this.#cancelNative(
        `/api/jobs/${encodeURIComponent(promptId)}/cancel`,
        undefined,
        opts,
      );
      if (result !== 'missing') return result;
    }
    return this.#cancelFallback([promptId], opts);
  }

  /**
   * Cancels several prompts (POST /api/jobs/cancel, or the same fallback as cancelJob).
   * `cancelled` is true if any was cancelled. The jobs route needs canonical UUIDs.
   *
   * @example
   * await client.cancelJobs([a, b]);
   */
  async cancelJobs(
    promptIds: readonly string[],
    opts?: CallOptions,
  ): Promise<{ cancelled: boolean }> {
    checkPromptIds(promptIds, 'cancelJobs');
    if (promptIds.length === 0) return { cancelled: false };
    if (await this.hasJobsApi(opts)) {
      const result = await this.#cancelNative(
        '/api/jobs/cancel',
        { job_ids: [...promptIds] },
        opts,
      );
      if (result !== 'missing') return result;
    }
    return this.#cancelFallback(promptIds, opts);
  }

  async #cancelNative(
    route: string,
    body: unknown,
    opts: CallOptions | undefined,
  ): Promise<{ cancelled: boolean } | 'missing'> {
    const req: TransportRequest = {
      method: 'POST',
      path: routePath(this.#conn, route, false),
      idempotent: true,
      ...opts,
    };
    if (body !== undefined) req.body = { kind: 'json', value: body };
    const res = await this.#send(req);
    if (res.status < 200 || res.status >= 300) {
      const error = await this.#httpError(res, 'POST');
      if (this.#routeMissing(res.status, error.body)) {
        this.#jobsApi = false;
        return 'missing';
      }
      throw error;
    }
    const value = await this.#parseJson(res, 'POST');
    if (!isJsonObject(value) || typeof value.cancelled !== 'boolean') {
      throw this.#notComfy(res, 'POST', JSON.stringify(value), 'expected {cancelled}');
    }
    return { cancelled: value.cancelled };
  }

  async #cancelFallback(
    promptIds: readonly string[],
    opts?: CallOptions,
  ): Promise<{ cancelled: boolean }> {
    const wanted = new Set(promptIds);
    const queue = await this.getQueue(opts);
    const pending = queue.queue_pending.map((item) => item[1]).filter((id) => wanted.has(id));
    const running = queue.queue_running.map((item) => item[1]).filter((id) => wanted.has(id));
    if (pending.length > 0) await this.deleteFromQueue(pending, opts);
    // A pending prompt may have started between the two calls: the targeted interrupt is a
    // no-op unless that very prompt is running.
    const toInterrupt = new Set([...running, ...pending]);
    for (const id of toInterrupt) await this.interrupt(id, opts);
    return { cancelled: pending.length + running.length > 0 };
  }

  // -------------------------------------------------------------------------------------------
  // System, nodes, models
  // -------------------------------------------------------------------------------------------

  /**
   * GET /system_stats. Also records comfyui_version (see `version`, `hasJobsApi`). Throws
   * ComfyNotComfyError when the answer is not ComfyUI's.
   *
   * @example
   * const { system, devices } = await client.getSystemStats();
   */
  async getSystemStats(opts?: CallOptions): Promise<SystemStats> {
    const stats = await this.#json(
      this.#get('/system_stats', opts),
      (v): v is SystemStats =>
        isJsonObject(v) && isJsonObject(v.system) && Array.isArray(v.devices),
      '{system, devices}',
    );
    const version = stats.system.comfyui_version;
    if (typeof version === 'string') {
      this.#version = version;
      if (this.#jobsApiOption === 'auto' && this.#jobsApi === undefined) {
        const has = versionHasJobsApi(version);
        if (has !== undefined) this.#jobsApi = has;
      }
    }
    return stats;
  }

  /**
   * GET /object_info (several MB on a real server: cache it).
   *
   * @example
   * const classes = Object.keys(await client.getObjectInfo());
   */
  async getObjectInfo(opts?: CallOptions): Promise<ObjectInfo> {
    return this.#json(
      this.#get('/object_info', opts),
      (v): v is ObjectInfo => isJsonObject(v),
      'an object',
    );
  }

  /**
   * GET /object_info/{class}: the node's info, or undefined when the class is unknown (ComfyUI
   * answers 200 `{}`).
   *
   * @example
   * const info = await client.getNodeInfo('SaveImage');
   */
  async getNodeInfo(nodeClass: string, opts?: CallOptions): Promise<NodeInfo | undefined> {
    if (typeof nodeClass !== 'string' || nodeClass === '')
      throw invalid('getNodeInfo: nodeClass is required');
    const info = await this.#json(
      this.#get(`/object_info/${encodeURIComponent(nodeClass)}`, opts),
      (v): v is ObjectInfo => isJsonObject(v),
      'an object',
    );
    const node = info[nodeClass];
    return isJsonObject(node as unknown) ? node : undefined;
  }

  /**
   * GET /models: the model folder names.
   *
   * @example
   * const folders = await client.listModelFolders(); // ['checkpoints', 'loras', ...]
   */
  async listModelFolders(opts?: CallOptions): Promise<string[]> {
    return this.#json(this.#get('/models', opts), isStringArray, 'a list of folder names');
  }

  /**
   * GET /models/{folder}: file names in that folder, or undefined for an unknown folder (404).
   *
   * @example
   * const checkpoints = (await client.listModels('checkpoints')) ?? [];
   */
  async listModels(folder: string, opts?: CallOptions): Promise<string[] | undefined> {
    if (typeof folder !== 'string' || folder === '')
      throw invalid('listModels: folder is required');
    const res = await this.#send(this.#get(`/models/${encodeURIComponent(folder)}`, opts));
    if (res.status === 404) {
      await readBodySnippet(res, ERROR_BODY_LIMIT);
      return undefined;
    }
    if (res.status < 200 || res.status >= 300) throw await this.#httpError(res, 'GET');
    const value = await this.#parseJson(res, 'GET');
    if (!isStringArray(value))
      throw this.#notComfy(res, 'GET', JSON.stringify(value), 'expected a list of files');
    return value;
  }

  /**
   * GET /embeddings: embedding names without extension.
   *
   * @example
   * const names = await client.getEmbeddings();
   */
  async getEmbeddings(opts?: CallOptions): Promise<string[]> {
    return this.#json(this.#get('/embeddings', opts), isStringArray, 'a list of names');
  }

  /**
   * GET /extensions: web extension script URLs.
   *
   * @example
   * const scripts = await client.getExtensions();
   */
  async getExtensions(opts?: CallOptions): Promise<string[]> {
    return this.#json(this.#get('/extensions', opts), isStringArray, 'a list of URLs');
  }

  /**
   * GET /features: the server's feature flags (newer servers).
   *
   * @example
   * const flags = await client.getFeatures();
   */
  async getFeatures(opts?: CallOptions): Promise<FeatureFlags> {
    return this.#json(
      this.#get('/features', opts),
      (v): v is FeatureFlags => isJsonObject(v),
      'an object',
    );
  }

  // -------------------------------------------------------------------------------------------
  // Files
  // -------------------------------------------------------------------------------------------

  #uploadFields(options: UploadOptions): Array<[string, string]> {
    if (!options || typeof options.filename !== 'string' || options.filename === '') {
      throw invalid('upload: a filename is required');
    }
    if (/[\r\n\0/\\]/.test(options.filename)) {
      throw invalid('upload: filename must be a plain name (put directories in subfolder)');
    }
    if (options.type !== undefined && !['input', 'output', 'temp'].includes(options.type)) {
      throw invalid(`upload: type must be input, output or temp, not ${String(options.type)}`);
    }
    const fields: Array<[string, string]> = [];
    if (options.type !== undefined) fields.push(['type', options.type]);
    if (options.subfolder !== undefined) fields.push(['subfolder', options.subfolder]);
    fields.push(['overwrite', options.overwrite ? 'true' : 'false']);
    return fields;
  }

  async #upload(
    route: string,
    data: UploadData,
    options: UploadOptions,
    fields: Array<[string, string]>,
  ): Promise<UploadResult> {
    const isBytes = data instanceof Uint8Array;
    const isIterable =
      !isBytes && typeof (data as AsyncIterable<Uint8Array>)?.[Symbol.asyncIterator] === 'function';
    if (!isBytes && !isIterable)
      throw invalid('upload: data must be a Buffer, Uint8Array or readable stream');
    const ext = options.filename.split('.').pop()?.toLowerCase() ?? '';
    const file: Parameters<typeof buildMultipart>[1] = {
      field: 'image',
      filename: options.filename,
      contentType: options.contentType ?? CONTENT_TYPES[ext] ?? 'application/octet-stream',
      data,
    };
    if (options.size !== undefined) file.size = options.size;
    const body = buildMultipart(fields, file);
    const req: TransportRequest = {
      method: 'POST',
      path: routePath(this.#conn, route),
      idempotent: false,
      body: { kind: 'stream', contentType: body.contentType, stream: body.stream },
    };
    if (body.length !== undefined && req.body?.kind === 'stream') req.body.length = body.length;
    if (options.signal) req.signal = options.signal;
    if (options.timeoutMs !== undefined) req.timeoutMs = options.timeoutMs;
    try {
      return await this.#json(
        req,
        (v): v is UploadResult => isJsonObject(v) && typeof v.name === 'string',
        '{name, subfolder, type}',
      );
    } finally {
      body.stream.destroy();
    }
  }

  /**
   * POST /upload/image (multipart). The server may rename the file (dedupe, collisions): use the
   * returned `name` (joined with `subfolder`) in LoadImage.
   *
   * @example
   * const { name, subfolder } = await client.uploadImage(png, { filename: 'in.png', subfolder: jobId });
   */
  async uploadImage(data: UploadData, options: UploadOptions): Promise<UploadResult> {
    return this.#upload('/upload/image', data, options, this.#uploadFields(options));
  }

  /**
   * POST /upload/mask: replaces the alpha channel of `originalRef` with the uploaded image's.
   * ComfyUI answers 200 even when the original was missing (no file is written then).
   *
   * @example
   * await client.uploadMask(maskPng, { filename: 'm.png', originalRef: { filename: 'in.png', type: 'input' } });
   */
  async uploadMask(data: UploadData, options: UploadMaskOptions): Promise<UploadResult> {
    const fields = this.#uploadFields(options);
    const ref = options.originalRef;
    if (!ref || typeof ref.filename !== 'string' || ref.filename === '') {
      throw invalid('uploadMask: originalRef.filename is required');
    }
    fields.push([
      'original_ref',
      JSON.stringify({
        filename: ref.filename,
        subfolder: ref.subfolder ?? '',
        type: ref.type ?? 'output',
      }),
    ]);
    return this.#upload('/upload/mask', data, options, fields);
  }

  /**
   * GET /view as a stream: resolves as soon as the headers arrive; nothing is buffered. Accepts an
   * output entry from history as is. Non-2xx answers throw ComfyHttpError (404 missing, 400 bad
   * name, 403 outside the folder).
   *
   * @example
   * const view = await client.view(record.outputs['9'].images[0]);
   * await view.saveTo('/data/out.png');
   */
  async view(ref: FileRef, options: ViewOptions = {}): Promise<ViewResponse> {
    if (!ref || typeof ref.filename !== 'string' || ref.filename === '')
      throw invalid('view: filename is required');
    const req: TransportRequest = {
      method: 'GET',
      path: routePath(this.#conn, '/view'),
      idempotent: true,
      accept: '*/*',
      query: {
        filename: ref.filename,
        subfolder: ref.subfolder,
        type: ref.type,
        preview: options.preview,
        channel: options.channel,
      },
    };
    if (options.range) {
      const { start, end } = options.range;
      if (
        !Number.isInteger(start) ||
        start < 0 ||
        (end !== undefined && (!Number.isInteger(end) || end < start))
      ) {
        throw invalid('view: range must be integers with 0 <= start <= end');
      }
      req.headers = { range: `bytes=${start}-${end ?? ''}` };
    }
    if (options.signal) req.signal = options.signal;
    if (options.timeoutMs !== undefined) req.timeoutMs = options.timeoutMs;
    const res = await this.#send(req);
    if (res.status < 200 || res.status >= 300) throw await this.#httpError(res, 'GET');
    return createViewResponse(res.status, res.headers, res.body);
  }

  /**
   * Streams a /view file to `path` (atomically: a temporary sibling is renamed at the end).
   *
   * @example
   * const { bytes } = await client.downloadToFile(image, '/data/jobs/42/out.png');
   */
  async downloadToFile(
    ref: FileRef,
    path: string,
    options: ViewOptions = {},
  ): Promise<{ bytes: number; contentType: string | undefined }> {
    const view = await this.view(ref, options);
    const bytes = await view.saveTo(path, options.signal ? { signal: options.signal } : {});
    return { bytes, contentType: view.contentType };
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle and printing
  // -------------------------------------------------------------------------------------------

  /**
   * Closes every connection; calls in flight reject with CLIENT_CLOSED, later calls too.
   * Idempotent.
   *
   * @example
   * client.close();
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#transport.close();
  }

  toString(): string {
    return `ComfyClient(${this.#conn.displayUrl})`;
  }

  toJSON(): { url: string; auth: string; headers: string[] } {
    return describeConnection(this.#conn);
  }

  [inspect.custom](): string {
    const d = describeConnection(this.#conn);
    return `ComfyClient { url: '${d.url}', auth: '${d.auth}', headers: [${d.headers.join(', ')}] }`;
  }
}
