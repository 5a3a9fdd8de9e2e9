import { mkdir, unlink } from 'node:fs/promises';
import {
  ClusterError,
  ClusterTimeoutError,
  errorFromResponse,
  GatewayUnreachableError,
} from './errors.js';
import { GatewayHttp, type HttpRequest } from './gateway-http.js';
import { type SavedOutput, safeOutputName, writeNewFile } from './output-files.js';
import { sseMessages } from './sse.js';
import { type SubmitRequest, submissionBody } from './submission.js';
import {
  type Accepted,
  type ApiKeyRole,
  type ApiKeyView,
  type ClusterEvent,
  type ConnectionTestResult,
  type CreatedApiKey,
  type ErrorBody,
  FINISHED_JOB_STATUSES,
  type GatewayHealth,
  type ImportSummary,
  type InstanceCreate,
  type InstanceDetail,
  type InstanceLogs,
  type InstanceUpdate,
  type InstanceView,
  type JobEvent,
  type JobList,
  type JobProgressUpdate,
  type JobStatus,
  type JobView,
  type TemplateDefinition,
  type TemplateView,
} from './types.js';

/** Default gateway address (`comfy-cluster serve`). */
export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8190';

/** Options of {@link ClusterClient}. */
export interface ClusterClientOptions {
  /** Gateway base URL (default env COMFY_CLUSTER_URL, else http://127.0.0.1:8190). */
  url?: string;
  /** API key sent as `Authorization: Bearer` (default env COMFY_CLUSTER_API_KEY). */
  apiKey?: string;
  /** Per request, until the answer is read (streams: until the headers). Default 30 000. */
  timeoutMs?: number;
  /** The fetch to use (default the global one). */
  fetch?: typeof fetch;
  userAgent?: string;
}

/** Filters of {@link ClusterClient.listJobs}. */
export interface JobQuery {
  status?: JobStatus | readonly JobStatus[];
  /** Instance id. */
  instance?: string;
  /** Admins: only this owner's (key id) jobs. */
  owner?: string;
  template?: string;
  /** Created at or after / before: ISO-8601, ms since epoch, or a Date. */
  from?: string | number | Date;
  to?: string | number | Date;
  /** Page size (1..500). */
  limit?: number;
  cursor?: string | null;
}

/** Options of {@link ClusterClient.wait} and {@link ClusterClient.run}. */
export interface WaitOptions {
  /** Every event of the job, in order. */
  onEvent?: (e: JobEvent) => void;
  /** Every `job.progress` event. */
  onProgress?: (p: JobProgressUpdate) => void;
  signal?: AbortSignal;
  /** Give up after this long with a {@link ClusterTimeoutError} (the job goes on). */
  timeoutMs?: number;
}

/** A streamed output file. */
export interface OutputDownload {
  stream: ReadableStream<Uint8Array>;
  contentType: string;
  /** Content-Length, when the gateway sent one. */
  size: number | null;
  /** The output's file name (from Content-Disposition). */
  filename: string;
  /** sha256 of the file (the ETag), when known. */
  sha256: string | null;
}

const V1 = '/api/v1';
const enc = encodeURIComponent;
const FINISHED: readonly string[] = FINISHED_JOB_STATUSES;

/** Reconnects of an event stream in a row that may fail before the error is thrown. */
const MAX_RECONNECTS = 8;

function envValue(name: string): string | undefined {
  const v = typeof process === 'undefined' ? undefined : process.env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function timeParam(v: string | number | Date | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function reconnectDelay(failures: number): number {
  return Math.min(5_000, 100 * 2 ** Math.max(0, failures - 1));
}

function isTransient(err: unknown): boolean {
  return (
    err instanceof GatewayUnreachableError ||
    err instanceof ClusterTimeoutError ||
    (err instanceof ClusterError && err.status !== null && err.status >= 502)
  );
}

function filenameOf(disposition: string | null, fallback: string): string {
  if (disposition) {
    const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(disposition);
    if (star?.[1]) {
      try {
        return decodeURIComponent(star[1].trim());
      } catch {
        // fall through to the plain parameter
      }
    }
    const plain =
      /filename\s*=\s*"([^"]*)"/i.exec(disposition) ?? /filename\s*=\s*([^;]+)/i.exec(disposition);
    if (plain?.[1]) return plain[1].trim();
  }
  return fallback;
}

