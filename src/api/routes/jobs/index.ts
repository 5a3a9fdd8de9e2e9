/**
 * `/api/v1/jobs`: submit (JSON or multipart, `wait=true`), list, get, outputs (Range),
 * cancel, retry, and each job's event stream (SSE with `Last-Event-ID` replay). Users see and
 * act on their own jobs (owner = their key id); admins on all.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isFinished, JOB_STATUSES, type Job, type JobStatus } from '../../../jobs/index.js';
import { ANONYMOUS_ADMIN, type Principal } from '../../auth/principal.js';
import { ApiError, validationFailed } from '../../errors.js';
import { errorResponses } from '../../schemas.js';
import { WebhookSender } from '../../webhooks/webhook-sender.js';
import { parseRange } from './byte-range.js';
import { mapJobError } from './error-mapping.js';
import type { UrlInputPolicy } from './input-fetch.js';
import { JOB_EVENT_TYPES, type JobLayer } from './job-layer.js';
import { jobView, outputView } from './job-view.js';
import {
  AcceptedSchema,
  EventsQuery,
  JobIdParams,
  JobListSchema,
  JobViewSchema,
  ListQuery,
  OutputParams,
  OutputQuery,
  SubmitQuery,
} from './schemas.js';
import { readSubmission } from './submission-body.js';

export { mapJobError } from './error-mapping.js';
export { JOB_EVENT_TYPES, type JobLayer, type JobLayerOptions, openJobLayer } from './job-layer.js';
export { registerJobMetrics } from './job-metrics.js';
export { jobView, outputView } from './job-view.js';

/** Options of {@link jobsRoutes}. */
export interface JobsRoutesOptions {
  layer: JobLayer;
  /** Hosts URL inputs may come from (default none: URL inputs off). */
  allowInputHosts?: readonly string[];
  /** Longest `wait=true` (default 600 s). */
  maxWaitMs?: number;
}

const tags = ['jobs'];
/** Outputs up to this size are answered from one read instead of a file stream. */
const SMALL_OUTPUT_BYTES = 256 * 1024;
const security = [{ bearerAuth: [] }];
const userAccess = { access: 'user' } as const;

/** The caller. */
export function principalOf(request: FastifyRequest): Principal {
  return request.principal ?? ANONYMOUS_ADMIN;
}

/** Whether `principal` may see `job`: admins all, users their own. */
export function canSee(principal: Principal, job: Job): boolean {
  return (
    principal.role === 'admin' || (principal.key_id !== null && job.owner === principal.key_id)
  );
}

/** The owner a submission is recorded under: the key id; admins may name another owner. */
export function ownerFor(principal: Principal, body: Record<string, unknown>): string | null {
  if (principal.role === 'admin' && typeof body.owner === 'string') return body.owner;
  return principal.key_id;
}

function parseTime(value: string | undefined, path: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw validationFailed([{ path, message: 'must be an ISO-8601 time or ms since epoch' }]);
  }
  return ms;
}

function parseStatuses(value: string | undefined): JobStatus[] | undefined {
  if (value === undefined || value === '') return undefined;
  const list = value.split(',').map((s) => s.trim());
  for (const s of list) {
    if (!(JOB_STATUSES as readonly string[]).includes(s)) {
      throw validationFailed([
        { path: 'query.status', message: `unknown status ${JSON.stringify(s.slice(0, 40))}` },
      ]);
    }
  }
  return list as JobStatus[];
}

/**
 * Registers the job routes over a job layer.
 *
 * @example
 * await app.register(jobsRoutes, { layer });
 */
