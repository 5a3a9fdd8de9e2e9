/**
 * ComfyUI drop-in routes: a ComfyUI client that knows nothing of the cluster, pointed at the
 * gateway, works unchanged. Every route also answers under `/api/` (as ComfyUI mirrors them);
 * `/api/jobs*` exists only with the prefix. See README.md in this folder for the mapping rules.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import {
  fileInputValidation,
  PromptValidationCrash,
  validateApiPrompt,
} from '../../../comfy/prompt-validation.js';
import {
  isFinished,
  type Job,
  JobError,
  type JobOutput,
  type JobServices,
  SubmissionInvalidError,
  safeFileName,
  WorkflowRejectedError,
} from '../../../jobs/index.js';
import type { JobEvents, JobService } from '../../../scheduler/dispatch/index.js';
import type { EventBus } from '../../../store/index.js';
import { useErrorRenderer as renderErrorsWith } from '../../error-handler.js';
import type { ErrorRenderer } from '../../types.js';
import {
  apiJob,
  comfyMetaOf,
  historyRecord,
  JOB_OUTPUT_FOLDER,
  promptIdOf,
  queueItem,
} from './comfy-shapes.js';
import { ComfyFileFolders, folderType, splitAnnotation } from './file-folders.js';
import { mergedModels, mergedObjectInfo, systemStats, usableInstanceIds } from './fleet-info.js';
import { HistoryViews } from './history-views.js';
import { applyMask } from './mask.js';
import { PromptExtras } from './prompt-extras.js';
import { serveFile } from './serve-file.js';
import { ComfyWsHub, SERVER_FEATURE_FLAGS } from './ws-hub.js';

export { ComfyFileFolders } from './file-folders.js';
export { ComfyWsHub, SERVER_FEATURE_FLAGS } from './ws-hub.js';

/** What the drop-in routes are built on. */
export interface ComfyRoutesOptions {
  service: JobService;
  services: Pick<JobServices, 'jobs' | 'inputStore' | 'outputStore'>;
  bus: EventBus<JobEvents>;
  /** The drop-in upload folders (default `<data dir>/comfy`, beside the input store). */
  filesDir?: string;
  /** Shown as `deploy_environment` in /system_stats. */
  version?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ACTIVE_STATUSES = ['pending', 'processing'] as const;
const LIST_PAGE = 500;
/** How long POST /free waits for each instance. */
const FREE_TIMEOUT_MS = 5_000;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Python's truth value of a JSON value (ComfyUI reads flags with `if value:`). */
function pyTruthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (isObject(v)) return Object.keys(v).length > 0;
  return Boolean(v);
}

/** A bodiless answer as ComfyUI's `web.Response(status=N)`: empty, `application/octet-stream`. */
function bare(reply: FastifyReply, status: number): FastifyReply {
  return reply.code(status).header('content-type', 'application/octet-stream').send();
}