function parseEvent<T>(data: string): T | undefined {
  try {
    const v = JSON.parse(data) as unknown;
    return v !== null && typeof v === 'object' ? (v as T) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True for the event after which a job's stream ends: its status became final.
 *
 * @example
 * isTerminalJobEvent({ id: 9, type: 'job.status', time: '', data: { job_id: 'j', status: 'failed' } }); // true
 */
export function isTerminalJobEvent(e: JobEvent): boolean {
  return (
    e.type === 'job.status' && typeof e.data.status === 'string' && FINISHED.includes(e.data.status)
  );
}

/**
 * The public TypeScript client of a comfy-cluster gateway (`/api/v1`): submit workflows or
 * templates with input files, follow jobs (events, progress, wait), download outputs, cancel and
 * retry, administer instances, templates, API keys and the config. Every failure rejects with a
 * {@link ClusterError}: {@link GatewayUnreachableError} when nothing answers, {@link AuthError}
 * on 401/403, {@link ClusterTimeoutError} when too slow, otherwise the gateway's error code.
 *
 * @example
 * const client = new ClusterClient({ url: 'http://127.0.0.1:8190' });
 * const job = await client.run({ workflow }, { onProgress: (p) => console.log(p.percent) });
 * if (job.status === 'completed') await client.saveOutputs(job.id, './out');
 */
export class ClusterClient {
  /** The gateway's base URL (no trailing slash). */
  readonly url: string;
  readonly #http: GatewayHttp;

  constructor(options: ClusterClientOptions = {}) {
    const raw = options.url ?? envValue('COMFY_CLUSTER_URL') ?? DEFAULT_GATEWAY_URL;
    let parsed: URL;
    try {
      parsed = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
    } catch {
      throw new ClusterError('invalid_url', `not a gateway URL: ${JSON.stringify(raw)}`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new ClusterError('invalid_url', `the gateway URL must be http(s): ${raw}`);
    }
    this.url = `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
    const timeoutMs = options.timeoutMs ?? 30_000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new ClusterError('invalid_option', 'timeoutMs must be a positive number');
    }
    const f = options.fetch ?? globalThis.fetch;
    this.#http = new GatewayHttp({
      url: this.url,
      apiKey: options.apiKey ?? envValue('COMFY_CLUSTER_API_KEY'),
      timeoutMs,
      fetch: f.bind(globalThis),
      userAgent: options.userAgent ?? 'comfy-cluster-client',
    });
  }

  async #get<T>(path: string, req: HttpRequest = {}): Promise<T> {
    return (await this.#http.json<T>(path, req)).body;
  }

  async #send<T>(method: string, path: string, req: HttpRequest = {}): Promise<T> {
    return (await this.#http.json<T>(path, { ...req, method })).body;
  }

  // ---- operations ----------------------------------------------------------------------------

  /**
   * GET /health. A gateway with no healthy instance answers 503 `degraded`: that body is returned.
   *
   * @example
   * (await client.health()).status; // 'healthy' | 'degraded'
   */
  async health(): Promise<GatewayHealth> {
    const { status, body } = await this.#http.json<GatewayHealth | ErrorBody>('/health', {
      okStatuses: [503],
    });
    // A 503 that is not the health document (a proxy, a gateway shutting down) is an error.
    if ('error' in body || typeof body.status !== 'string') {
      throw errorFromResponse(status, body, '');
    }
    return body;
  }

  // ---- instances -----------------------------------------------------------------------------

  /**
   * Every instance with its status, health and figures.
   *
   * @example
   * for (const i of await client.listInstances()) console.log(i.name, i.health);
   */
  async listInstances(): Promise<InstanceView[]> {
    return (await this.#get<{ instances: InstanceView[] }>(`${V1}/instances`)).instances;
  }

  /**
   * One instance by id, name or 'active', with the health monitor's full report.
   *
   * @example
   * (await client.getInstance('gpu0')).report?.queue;
   */
  async getInstance(idOrName: string): Promise<InstanceDetail> {
    return this.#get<InstanceDetail>(`${V1}/instances/${enc(idOrName)}`);
  }

  /**
   * Adds an instance (saved to the gateway's config file).
   *
   * @example
   * await client.addInstance({ name: 'gpu1', host: '10.0.0.5', port: 8188 });
   */
  async addInstance(def: InstanceCreate): Promise<InstanceView> {
    return this.#send<InstanceView>('POST', `${V1}/instances`, { json: def });
  }

  /**
   * Changes some fields of an instance (`auth: null` removes its credentials).
   *
   * @example
   * await client.updateInstance('gpu1', { max_concurrent: 2 });
   */
  async updateInstance(id: string, patch: InstanceUpdate): Promise<InstanceView> {
    return this.#send<InstanceView>('PATCH', `${V1}/instances/${enc(id)}`, { json: patch });
  }

  /**
   * Removes an instance.
   *
   * @example
   * await client.removeInstance('gpu1');
   */
  async removeInstance(id: string): Promise<void> {
    await this.#send<unknown>('DELETE', `${V1}/instances/${enc(id)}`);
  }

  /**
   * start / stop (route work or not; managed: the process), pause (drain) or resume.
   *
   * @example
   * await client.instanceAction('gpu1', 'pause');
   */
  async instanceAction(
    id: string,
    action: 'start' | 'stop' | 'pause' | 'resume',
  ): Promise<InstanceView> {
    return this.#send<InstanceView>('POST', `${V1}/instances/${enc(id)}/${action}`);
  }

  /**
   * Tests the connection of a saved instance: version and devices, or why it failed.
   *
   * @example
   * const r = await client.testInstance('gpu1'); if (!r.ok) console.log(r.kind, r.message);
   */
  async testInstance(id: string): Promise<ConnectionTestResult> {
    const body = await this.#send<{ result: ConnectionTestResult }>(
      'POST',
      `${V1}/instances/${enc(id)}/test`,
      { timeoutMs: null },
    );
    return body.result;
  }

  /**
   * The active instance (what jobs pinned to 'active' use), null when there is no instance.
   *
   * @example
   * (await client.getActive())?.name;
   */
  async getActive(): Promise<InstanceView | null> {
    try {
      return await this.#get<InstanceView>(`${V1}/instances/active`);
    } catch (err) {
      if (err instanceof ClusterError && err.status === 404) return null;
      throw err;
    }
  }

  /**
   * Makes an instance the active one (null: back to the default, the first instance).
   *
   * @example
   * await client.setActive('gpu1');
   */
  async setActive(id: string | null): Promise<InstanceView | null> {
    const body = await this.#send<{ active: InstanceView | null }>(
      'PUT',
      `${V1}/instances/active`,
      { json: { id } },
    );
    return body.active;
  }

  /**
   * The last lines of a managed instance's log (404/409 for remote instances).
   *
   * @example
   * (await client.instanceLogs('gpu0', { lines: 50 })).lines.join('\n');
   */
  async instanceLogs(id: string, opts: { lines?: number } = {}): Promise<InstanceLogs> {
    return this.#get<InstanceLogs>(`${V1}/instances/${enc(id)}/logs`, {
      query: { lines: opts.lines },
    });
  }

  /**
   * The gateway's instance config document (comfyui_instances.json); credentials are redacted
   * unless `includeSecrets`.
   *
   * @example
   * await writeFile('instances.json', JSON.stringify(await client.exportConfig(), null, 2));
   */
  async exportConfig(opts: { includeSecrets?: boolean } = {}): Promise<unknown> {
    return this.#get<unknown>(`${V1}/instances/export`, {
      query: { include_secrets: opts.includeSecrets ? true : undefined },
    });
  }

  /**
   * Imports a config document (any supported version; a parsed object or its JSON text): all of
   * it or nothing. `mode` `replace` (default) makes the fleet exactly the document; `merge` adds
   * and updates only.
   *
   * @example
   * const summary = await client.importConfig(JSON.parse(text), { mode: 'merge' });
   */
  async importConfig(
    doc: unknown,
    opts: { mode?: 'replace' | 'merge' } = {},
  ): Promise<ImportSummary> {
    const req: HttpRequest =
      typeof doc === 'string'
        ? { body: doc, headers: { 'content-type': 'application/json' } }
        : { json: doc };
    return this.#send<ImportSummary>('POST', `${V1}/instances/import`, {
      ...req,
      query: { mode: opts.mode },
    });
  }

  // ---- jobs ----------------------------------------------------------------------------------

  /**
   * Submits a job: a workflow, or a template with params, plus input files (local files and bytes
   * are uploaded as multipart, streamed). With `wait`, the gateway answers once the job finished
   * (`job` then holds it with its outputs) or `waitTimeoutS` passed (`status` still unfinished).
   *
   * @example
   * const { job_id } = await client.submit({ workflow, inputs: { 'cat.png': { path: './cat.png' } } });
   */
  async submit(
    req: SubmitRequest,
    opts: { wait?: boolean; waitTimeoutS?: number; signal?: AbortSignal } = {},
  ): Promise<Accepted> {
    const body = await submissionBody(req);
    const { status, body: answer } = await this.#http.json<Accepted | JobView>(`${V1}/jobs`, {
      method: 'POST',
      ...('json' in body ? { json: body.json } : { body: body.form }),
      query: opts.wait
        ? {
            wait: true,
            timeout:
              opts.waitTimeoutS === undefined
                ? undefined
                : Math.max(1, Math.ceil(opts.waitTimeoutS)),
          }
        : undefined,
      ...(opts.signal ? { signal: opts.signal } : {}),
      // A wait lasts as long as the job; the gateway bounds it (waitTimeoutS, at most 600 s).
      ...(opts.wait ? { timeoutMs: null } : {}),
    });
    if (status === 200 && !('job_id' in answer)) {
      return {
        job_id: answer.id,
        status: answer.status,
        queue_position: null,
        estimated_completion_seconds: null,
        job: answer,
      };
    }
    return answer as Accepted;
  }

  /**
   * Runs a template by name with its parameters (a job like {@link submit}).
   *
   * @example
   * await client.runTemplate('upscale-image', { image: 'in.png', scale: 2 }, { inputs: { 'in.png': { path: 'in.png' } } });
   */
  async runTemplate(
    name: string,
    params: Record<string, unknown> = {},
    req: Omit<SubmitRequest, 'workflow' | 'template' | 'params'> = {},
  ): Promise<Accepted> {
    return this.submit({ ...req, template: name, params });
  }

  /**
   * A job with its outputs (`outputs[n].sha256`, `url`).
   *
   * @example
   * const job = await client.getJob(id); job.status;
   */
  async getJob(id: string, opts: { signal?: AbortSignal } = {}): Promise<JobView> {
    return this.#get<JobView>(`${V1}/jobs/${enc(id)}`, opts.signal ? { signal: opts.signal } : {});
  }

  /**
   * One page of jobs, newest first (users see their own).
   *
   * @example
   * const { jobs, next_cursor } = await client.listJobs({ status: ['failed'], limit: 50 });
   */
  async listJobs(q: JobQuery = {}): Promise<JobList> {
    const status = typeof q.status === 'string' ? [q.status] : q.status;
    return this.#get<JobList>(`${V1}/jobs`, {
      query: {
        status: status && status.length > 0 ? status.join(',') : undefined,
        instance: q.instance,
        owner: q.owner,
        template: q.template,
        from: timeParam(q.from),
        to: timeParam(q.to),
        limit: q.limit,
        cursor: q.cursor,
      },
    });
  }

  /**
   * Every job matching `q`, page after page.
   *
   * @example
   * for await (const job of client.iterateJobs({ status: 'failed' })) console.log(job.id);
   */
  async *iterateJobs(q: JobQuery = {}): AsyncGenerator<JobView> {
    let cursor = q.cursor ?? null;
    for (;;) {
      const page = await this.listJobs({ ...q, cursor });
      for (const job of page.jobs) yield job;
      if (!page.next_cursor || page.next_cursor === cursor) return;
      cursor = page.next_cursor;
    }
  }

  /**
   * Cancels a job: pending → cancelled at once; processing → interrupted on its instance
   * (`cancel_requested`, then cancelled). A finished job → ClusterError `invalid_state` (409).
   *
   * @example
   * await client.cancel(id);
   */
  async cancel(id: string): Promise<Accepted> {
    return this.#send<Accepted>('POST', `${V1}/jobs/${enc(id)}/cancel`);
  }

  /**
   * Retries a failed or cancelled job as a new job (`retry_of` links them).
   *
   * @example
   * const { job_id } = await client.retry(failedId);
   */
  async retry(id: string): Promise<Accepted> {
    return this.#send<Accepted>('POST', `${V1}/jobs/${enc(id)}/retry`);
  }

  /**
   * The job's events (SSE), from the start or after `lastEventId`, in order and each once: a
   * dropped stream is reopened with Last-Event-ID. Ends after the event that finishes the job.
   *
   * @example
   * for await (const e of client.jobEvents(id)) console.log(e.type, e.data);
   */
  async *jobEvents(
    id: string,
    opts: { signal?: AbortSignal; lastEventId?: number } = {},
  ): AsyncGenerator<JobEvent> {
    const { signal } = opts;
    let last = opts.lastEventId ?? 0;
    let failures = 0;
    let stalls = 0;
    for (;;) {
      let response: Response;
      try {
        response = await this.#http.open(
          `${V1}/jobs/${enc(id)}/events`,
          {
            headers: last > 0 ? { 'last-event-id': String(last) } : {},
            ...(signal ? { signal } : {}),
          },
          'text/event-stream',
        );
      } catch (err) {
        if (!isTransient(err) || ++failures > MAX_RECONNECTS) throw err;
        await delay(reconnectDelay(failures), signal);
        continue;
      }
      failures = 0;
      let fresh = 0;
      let dropped = false;
      try {
        if (!response.body)
          throw new ClusterError('invalid_response', 'the event stream has no body');
        for await (const m of sseMessages(response.body)) {
          const e = parseEvent<JobEvent>(m.data);
          // Buffered events are not handed out after an abort.
          if (signal?.aborted) throw signal.reason;
          if (!e || typeof e.id !== 'number' || e.id <= last) continue;
          last = e.id;
          fresh++;
          yield e;
          if (isTerminalJobEvent(e)) return;
        }
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (err instanceof ClusterError && !isTransient(err)) throw err;
        dropped = true;
      }
      if (fresh > 0) stalls = 0;
      else {
        // Nothing new on this connection. A stream the gateway ended cleanly: is the job finished
        // (a log without a final event)? A gateway restarting: keep trying, for a while.
        if (!dropped) {
          const job = await this.getJob(id, signal ? { signal } : {}).catch((err: unknown) => {
            if (isTransient(err)) return undefined;
            throw err;
          });
          if (job && FINISHED.includes(job.status)) return;
        }
        if (++stalls > MAX_RECONNECTS) {
          throw new ClusterError(
            'events_unavailable',
            `the event stream of job ${id} keeps ending without news (${stalls} times); the job may still run`,
          );
        }
      }
      await delay(reconnectDelay(Math.max(1, stalls)), signal);
    }
  }

  /**
   * Follows a job until it is finished and resolves with the final job (whatever its status,
   * outputs included). `onEvent` sees every event, `onProgress` the progress ones.
   *
   * @example
   * const job = await client.wait(id, { onProgress: (p) => bar.update(p.percent ?? 0), timeoutMs: 600_000 });
   */
  async wait(id: string, opts: WaitOptions = {}): Promise<JobView> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(opts.signal?.reason);
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            controller.abort(
              new ClusterTimeoutError(`job ${id} did not finish within ${opts.timeoutMs} ms`),
            );
          }, opts.timeoutMs);
    try {
      for await (const e of this.jobEvents(id, { signal: controller.signal })) {
        opts.onEvent?.(e);
        if (e.type === 'job.progress' && opts.onProgress) {
          opts.onProgress({
            job_id: e.data.job_id,
            attempt: e.data.attempt ?? null,
            percent: e.data.percent ?? null,
            node: e.data.node ?? null,
            step: e.data.step ?? null,
            steps: e.data.steps ?? null,
          });
        }
      }
      return await this.getJob(id, { signal: controller.signal });
    } catch (err) {
      if (timedOut) {
        throw new ClusterTimeoutError(`job ${id} did not finish within ${opts.timeoutMs} ms`);
      }
      throw err;
    } finally {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Submits a job and waits for it: the final job, whatever its status.
   *
   * @example
   * const job = await client.run({ template: 'upscale-image', params: { image: 'a.png' }, inputs: { 'a.png': { path: 'a.png' } } });
   */
  async run(req: SubmitRequest, opts: WaitOptions = {}): Promise<JobView> {
    const accepted = await this.submit(req, opts.signal ? { signal: opts.signal } : {});
    return this.wait(accepted.job_id, opts);
  }

  /**
   * Output `n` of a job as a stream (never buffered whole). Cancel the stream if you stop early.
   *
   * @example
   * const out = await client.downloadOutput(id, 0);
   * await pipeline(Readable.fromWeb(out.stream), createWriteStream(out.filename));
   */
  async downloadOutput(
    id: string,
    n: number,
    opts: { signal?: AbortSignal } = {},
  ): Promise<OutputDownload> {
    if (!Number.isInteger(n) || n < 0) {
      throw new ClusterError('invalid_argument', `output index must be an integer >= 0, got ${n}`);
    }
    const response = await this.#http.open(
      `${V1}/jobs/${enc(id)}/outputs/${n}`,
      opts.signal ? { signal: opts.signal } : {},
    );
    if (!response.body) throw new ClusterError('invalid_response', 'the download has no body');
    const length = response.headers.get('content-length');
    const etag = response.headers.get('etag');
    return {
      stream: response.body,
      contentType: response.headers.get('content-type') ?? 'application/octet-stream',
      size: length !== null && /^\d+$/.test(length) ? Number(length) : null,
      filename: filenameOf(response.headers.get('content-disposition'), `output-${n}`),
      sha256: etag ? etag.replace(/^W\//, '').replace(/"/g, '') : null,
    };
  }

  /**
   * Writes every file output of a job into `dir` (created if missing): safe names only (the last
   * segment of the server's name, no path), never replacing a file (a taken name gets `-1`,
   * `-2`, ...), each checked against the sha256 of the job record (a mismatch removes the file
   * and throws `checksum_mismatch`).
   *
   * @example
   * for (const o of await client.saveOutputs(id, './out')) console.log(o.path, o.size);
   */
  async saveOutputs(
    id: string,
    dir: string,
    opts: { signal?: AbortSignal } = {},
  ): Promise<SavedOutput[]> {
    const job = await this.getJob(id, opts);
    await mkdir(dir, { recursive: true });
    const saved: SavedOutput[] = [];
    for (const output of job.outputs ?? []) {
      if (output.kind !== 'file') continue;
      const download = await this.downloadOutput(id, output.index, opts);
      const name = safeOutputName(output.filename ?? download.filename, output.index);
      const written = await writeNewFile(dir, name, download.stream);
      const expected = output.sha256 ?? download.sha256;
      if (expected && expected !== written.sha256) {
        await unlink(written.path).catch(() => undefined);
        throw new ClusterError(
          'checksum_mismatch',
          `output ${output.index} of job ${id}: sha256 ${written.sha256} differs from the job record's ${expected}`,
        );
      }
      saved.push({ index: output.index, ...written });
    }
    return saved;
  }

  // ---- templates -----------------------------------------------------------------------------

  /**
   * Every template (built-in, from the templates folder, or created over the API).
   *
   * @example
   * (await client.listTemplates()).map((t) => t.name);
   */
  async listTemplates(): Promise<TemplateView[]> {
    return (await this.#get<{ templates: TemplateView[] }>(`${V1}/templates`)).templates;
  }

  /**
   * One template: workflow, parameters, variants.
   *
   * @example
   * Object.keys((await client.getTemplate('upscale-image')).parameters);
   */
  async getTemplate(name: string): Promise<TemplateView> {
    return this.#get<TemplateView>(`${V1}/templates/${enc(name)}`);
  }

  /**
   * Creates or replaces a template (admin).
   *
   * @example
   * await client.putTemplate('invert', { workflow, parameters: { image: { node: '1', input: 'image', type: 'image' } } });
   */
  async putTemplate(
    name: string,
    def: Omit<TemplateDefinition, 'name'> & { name?: string },
  ): Promise<TemplateView> {
    return this.#send<TemplateView>('PUT', `${V1}/templates/${enc(name)}`, { json: def });
  }

  /**
   * Creates a template (admin); ClusterError `conflict` when the name is taken.
   *
   * @example
   * await client.createTemplate({ name: 'invert', workflow, parameters: {} });
   */
  async createTemplate(def: TemplateDefinition): Promise<TemplateView> {
    return this.#send<TemplateView>('POST', `${V1}/templates`, { json: def });
  }

  /**
   * Deletes a template (admin).
   *
   * @example
   * await client.deleteTemplate('invert');
   */
  async deleteTemplate(name: string): Promise<void> {
    await this.#send<unknown>('DELETE', `${V1}/templates/${enc(name)}`);
  }

  // ---- API keys (admin) ----------------------------------------------------------------------

  /**
   * Every API key, newest first, revoked ones included (never the secret).
   *
   * @example
   * (await client.listKeys()).filter((k) => k.revoked_at === null);
   */
  async listKeys(): Promise<ApiKeyView[]> {
    return (await this.#get<{ keys: ApiKeyView[] }>(`${V1}/keys`)).keys;
  }

  /**
   * Creates an API key; `key` is the secret, shown only this once.
   *
   * @example
   * const { key } = await client.createKey({ name: 'ci', role: 'user' });
   */
  async createKey(o: { name: string; role: ApiKeyRole }): Promise<CreatedApiKey> {
    return this.#send<CreatedApiKey>('POST', `${V1}/keys`, {
      json: { name: o.name, role: o.role },
    });
  }

  /**
   * Revokes an API key (by id); it stops working within a second. Revoking again is a no-op.
   *
   * @example
   * await client.revokeKey('key_0123456789ab');
   */
  async revokeKey(id: string): Promise<ApiKeyView> {
    return this.#send<ApiKeyView>('DELETE', `${V1}/keys/${enc(id)}`);
  }

  // ---- fleet-wide events ---------------------------------------------------------------------

  /**
   * The gateway's events (SSE /api/v1/events): instance, health, alert and job events, filtered by
   * `types` (names or `prefix.*`). Runs until `signal` aborts or the loop breaks; a dropped stream
   * is reopened (events during the gap are not replayed).
   *
   * @example
   * for await (const e of client.events({ types: ['instance.health'], signal })) console.log(e.data);
   */
  async *events(
    opts: { types?: string[]; signal?: AbortSignal } = {},
  ): AsyncGenerator<ClusterEvent> {
    const { signal } = opts;
    let failures = 0;
    let stalls = 0;
    for (;;) {
      let response: Response;
      try {
        response = await this.#http.open(
          `${V1}/events`,
          {
            query: { types: opts.types && opts.types.length > 0 ? opts.types : undefined },
            ...(signal ? { signal } : {}),
          },
          'text/event-stream',
        );
      } catch (err) {
        if (!isTransient(err) || ++failures > MAX_RECONNECTS) throw err;
        await delay(reconnectDelay(failures), signal);
        continue;
      }
      failures = 0;
      let got = 0;
      try {
        if (!response.body)
          throw new ClusterError('invalid_response', 'the event stream has no body');
        for await (const m of sseMessages(response.body)) {
          if (signal?.aborted) throw signal.reason;
          const e = parseEvent<ClusterEvent>(m.data);
          if (e) {
            got++;
            yield e;
          }
        }
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (err instanceof ClusterError && !isTransient(err)) throw err;
      }
      // A stream ended with nothing in it again and again: back off (up to 5 s).
      stalls = got > 0 ? 0 : stalls + 1;
      await delay(reconnectDelay(Math.max(1, stalls)), signal);
    }
  }
}