export async function jobsRoutes(
  fastify: FastifyInstance,
  options: JobsRoutesOptions,
): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { layer } = options;
  const service = layer.service;
  const maxWaitMs = options.maxWaitMs ?? 600_000;
  const policy: UrlInputPolicy = {
    allowHosts: options.allowInputHosts ?? [],
    maxBytes: app.api.options.uploadLimitBytes,
  };
  app.api.errors.addMapper(mapJobError);
  app.api.events.registerTypes(JOB_EVENT_TYPES);
  app.api.events.addVisibilityRule((principal, event) => {
    if (!event.type.startsWith('job.')) return undefined;
    if (principal.role === 'admin') return true;
    const d = event.data as { job?: { owner?: unknown }; job_id?: unknown } | null;
    const owner = d?.job?.owner;
    // Progress ticks carry no owner: users follow their own job's progress on its own stream.
    return typeof owner === 'string' && owner === principal.key_id;
  });

  // Shutdown must not wait for long waits and streams: waits answer as the job is, streams end.
  const stoppers = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const stop of [...stoppers]) stop();
  });

  /** The job if the caller may see it; 404 otherwise (another user's job does not exist). */
  const visibleJob = async (request: FastifyRequest, id: string): Promise<Job> => {
    const job = await service.get(id);
    if (!job || !canSee(principalOf(request), job)) {
      throw new ApiError('not_found', `no job ${id}`);
    }
    return job;
  };

  const fullView = async (job: Job) =>
    jobView(job, {
      outputs: (await service.outputs(job.id)).map((o) => outputView(job.id, o)),
      webhook: job.webhook_url
        ? WebhookSender.latest(await service.events(job.id, { limit: 100_000 }))
        : null,
    });

  app.post(
    '/api/v1/jobs',
    {
      config: userAccess,
      schema: {
        tags,
        security,
        summary: 'Submit a job (workflow or template), JSON or multipart',
        description:
          'JSON: `{"workflow": {...}}` or `{"template": "name", "params": {...}}`, plus `inputs` (`{name, data}` with a base64 data URL, `{name, hash}`, or `{name, url}` when URL inputs are allowed), `priority`, `pin`, `tags`, `timeout_ms`, `max_attempts`, `idempotency_key`, `metadata`, `webhook_url`. Multipart: a `json` field with that object (or one field per key) and files, bound by file name. `wait=true` answers 200 with the finished job and its outputs (or 202 with the job as it is when `timeout` seconds pass; default and limit 600).',
        querystring: SubmitQuery,
        response: {
          200: JobViewSchema,
          202: AcceptedSchema,
          ...errorResponses(400, 413, 503),
        },
      },
    },
    async (request, reply) => {
      const body = await readSubmission(request, policy);
      const principal = principalOf(request);
      const owner = ownerFor(principal, body);
      const { owner: _ignored, ...rest } = body;
      const r = await service.submit(rest, owner === null ? {} : { owner });
      const accepted = {
        job_id: r.job.id,
        status: r.job.status,
        queue_position: r.queue_position,
        estimated_completion_seconds: r.estimated_completion_seconds,
      };
      reply.header('location', `/api/v1/jobs/${r.job.id}`);
      if (request.query.wait !== true) {
        return reply.code(202).send({ ...accepted, job: jobView(r.job) });
      }
      const limit = Math.min(maxWaitMs, (request.query.timeout ?? maxWaitMs / 1000) * 1000);
      const abort = new AbortController();
      const onClose = () => abort.abort();
      request.raw.once('close', onClose);
      stoppers.add(onClose);
      try {
        const job =
          (await service.wait(r.job.id, { timeoutMs: limit, signal: abort.signal })) ?? r.job;
        if (!isFinished(job.status))
          return reply.code(202).send({ ...accepted, status: job.status, job: jobView(job) });
        return reply.code(200).send(await fullView(job));
      } finally {
        request.raw.off('close', onClose);
        stoppers.delete(onClose);
      }
    },
  );

  app.get(
    '/api/v1/jobs',
    {
      config: { ...userAccess, logLevel: 'debug' },
      schema: {
        tags,
        security,
        summary: 'Jobs, newest first (filters, cursor paging); users see their own',
        querystring: ListQuery,
        response: { 200: JobListSchema, ...errorResponses(400) },
      },
    },
    async (request) => {
      const q = request.query;
      const principal = principalOf(request);
      const owner = principal.role === 'admin' ? q.owner : (principal.key_id ?? '');
      const statuses = parseStatuses(q.status);
      const from = parseTime(q.from, 'query.from');
      const to = parseTime(q.to, 'query.to');
      const page = await service.list({
        ...(statuses ? { status: statuses } : {}),
        ...(q.instance ? { instance_id: q.instance } : {}),
        ...(owner !== undefined ? { owner } : {}),
        ...(from !== undefined ? { created_from: from } : {}),
        ...(to !== undefined ? { created_to: to } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
      const jobs = q.template
        ? page.jobs.filter((j) => j.template?.name === q.template)
        : page.jobs;
      return { jobs: jobs.map((j) => jobView(j)), next_cursor: page.next_cursor };
    },
  );

  app.get(
    '/api/v1/jobs/:id',
    {
      config: { ...userAccess, logLevel: 'debug' },
      schema: {
        tags,
        security,
        summary: 'A job with its outputs',
        params: JobIdParams,
        response: { 200: JobViewSchema, ...errorResponses(404) },
      },
    },
    async (request) => fullView(await visibleJob(request, request.params.id)),
  );

  app.get(
    '/api/v1/jobs/:id/outputs/:n',
    {
      config: { ...userAccess, acceptsQueryToken: true, logLevel: 'debug' },
      schema: {
        tags,
        security,
        summary: 'Download output n (its content type; Range requests)',
        params: OutputParams,
        querystring: OutputQuery,
        response: { ...errorResponses(404, 416) },
      },
    },
    async (request, reply) => {
      // Both reads at once; the job's answer (404 for a job the caller may not see) comes first.
      const pending = service.outputs(request.params.id);
      pending.catch(() => undefined);
      const job = await visibleJob(request, request.params.id);
      const outputs = await pending;
      const output = outputs.find((o) => o.index === request.params.n);
      if (!output)
        throw new ApiError('not_found', `job ${job.id} has no output ${request.params.n}`);
      if (output.kind === 'value' || output.stored_path === null) {
        return reply
          .type('application/json; charset=utf-8')
          .send(JSON.stringify(output.value ?? null) as never);
      }
      const file = layer.services.outputStore.absolute(output.stored_path);
      // A small whole file (the usual download) is read at once: no stat, no stream.
      let whole: Buffer | undefined;
      if (
        request.headers.range === undefined &&
        output.size !== null &&
        output.size <= SMALL_OUTPUT_BYTES
      ) {
        try {
          whole = readFileSync(file);
        } catch {
          throw new ApiError('not_found', `the file of output ${output.index} is gone (retention)`);
        }
      }
      const size = whole
        ? whole.length
        : await stat(file).then(
            (st) => st.size,
            () => {
              throw new ApiError(
                'not_found',
                `the file of output ${output.index} is gone (retention)`,
              );
            },
          );
      const name = output.filename ?? `output-${output.index}`;
      const download = request.query.download === '1' || request.query.download === 'true';
      reply
        .type(output.mime ?? 'application/octet-stream')
        .header('accept-ranges', 'bytes')
        .header('cache-control', 'private, max-age=31536000, immutable')
        .header(
          'content-disposition',
          `${download ? 'attachment' : 'inline'}; filename="${name.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`,
        );
      if (output.sha256) reply.header('etag', `"${output.sha256}"`);
      const range = parseRange(request.headers.range, size);
      if (range === 'unsatisfiable') {
        return reply
          .code(416)
          .header('content-range', `bytes */${size}`)
          .type('application/json; charset=utf-8')
          .send({
            error: {
              code: 'range_not_satisfiable',
              message: `the range is outside the file (${size} bytes)`,
              details: null,
            },
          });
      }
      if (range) {
        reply
          .code(206)
          .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
          .header('content-length', range.end - range.start + 1);
        return reply.send(createReadStream(file, { start: range.start, end: range.end }) as never);
      }
      if (whole) return reply.header('content-length', whole.length).send(whole as never);
      if (size <= SMALL_OUTPUT_BYTES) {
        // Just written, so in the page cache: one read costs less than a stream's thread-pool
        // round trips (open, read, read, close). A file gone meanwhile is a 404 like above.
        let bytes: Buffer;
        try {
          bytes = readFileSync(file);
        } catch {
          throw new ApiError('not_found', `the file of output ${output.index} is gone (retention)`);
        }
        return reply.header('content-length', bytes.length).send(bytes as never);
      }
      reply.header('content-length', size);
      return reply.send(createReadStream(file) as never);
    },
  );

  app.post(
    '/api/v1/jobs/:id/cancel',
    {
      config: userAccess,
      schema: {
        tags,
        security,
        summary: 'Cancel a job (pending: at once; processing: interrupted on its instance)',
        params: JobIdParams,
        response: { 202: AcceptedSchema, ...errorResponses(404, 409) },
      },
    },
    async (request, reply) => {
      const job = await visibleJob(request, request.params.id);
      const r = await service.cancel(job.id);
      if (r.state === 'not_found') throw new ApiError('not_found', `no job ${job.id}`);
      if (r.state === 'finished') {
        throw new ApiError('invalid_state', `job ${job.id} is already ${r.job.status}`, {
          status: r.job.status,
        });
      }
      return reply.code(202).send({
        job_id: r.job.id,
        status: r.job.status,
        cancel_requested: r.state === 'cancel_requested',
        queue_position: null,
        estimated_completion_seconds: null,
      });
    },
  );

  app.post(
    '/api/v1/jobs/:id/retry',
    {
      config: userAccess,
      schema: {
        tags,
        security,
        summary: 'Retry a failed or cancelled job as a new job (retry_of links them)',
        params: JobIdParams,
        response: { 202: AcceptedSchema, ...errorResponses(404, 409) },
      },
    },
    async (request, reply) => {
      const job = await visibleJob(request, request.params.id);
      const next = await service.retry(job.id);
      return reply
        .code(202)
        .header('location', `/api/v1/jobs/${next.id}`)
        .send({
          job_id: next.id,
          status: next.status,
          retry_of: job.id,
          queue_position: null,
          estimated_completion_seconds: null,
          job: jobView(next),
        });
    },
  );

  app.get(
    '/api/v1/jobs/:id/events',
    {
      config: { ...userAccess, acceptsQueryToken: true, rateLimit: false },
      schema: {
        tags,
        security,
        summary:
          'Server-Sent Events of one job, from its event log (Last-Event-ID replays what was missed)',
        description:
          'Each event: `id: <n>` (the log id), `event: job.<type>` (created, status, phase, progress, cancel_requested), `data: {"id","type","time","data"}`. The stream ends after the job finishes.',
        produces: ['text/event-stream'],
        params: JobIdParams,
        querystring: EventsQuery,
        response: { ...errorResponses(404) },
      },
    },
    async (request, reply) => {
      const job = await visibleJob(request, request.params.id);
      const header = request.headers['last-event-id'];
      const fromHeader =
        typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : undefined;
      let last = fromHeader ?? request.query.last_event_id ?? 0;
      reply.hijack();
      const raw = reply.raw;
      const headers: Record<string, string | number | string[]> = {};
      for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = v;
      raw.writeHead(200, {
        ...headers,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write('retry: 3000\n\n');
      let closed = false;
      let busy: Promise<void> = Promise.resolve();
      const offs: Array<() => void> = [];
      const end = () => {
        if (closed) return;
        closed = true;
        stoppers.delete(end);
        for (const off of offs.splice(0)) off();
        clearInterval(beat);
        raw.end();
      };
      // Sends what the log has after `last`; ends once the job is finished and all is sent.
      const flush = () => {
        busy = busy
          .then(async () => {
            if (closed) return;
            // Read the job first: once it is finished, the log read after it is complete.
            const now = await service.get(job.id);
            for (let page = 0; page < 10_000 && !closed; page++) {
              const events = await service.events(job.id, { afterId: last, limit: 500 });
              writeEvents(events);
              if (events.length < 500) break;
            }
            if (!now || isFinished(now.status)) end();
          })
          .catch(() => end());
      };
      const writeEvents = (events: Awaited<ReturnType<typeof service.events>>) => {
        for (const e of events) {
          last = e.id;
          const type = `job.${e.type}`;
          const payload = {
            id: e.id,
            type,
            time: new Date(e.at).toISOString(),
            data: { job_id: e.job_id, ...e.data },
          };
          raw.write(`id: ${e.id}\nevent: ${type}\ndata: ${JSON.stringify(payload)}\n\n`);
        }
      };
      for (const t of JOB_EVENT_TYPES) {
        offs.push(
          layer.jobBus.subscribe(t, (p) => {
            const id = 'job' in p ? p.job.id : p.job_id;
            if (id === job.id) flush();
          }),
        );
      }
      const beat = setInterval(() => raw.write(': heartbeat\n\n'), 15_000);
      beat.unref();
      raw.once('close', end);
      stoppers.add(end);
      flush();
    },
  );
}