/** `number` as ComfyUI's `float()` reads it (a number or a numeric string); else undefined. */
function clientNumber(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

function promptError(type: string, message: string, details = '', extra_info: unknown = {}) {
  return { error: { type, message, details, extra_info }, node_errors: {} };
}

/** ComfyUI's error shapes: `{error: "..."}` on /api/jobs, the prompt shape elsewhere. */
const comfyErrorRenderer: ErrorRenderer = (error, request, reply) => {
  if (/^\/api(\/api)?\/jobs/.test(request.url)) {
    return reply.code(error.status).send({ error: error.message });
  }
  return reply.code(error.status).send(promptError(error.code, error.message));
};

/** Who is calling, for scoping: the API key when auth is on, else the ComfyUI client id. */
interface Caller {
  keyId: string | null;
  /** An admin key acts on and sees every prompt (as in the job API). */
  admin: boolean;
  clientId: string | null;
}

function callerOf(request: FastifyRequest, body?: unknown): Caller {
  const p = request.principal;
  const q = (request.query ?? {}) as Record<string, unknown>;
  const fromQuery = typeof q.clientId === 'string' ? q.clientId : q.client_id;
  const fromBody = isObject(body) ? body.client_id : undefined;
  const clientId =
    typeof fromQuery === 'string' && fromQuery !== ''
      ? fromQuery
      : typeof fromBody === 'string' && fromBody !== ''
        ? fromBody
        : null;
  return {
    keyId: p && !p.anonymous ? p.key_id : null,
    admin: p?.role === 'admin',
    clientId,
  };
}

/** A caller may act on its key's prompts (any prompt when anonymous), narrowed to its client id. */
function owns(caller: Caller, job: Job): boolean {
  if (!visible(caller, job)) return false;
  if (caller.clientId === null) return true;
  return comfyMetaOf(job)?.client_id === caller.clientId;
}

/** Readers see a key's own jobs when auth is on; everything when anonymous (as ComfyUI). */
function visible(caller: Caller, job: Job): boolean {
  return caller.admin || caller.keyId === null || job.owner === caller.keyId;
}

/**
 * The ComfyUI-compatible routes as one Fastify plugin.
 *
 * @example
 * await app.register(comfyRoutes, { service, services, bus });
 */
export async function comfyRoutes(
  app: FastifyInstance,
  options: ComfyRoutesOptions,
): Promise<void> {
  const { service, services, bus } = options;
  const fleet = { registry: app.api.deps.registry, monitor: app.api.deps.monitor };
  const folders = new ComfyFileFolders(
    options.filesDir ?? path.join(path.dirname(services.inputStore.root), 'comfy'),
  );
  /** Per caller, history entries it deleted or cleared (hidden from its view only, durable). */
  const views = await HistoryViews.open(path.join(folders.root, 'history-views.json'));
  let counter = 0;

  const queueRemaining = async (): Promise<number> => {
    const c = await services.jobs.countByStatus();
    return c.pending + c.processing;
  };
  const extras = new PromptExtras({
    store: services.outputStore,
    sourceFor: (id) => fleet.monitor.connectionFor(id)?.client,
  });
  const hub = new ComfyWsHub({
    bus,
    queueRemaining,
    instanceEvents: (id) => fleet.monitor.connectionFor(id)?.events,
    extras,
  });
  app.addHook('onClose', async () => hub.close());

  renderErrorsWith(app, comfyErrorRenderer);
  // Clients send JSON as text/plain (or with no useful type): parse it as JSON whatever it says.
  app.addContentTypeParser(
    ['text/plain', 'application/x-www-form-urlencoded'],
    { parseAs: 'string' },
    (_request, body, done) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      if (text.trim() === '') return done(null, undefined);
      try {
        done(null, JSON.parse(text));
      } catch {
        done(Object.assign(new SyntaxError('invalid JSON body'), { statusCode: 400 }), undefined);
      }
    },
  );

  const access = { access: 'user' as const, acceptsQueryToken: true };
  const route = (
    method: 'GET' | 'POST' | 'PATCH',
    url: string,
    handler: (request: FastifyRequest, reply: FastifyReply) => unknown,
    opts: RouteShorthandOptions = {},
  ) => {
    for (const u of [url, `/api${url}`]) {
      app.route({ method, url: u, config: { ...access }, ...opts, handler });
    }
  };
  const jobRoute = (
    method: 'GET' | 'POST',
    url: string,
    handler: (request: FastifyRequest, reply: FastifyReply) => unknown,
  ) => {
    for (const u of [`/api${url}`, `/api/api${url}`]) {
      app.route({ method, url: u, config: { ...access }, handler });
    }
  };

  // A client-chosen prompt_id is the job id (durable), so a prompt is found by its id.
  const findJob = async (promptId: string): Promise<Job | undefined> => {
    if (!UUID.test(promptId)) return undefined;
    const job = await service.get(promptId).catch(() => undefined);
    return job && promptIdOf(job) === promptId ? job : undefined;
  };
  const listAll = async (status: readonly Job['status'][], max: number): Promise<Job[]> => {
    const out: Job[] = [];
    let cursor: string | null = null;
    // Bounded by max.
    while (out.length < max) {
      const page = await service.list({
        status,
        limit: Math.min(LIST_PAGE, max - out.length),
        cursor,
      });
      out.push(...page.jobs);
      if (page.next_cursor === null || page.jobs.length === 0) break;
      cursor = page.next_cursor;
    }
    return out;
  };
  const viewKey = (caller: Caller): string => caller.keyId ?? caller.clientId ?? '';
  const hiddenFor = (caller: Caller, job: Job): boolean => views.hidden(viewKey(caller), job);

  // ---- prompt -----------------------------------------------------------------------------

  route('GET', '/prompt', async () => ({ exec_info: { queue_remaining: await queueRemaining() } }));

  route('POST', '/prompt', async (request, reply) => {
    const body: unknown = request.body;
    // As ComfyUI: the client's number, else the counter (negated with `front`), which counts
    // every JSON body without a number, valid or not.
    const givenNumber = isObject(body) ? clientNumber(body.number) : undefined;
    let number: number;
    if (givenNumber !== undefined) number = givenNumber;
    else {
      number = isObject(body) && pyTruthy(body.front) ? -counter : counter;
      counter++;
    }
    if (!isObject(body) || !('prompt' in body)) {
      return reply
        .code(400)
        .send(promptError('no_prompt', 'No prompt provided', 'No prompt provided'));
    }
    const given = body.prompt_id;
    if (given !== undefined && given !== null && (typeof given !== 'string' || !UUID.test(given))) {
      return reply
        .code(400)
        .send(
          promptError(
            'invalid_prompt_id',
            'Invalid prompt_id',
            `${String(given)} is not a valid UUID`,
          ),
        );
    }
    const extra = isObject(body.extra_data) ? { ...body.extra_data } : {};
    const clientId =
      typeof body.client_id === 'string'
        ? body.client_id
        : typeof extra.client_id === 'string'
          ? extra.client_id
          : null;
    if (clientId !== null) extra.client_id = clientId;
    extra.create_time = Date.now();

    // Files named by upload inputs: the gateway's own folders first, then the instances' lists.
    const files = new Map<string, string>();
    const nodes = mergedObjectInfo(fleet, { lastKnown: true });
    let v: ReturnType<typeof validateApiPrompt>;
    try {
      v = validateApiPrompt(body.prompt, {
        nodes,
        customValidation: fileInputValidation((value, f) => {
          const file = folders.fileForValue(value);
          if (file) files.set(value, file);
          return file !== undefined || f.options.includes(value);
        }),
        ...(Array.isArray(body.partial_execution_targets)
          ? {
              partialExecutionTargets: body.partial_execution_targets.filter(
                (x): x is string => typeof x === 'string',
              ),
            }
          : {}),
      });
    } catch (err) {
      if (err instanceof PromptValidationCrash) {
        return reply.code(400).send(promptError('invalid_prompt', err.message));
      }
      throw err;
    }
    if (!v.ok) return reply.code(400).send({ error: v.error, node_errors: v.nodeErrors });

    const workflow = structuredClone(v.prompt) as Record<
      string,
      { inputs?: Record<string, unknown> }
    >;
    // As ComfyUI, outputs that failed validation are dropped and the others run (a 200 with
    // node_errors): the failing output nodes leave the job's workflow.
    const runs = new Set(v.outputs);
    for (const e of Object.values(v.nodeErrors)) {
      for (const out of e.dependent_outputs) if (!runs.has(out)) delete workflow[out];
    }
    const inputs: Array<{ name: string; data: Uint8Array; node: string; input: string }> = [];
    for (const [id, node] of Object.entries(workflow)) {
      for (const [name, value] of Object.entries(node.inputs ?? {})) {
        if (typeof value !== 'string') continue;
        const file = files.get(value);
        if (!file) continue;
        const data = await readFile(file);
        inputs.push({
          name: safeFileName(splitAnnotation(path.basename(value), 'input').name),
          data,
          node: id,
          input: name,
        });
      }
    }
    const priority =
      givenNumber === undefined && pyTruthy(body.front)
        ? 1
        : givenNumber !== undefined && givenNumber < 0
          ? Math.min(1000, Math.ceil(-givenNumber))
          : 0;
    const caller = callerOf(request, body);
    let result: Awaited<ReturnType<JobService['submit']>>;
    try {
      result = await service.submit(
        {
          workflow,
          inputs,
          priority,
          metadata: {
            comfy: {
              prompt_id: typeof given === 'string' ? given : null,
              client_id: clientId,
              number,
              extra_data: extra,
              outputs_to_execute: v.outputs,
            },
          },
        },
        { owner: caller.keyId },
        typeof given === 'string' ? { id: given } : {},
      );
    } catch (err) {
      // ComfyUI queues a reused prompt_id twice; a job id is unique, so the gateway refuses it.
      if (
        err instanceof JobError &&
        err.code === 'JOB_STATE_CONFLICT' &&
        typeof given === 'string'
      ) {
        return reply
          .code(400)
          .send(
            promptError('invalid_prompt_id', 'Invalid prompt_id', `${given} is already in use`),
          );
      }
      if (err instanceof WorkflowRejectedError) {
        return reply.code(400).send({ error: err.comfyError, node_errors: err.nodeErrors });
      }
      if (err instanceof SubmissionInvalidError) {
        return reply
          .code(400)
          .send(promptError('invalid_prompt', err.message, '', { errors: err.errors }));
      }
      throw err;
    }
    const job = result.job;
    hub.track(job);
    return { prompt_id: job.id, number, node_errors: v.nodeErrors };
  });

  // ---- queue ------------------------------------------------------------------------------

  route('GET', '/queue', async () => {
    const jobs = await listAll(ACTIVE_STATUSES, 2_000);
    return {
      queue_running: jobs.filter((j) => j.status === 'processing').map(queueItem),
      queue_pending: jobs.filter((j) => j.status === 'pending').map(queueItem),
    };
  });

  route('POST', '/queue', async (request, reply) => {
    const body = request.body;
    const caller = callerOf(request, body);
    if (isObject(body) && pyTruthy(body.clear)) {
      for (const job of await listAll(['pending'], 10_000)) {
        if (owns(caller, job)) await service.cancel(job.id);
      }
    }
    if (isObject(body) && Array.isArray(body.delete)) {
      for (const id of body.delete) {
        if (typeof id !== 'string') continue;
        const job = await findJob(id);
        if (job?.status === 'pending' && owns(caller, job)) await service.cancel(job.id);
      }
    }
    return bare(reply, 200);
  });

  // ---- history ----------------------------------------------------------------------------

  const record = async (job: Job, early?: Promise<JobOutput[]>) => {
    const [outputs, more] = await Promise.all([
      early ?? service.outputs(job.id),
      extras.read(job.id),
    ]);
    return historyRecord(job, outputs, more);
  };

  route('GET', '/history', async (request) => {
    const q = request.query as Record<string, unknown>;
    const caller = callerOf(request);
    const maxItems = Number.parseInt(String(q.max_items ?? ''), 10);
    const offset = Number.parseInt(String(q.offset ?? ''), 10);
    const finished = (await listAll(['completed', 'failed', 'cancelled'], 2_000))
      .filter((j) => comfyMetaOf(j) !== undefined && visible(caller, j) && !hiddenFor(caller, j))
      .filter((j) => j.status !== 'cancelled' || j.started_at !== null)
      .sort((a, b) => (a.completed_at ?? 0) - (b.completed_at ?? 0));
    let chosen = finished;
    if (Number.isFinite(offset)) {
      chosen = finished.slice(
        Math.max(0, offset),
        Number.isFinite(maxItems) ? Math.max(0, offset) + maxItems : undefined,
      );
    } else if (Number.isFinite(maxItems)) {
      chosen = maxItems > 0 ? finished.slice(-maxItems) : [];
    }
    const out: Record<string, unknown> = {};
    for (const job of chosen) out[promptIdOf(job)] = await record(job);
    return out;
  });

  route('GET', '/history/:prompt_id', async (request) => {
    const { prompt_id } = request.params as { prompt_id: string };
    const caller = callerOf(request);
    // The outputs are read beside the job (a prompt id is its job's id); used only if it is shown.
    const early = UUID.test(prompt_id) ? service.outputs(prompt_id) : undefined;
    early?.catch(() => undefined);
    const job = await findJob(prompt_id);
    if (!job || !isFinished(job.status) || !visible(caller, job) || hiddenFor(caller, job))
      return {};
    if (job.status === 'cancelled' && job.started_at === null) return {};
    return { [prompt_id]: await record(job, job.id === prompt_id ? early : undefined) };
  });

  route('POST', '/history', async (request, reply) => {
    const body = request.body;
    const caller = callerOf(request, body);
    const key = viewKey(caller);
    if (isObject(body) && pyTruthy(body.clear)) await views.clear(key);
    if (isObject(body) && Array.isArray(body.delete)) {
      await views.delete(
        key,
        body.delete.filter((id): id is string => typeof id === 'string'),
      );
    }
    return bare(reply, 200);
  });

  // ---- interrupt, free --------------------------------------------------------------------

  // As ComfyUI, a body that is not JSON counts as no body (a global interrupt): the route gets
  // its own lenient parsers.
  const interrupt = async (request: FastifyRequest, reply: FastifyReply) => {
    const body = request.body;
    const caller = callerOf(request, body);
    const id = isObject(body) && typeof body.prompt_id === 'string' ? body.prompt_id : null;
    if (id !== null) {
      const job = await findJob(id);
      if (job?.status === 'processing' && owns(caller, job)) await service.cancel(job.id);
    } else {
      for (const job of await listAll(['processing'], 2_000)) {
        if (owns(caller, job)) await service.cancel(job.id);
      }
    }
    return bare(reply, 200);
  };
  await app.register(async (lenient) => {
    const types = ['application/json', 'text/plain', 'application/x-www-form-urlencoded'];
    lenient.removeContentTypeParser(types);
    lenient.addContentTypeParser(types, { parseAs: 'string' }, (_request, body, done) => {
      try {
        done(null, JSON.parse(typeof body === 'string' ? body : body.toString('utf8')));
      } catch {
        done(null, undefined);
      }
    });
    for (const url of ['/interrupt', '/api/interrupt']) {
      lenient.route({ method: 'POST', url, config: { ...access }, handler: interrupt });
    }
  });

  // The gateway holds no models: the flags go to every answering instance (as ComfyUI, the
  // answer is a bare 200 whatever the instances said; their queues are not touched).
  route('POST', '/free', async (request, reply) => {
    const body = request.body;
    const flags = {
      unload_models: isObject(body) && pyTruthy(body.unload_models),
      free_memory: isObject(body) && pyTruthy(body.free_memory),
    };
    if (flags.unload_models || flags.free_memory) {
      await Promise.allSettled(
        usableInstanceIds(fleet).map((id) =>
          fleet.monitor.connectionFor(id)?.client.free(flags, { timeoutMs: FREE_TIMEOUT_MS }),
        ),
      );
    }
    return bare(reply, 200);
  });

  // ---- /api/jobs --------------------------------------------------------------------------

  const STATUS_WORDS: Record<string, Job['status']> = {
    pending: 'pending',
    in_progress: 'processing',
    completed: 'completed',
    failed: 'failed',
    cancelled: 'cancelled',
  };
  jobRoute('GET', '/jobs', async (request, reply) => {
    const q = request.query as Record<string, unknown>;
    const caller = callerOf(request);
    let statuses: Job['status'][] = ['pending', 'processing', 'completed', 'failed', 'cancelled'];
    if (typeof q.status === 'string' && q.status !== '') {
      const words = q.status.split(',').map((s) => s.trim());
      const bad = words.filter((w) => !(w in STATUS_WORDS));
      if (bad.length > 0) {
        return reply.code(400).send({
          error: `Invalid status value(s): ${bad.join(', ')}. Valid values: ${Object.keys(STATUS_WORDS).join(', ')}`,
        });
      }
      statuses = [...new Set(words.map((w) => STATUS_WORDS[w] as Job['status']))];
    }
    const sortBy = q.sort_by ?? 'created_at';
    if (sortBy !== 'created_at' && sortBy !== 'execution_duration') {
      return reply
        .code(400)
        .send({ error: "sort_by must be 'created_at' or 'execution_duration'" });
    }
    const sortOrder = q.sort_order ?? 'desc';
    if (sortOrder !== 'asc' && sortOrder !== 'desc') {
      return reply.code(400).send({ error: "sort_order must be 'asc' or 'desc'" });
    }
    let limit: number | undefined;
    if (q.limit !== undefined) {
      limit = Number(q.limit);
      if (!Number.isInteger(limit) || limit <= 0) {
        return reply.code(400).send({ error: 'limit must be a positive integer' });
      }
    }
    let offset = 0;
    if (q.offset !== undefined) {
      offset = Number(q.offset);
      if (!Number.isInteger(offset))
        return reply.code(400).send({ error: 'offset must be an integer' });
      offset = Math.max(0, offset);
    }
    const all = (await listAll(statuses, 2_000)).filter((j) => visible(caller, j));
    const key = (j: Job) =>
      sortBy === 'created_at'
        ? j.created_at
        : j.completed_at !== null && j.started_at !== null
          ? j.completed_at - j.started_at
          : -1;
    all.sort((a, b) => (sortOrder === 'asc' ? key(a) - key(b) : key(b) - key(a)));
    const page = all.slice(offset, limit === undefined ? undefined : offset + limit);
    const jobs = [];
    for (const j of page) {
      jobs.push(
        isFinished(j.status)
          ? apiJob(j, await service.outputs(j.id), await extras.read(j.id))
          : apiJob(j),
      );
    }
    return {
      jobs,
      pagination: {
        offset,
        limit: limit ?? null,
        total: all.length,
        has_more: offset + page.length < all.length,
      },
    };
  });

  jobRoute('GET', '/jobs/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    const job = await findJob(id);
    if (!job || !visible(callerOf(request), job))
      return reply.code(404).send({ error: 'Job not found' });
    const outputs: JobOutput[] = isFinished(job.status) ? await service.outputs(job.id) : [];
    const more = isFinished(job.status) ? await extras.read(job.id) : {};
    const rec = historyRecord(job, outputs, more);
    return {
      ...apiJob(job, outputs, more),
      outputs: rec.outputs,
      ...(isFinished(job.status) ? { execution_status: rec.status } : {}),
      workflow: { prompt: job.workflow, extra_data: comfyMetaOf(job)?.extra_data ?? {} },
    };
  });

  const cancelOne = async (caller: Caller, id: string): Promise<boolean> => {
    const job = await findJob(id);
    if (!job || isFinished(job.status) || !owns(caller, job)) return false;
    const r = await service.cancel(job.id);
    return r.state === 'cancelled' || r.state === 'cancel_requested';
  };
  jobRoute('POST', '/jobs/:id/cancel', async (request) => {
    const { id } = request.params as { id: string };
    return { cancelled: await cancelOne(callerOf(request, request.body), id) };
  });
  jobRoute('POST', '/jobs/cancel', async (request, reply) => {
    const body = request.body;
    const ids = isObject(body) && Array.isArray(body.job_ids) ? body.job_ids : null;
    if (ids === null) return reply.code(400).send({ error: 'job_ids must be a list' });
    const invalid = ids.filter((x) => typeof x !== 'string' || !UUID.test(x));
    if (invalid.length > 0)
      return reply.code(400).send({ error: 'Invalid job id(s)', invalid_ids: invalid });
    const caller = callerOf(request, body);
    let any = false;
    for (const id of ids as string[]) if (await cancelOne(caller, id)) any = true;
    return { cancelled: any };
  });

  // ---- files ------------------------------------------------------------------------------

  const upload = async (request: FastifyRequest, reply: FastifyReply, mask: boolean) => {
    if (!request.isMultipart()) return bare(reply, 400);
    const fields: Record<string, string> = {};
    let file: { bytes: Buffer; filename: string } | undefined;
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        const bytes = await part.toBuffer();
        if (part.fieldname === 'image' && part.filename !== '')
          file = { bytes, filename: part.filename };
      } else if (typeof part.value === 'string') {
        fields[part.fieldname] = part.value;
      }
    }
    if (!file) return bare(reply, 400);
    const type = folderType(fields.type, 'input');
    if (!type)
      return reply.code(400).send(promptError('invalid_type', `unknown type ${fields.type}`));
    const overwrite = fields.overwrite === 'true' || fields.overwrite === '1';
    let bytes = file.bytes;
    if (mask) {
      const composed = await applyMask(folders, fields.original_ref, bytes);
      // As ComfyUI: a bad or missing original still answers 200 with a name, but nothing is written.
      if (!composed) {
        return {
          name: path.basename(file.filename),
          subfolder: fields.subfolder ?? '',
          type,
        };
      }
      bytes = composed;
    }
    const answer = await folders.upload({
      bytes,
      filename: path.basename(file.filename),
      subfolder: fields.subfolder ?? '',
      type,
      overwrite,
    });
    if (!answer) return bare(reply, 400);
    return answer;
  };
  route('POST', '/upload/image', (request, reply) => upload(request, reply, false));
  route('POST', '/upload/mask', (request, reply) => upload(request, reply, true));

  route('GET', '/view', async (request, reply) => {
    const q = request.query as Record<string, unknown>;
    if (typeof q.filename !== 'string' || q.filename === '') return bare(reply, 404);
    const t = folderType(q.type, 'output');
    if (!t) return bare(reply, 400);
    const { name: filename, type } = splitAnnotation(q.filename, t);
    const subfolder = typeof q.subfolder === 'string' ? q.subfolder : '';
    if (filename.startsWith('/') || filename.includes('..')) return bare(reply, 400);
    const m = new RegExp(`^${JOB_OUTPUT_FOLDER}/([0-9a-f-]{36})(?:/(.*))?$`).exec(
      subfolder.replaceAll('\\', '/'),
    );
    if (type === 'output' && m?.[1] !== undefined) {
      if ((m[2] ?? '').split('/').includes('..')) return bare(reply, 403);
      const early = service.outputs(m[1]);
      early.catch(() => undefined);
      const job = await service.get(m[1]).catch(() => undefined);
      if (!job || !visible(callerOf(request), job)) return bare(reply, 404);
      const base = path.posix.basename(filename);
      const rest = (m[2] ?? '').replace(/\/+$/, '');
      const hit = (await early).find(
        (o) =>
          o.kind === 'file' &&
          o.stored_path !== null &&
          path.posix.basename(o.filename ?? '') === base &&
          (o.subfolder ?? '').replace(/^\/+|\/+$/g, '') === rest,
      );
      if (!hit?.stored_path) return bare(reply, 404);
      return serveFile(request, reply, services.outputStore.absolute(hit.stored_path), base);
    }
    if (type === 'temp' && m?.[1] !== undefined) {
      // A temp file (PreviewImage) of a job: it lives on the instance that ran the job.
      if ((m[2] ?? '').split('/').includes('..')) return bare(reply, 403);
      const job = await service.get(m[1]).catch(() => undefined);
      if (!job || !visible(callerOf(request), job)) return bare(reply, 404);
      const ref = {
        filename: path.posix.basename(filename),
        subfolder: (m[2] ?? '').replace(/\/+$/, ''),
      };
      // The gateway's copy first (it outlives the instance's temp folder), else the instance.
      const copy = await extras.file(job.id, ref.subfolder, ref.filename);
      if (copy) return serveFile(request, reply, copy, ref.filename);
      if (job.instance_id === null) return bare(reply, 404);
      return proxyTempView(request, reply, job.instance_id, ref);
    }
    const target = await folders.resolveView(filename, subfolder, type);
    if (!target.ok) return bare(reply, target.status);
    return serveFile(request, reply, target.file, target.name);
  });

  const proxyTempView = async (
    request: FastifyRequest,
    reply: FastifyReply,
    instanceId: string,
    ref: { filename: string; subfolder: string },
  ): Promise<unknown> => {
    const client = fleet.monitor.connectionFor(instanceId)?.client;
    if (!client) return bare(reply, 404);
    const q = request.query as Record<string, unknown>;
    const range = /^bytes=(\d+)-(\d*)$/.exec(String(request.headers.range ?? ''));
    try {
      const view = await client.view(
        { ...ref, type: 'temp' },
        {
          ...(typeof q.preview === 'string' ? { preview: q.preview } : {}),
          ...(q.channel === 'rgb' || q.channel === 'a' || q.channel === 'rgba'
            ? { channel: q.channel }
            : {}),
          ...(range?.[1] !== undefined
            ? {
                range: {
                  start: Number(range[1]),
                  ...(range[2] ? { end: Number(range[2]) } : {}),
                },
              }
            : {}),
        },
      );
      for (const h of ['content-type', 'content-disposition', 'content-length', 'content-range']) {
        const v = view.headers[h];
        if (typeof v === 'string') reply.header(h, v);
      }
      reply.header('X-Content-Type-Options', 'nosniff');
      return reply.code(view.status).send(view.body);
    } catch {
      return bare(reply, 404);
    }
  };

  // ---- nodes, models, system --------------------------------------------------------------

  route('GET', '/object_info', async () => mergedObjectInfo(fleet));
  route('GET', '/object_info/:node_class', async (request) => {
    const { node_class } = request.params as { node_class: string };
    const info = mergedObjectInfo(fleet)[node_class];
    return info ? { [node_class]: info } : {};
  });
  route('GET', '/models', async () => [...mergedModels(fleet).keys()]);
  route('GET', '/models/:folder', async (request, reply) => {
    const { folder } = request.params as { folder: string };
    const files = mergedModels(fleet).get(folder);
    return files ?? reply.code(404).send({ error: `unknown model folder ${folder}` });
  });
  route('GET', '/embeddings', async () =>
    (mergedModels(fleet).get('embeddings') ?? []).map((f) => f.replace(/\.[^./]+$/, '')),
  );
  route('GET', '/extensions', async () => []);
  route('GET', '/features', async () => SERVER_FEATURE_FLAGS);
  route('GET', '/system_stats', async () => systemStats(fleet, options.version ?? '0.0.0'));
  app.route({
    method: 'PATCH',
    url: '/internal/logs/subscribe',
    config: { ...access },
    handler: async (_request, reply) => bare(reply, 200),
  });

  // ---- WebSocket --------------------------------------------------------------------------

  for (const url of ['/ws', '/api/ws']) {
    app.route({
      method: 'GET',
      url,
      config: { ...access },
      // A plain GET (no Upgrade header) gets ComfyUI's 400 (aiohttp's text answer).
      handler: async (request, reply) =>
        reply
          .code(400)
          .type('text/plain; charset=utf-8')
          .send(
            `No WebSocket UPGRADE hdr: ${request.headers.upgrade ?? 'None'}\n Can "Upgrade" only to "WebSocket".`,
          ),
      wsHandler: (socket, request) => {
        const q = request.query as Record<string, unknown>;
        const clientId = typeof q.clientId === 'string' ? q.clientId : null;
        const p = request.principal;
        void hub.attach(socket, { clientId, keyId: p && !p.anonymous ? p.key_id : null });
      },
    });
  }
}
