import { randomUUID } from 'node:crypto';
import { type Kysely, sql, type Transaction } from 'kysely';
import { GroupCommit } from '../store/group-commit.js';
import { PrecompiledQuery } from '../store/precompiled-query.js';
import type { Database, JobOutputRow, JobRow } from '../store/schema.js';
import { JobError } from './errors.js';
import { decodeJobCursor, encodeJobCursor, type JobListOrder } from './job-cursor.js';
import {
  DEFAULT_JOB_TIMEOUT_MS,
  DEFAULT_MAX_ATTEMPTS,
  FINISHED_STATUSES,
  JOB_STATUSES,
  type Job,
  type JobAttempt,
  type JobErrorInput,
  type JobOutput,
  type JobPhase,
  type JobStatus,
} from './job-model.js';
import { parseJson, toAttempt, toJob, toOutput } from './job-rows.js';

type Db = Kysely<Database> | Transaction<Database>;

/** One input of a new job: the stored input's hash, the name the workflow uses, its binding. */
export interface NewJobInput {
  hash: string;
  name: string;
  node_id?: string | null;
  input_name?: string | null;
}

/** A job to create (defaults: new UUID, priority 0, 300 s timeout, 3 attempts, now). */
export interface NewJob {
  id?: string;
  workflow: Record<string, unknown>;
  template?: { name: string; params: Record<string, unknown> } | null;
  inputs?: readonly NewJobInput[];
  priority?: number;
  owner?: string | null;
  pin?: string | null;
  tags?: readonly string[];
  timeout_ms?: number;
  max_attempts?: number;
  idempotency_key?: string | null;
  /** Hash of the canonical request, so a replayed key can be told from a different request. */
  request_hash?: string | null;
  metadata?: Record<string, unknown>;
  webhook_url?: string | null;
  retry_of?: string | null;
  created_at?: number;
}

/** What {@link JobRepository.create} did. */
export interface CreateJobResult {
  job: Job;
  /** false: the owner already had a job with this idempotency key; `job` is that one. */
  created: boolean;
  /** For a replay: whether the earlier request had the same `request_hash`. */
  same_request: boolean;
}

/**
 * The right to change a processing job: its id, the attempt number the claim handed out and the
 * instance. Every runner update is compare-and-set on (id, processing, attempt), so a runner
 * whose attempt was requeued (or a second runner) can no longer change the job.
 */
export interface JobLease {
  job_id: string;
  attempt: number;
  instance_id: string;
}

/** A transition that may be refused: `ok: false` carries the job's current state (if it exists). */
export type TransitionResult = { ok: true; job: Job } | { ok: false; job: Job | undefined };

/** What {@link JobRepository.requeue} did: back to pending, or failed when out of attempts. */
export type RequeueResult =
  | { ok: true; job: Job; outcome: 'requeued' | 'failed' }
  | { ok: false; job: Job | undefined };

/** What {@link JobRepository.complete} did. */
export type CompleteResult =
  | { ok: true; job: Job; outputs: JobOutput[] }
  | { ok: false; job: Job | undefined };

/** What {@link JobRepository.cancel} did. */
export type CancelResult =
  | { state: 'cancelled'; job: Job }
  | { state: 'cancel_requested'; job: Job }
  | { state: 'finished'; job: Job }
  | { state: 'not_found' };

/** An output to record with a completion (`index` is its position in the list). */
export interface NewJobOutput {
  node_id: string;
  output_key: string;
  kind: 'file' | 'value';
  filename?: string | null;
  subfolder?: string | null;
  type?: string | null;
  size?: number | null;
  sha256?: string | null;
  mime?: string | null;
  stored_path?: string | null;
  value?: unknown;
}

/** Progress of a running job (the caller throttles). */
export interface ProgressUpdate {
  percent?: number | null;
  node?: string | null;
  step?: number | null;
  steps?: number | null;
}

/** Filters and paging of {@link JobRepository.list}. */
export interface JobListQuery {
  status?: readonly JobStatus[];
  instance_id?: string;
  owner?: string;
  /** created_at >= this (ms). */
  created_from?: number;
  /** created_at < this (ms). */
  created_to?: number;
  /** Default 50, at most 500. */
  limit?: number;
  cursor?: string | null;
  order?: JobListOrder;
}

export interface JobPage {
  jobs: Job[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
}

/** A job's input binding, with the stored input's size and type. */
export interface JobInputRecord {
  index: number;
  hash: string;
  name: string;
  node_id: string | null;
  input_name: string | null;
  size: number;
  mime: string;
}

/** One entry of the job event log. */
export interface JobEvent {
  /** Increases across all jobs (usable as an SSE `Last-Event-ID`). */
  id: number;
  job_id: string;
  at: number;
  type: string;
  data: Record<string, unknown>;
}

/** An attempt on an instance with its job's current status. */
export interface InstanceAttempt extends JobAttempt {
  job_status: JobStatus;
}

const PAGE_DEFAULT = 50;
const PAGE_MAX = 500;
/** Rows per multi-row INSERT (well under SQLite's bound-parameter limit). */
const INSERT_CHUNK = 50;

function chunked<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function errorColumns(error: JobErrorInput) {
  return {
    error_code: error.code,
    error_message: error.message,
    error_node_id: error.node_id ?? null,
    error_node_class: error.node_class ?? null,
    error_exception_type: error.exception_type ?? null,
    error_exception_message: error.exception_message ?? null,
    error_details_json:
      error.details === undefined || error.details === null ? null : JSON.stringify(error.details),
  };
}

const noProgress = {
  progress_percent: null,
  progress_node: null,
  progress_step: null,
  progress_steps: null,
  progress_updated_at: null,
} as const;

/**
 * Durable jobs: creation (idempotent per owner + key), reads and listings, and every state change
 * of the job state machine (see `JOB_TRANSITIONS`). Transitions are compare-and-set updates
 * (`UPDATE ... WHERE id = ? AND status = ? AND attempt = ?`), so two runners, or a recovered and
 * a stale one, can never both complete a job: one update matches, the other changes nothing and is
 * refused. A completion and its outputs are written in one transaction.
 *
 * Transactions start with their write, so SQLite takes its write lock up front (no read-to-write
 * upgrade that another process could invalidate) and PostgreSQL locks the job row.
 *
 * @example
 * const jobs = new JobRepository(store.db);
 * const { job } = await jobs.create({ workflow, owner: 'key-1', idempotency_key: 'abc' });
 * const lease = await jobs.claim(job.id, 'gpu-0');
 * if (lease) await jobs.complete(lease, [{ node_id: '9', output_key: 'images', kind: 'file', ... }]);
 */
export class JobRepository {
  readonly #db: Kysely<Database>;
  /** Transitions of many jobs share one transaction per event-loop turn (group commit). */
  readonly #writes: GroupCommit<Database>;
  readonly #now: () => number;

  constructor(db: Kysely<Database>, options: { now?: () => number } = {}) {
    this.#db = db;
    this.#writes = GroupCommit.of(db);
    this.#now = options.now ?? Date.now;
  }

  // -------------------------------------------------------------------------------------------
  // Creation and reads
  // -------------------------------------------------------------------------------------------

  /**
   * Creates a pending job with its inputs in one transaction. With an idempotency key, the same
   * owner + key returns the existing job (`created: false`) instead of a second one. The inputs'
   * hashes must already be recorded (see `InputRepository.record`).
   */
  async create(input: NewJob): Promise<CreateJobResult> {
    const at = input.created_at ?? this.#now();
    const id = input.id ?? randomUUID();
    const key = input.idempotency_key ?? null;
    const scope = key === null ? null : (input.owner ?? '');
    return this.#writes.run(async (trx) => {
      const counter = await nextJobSeq.executeTakeFirst(trx);
      if (!counter) throw new Error('store_counters has no job_seq row');
      const inserted = await insertJob.executeTakeFirst(trx, {
        id,
        seq: Number(counter.value),
        priority: input.priority ?? 0,
        owner: input.owner ?? null,
        scope,
        key,
        request_hash: input.request_hash ?? null,
        pin: input.pin ?? null,
        tags_json: JSON.stringify(input.tags ?? []),
        workflow_json: JSON.stringify(input.workflow),
        template_name: input.template?.name ?? null,
        template_params_json: input.template ? JSON.stringify(input.template.params) : null,
        metadata_json: JSON.stringify(input.metadata ?? {}),
        webhook_url: input.webhook_url ?? null,
        timeout_ms: input.timeout_ms ?? DEFAULT_JOB_TIMEOUT_MS,
        max_attempts: input.max_attempts ?? DEFAULT_MAX_ATTEMPTS,
        retry_of: input.retry_of ?? null,
        at,
      });
      if (!inserted) {
        const existing = await trx
          .selectFrom('jobs')
          .selectAll()
          .where('idempotency_scope', '=', scope)
          .where('idempotency_key', '=', key)
          .executeTakeFirstOrThrow();
        return {
          job: toJob(existing),
          created: false,
          same_request: (existing.request_hash ?? null) === (input.request_hash ?? null),
        };
      }
      const inputs = input.inputs ?? [];
      for (const part of chunked(
        inputs.map((inp, idx) => ({ inp, idx })),
        INSERT_CHUNK,
      )) {
        await trx
          .insertInto('job_inputs')
          .values(
            part.map(({ inp, idx }) => ({
              job_id: id,
              idx,
              hash: inp.hash,
              name: inp.name,
              node_id: inp.node_id ?? null,
              input_name: inp.input_name ?? null,
            })),
          )
          .execute();
      }
      const hashes = [...new Set(inputs.map((i) => i.hash))];
      if (hashes.length > 0) {
        await trx
          .updateTable('inputs')
          .set({ last_used_at: at })
          .where('hash', 'in', hashes)
          .execute();
      }
      await appendEvent(trx, id, at, 'created', { status: 'pending' });
      // The row as inserted: nothing above changes it.
      return { job: toJob(inserted), created: true, same_request: true };
    });
  }

  /** The job, or undefined. */
  async get(id: string): Promise<Job | undefined> {
    const row = await this.#db
      .selectFrom('jobs')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? toJob(row) : undefined;
  }

  /** The job an owner created with this idempotency key, or undefined. */
  async getByIdempotencyKey(owner: string | null, key: string): Promise<Job | undefined> {
    const row = await this.#db
      .selectFrom('jobs')
      .selectAll()
      .where('idempotency_scope', '=', owner ?? '')
      .where('idempotency_key', '=', key)
      .executeTakeFirst();
    return row ? toJob(row) : undefined;
  }

  /** The request hash stored with a job (see {@link NewJob.request_hash}). */
  async requestHash(id: string): Promise<string | null | undefined> {
    const row = await this.#db
      .selectFrom('jobs')
      .select('request_hash')
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? row.request_hash : undefined;
  }

  /** The job, or JOB_NOT_FOUND. */
  async getOrThrow(id: string): Promise<Job> {
    const job = await this.get(id);
    if (!job) throw new JobError('JOB_NOT_FOUND', `job ${id} not found`, { job_id: id });
    return job;
  }

  /**
   * Jobs matching the filters, newest first by default, one page at a time. The cursor is the
   * last job's queue sequence, so paging is stable while new jobs arrive.
   */
  async list(query: JobListQuery = {}): Promise<JobPage> {
    const order: JobListOrder = query.order ?? 'newest';
    const limit = Math.min(Math.max(1, Math.floor(query.limit ?? PAGE_DEFAULT)), PAGE_MAX);
    let q = this.#db.selectFrom('jobs').selectAll();
    if (query.status !== undefined) {
      const bad = query.status.filter((s) => !(JOB_STATUSES as readonly string[]).includes(s));
      if (bad.length > 0) {
        throw new JobError('QUERY_INVALID', `unknown status ${bad.join(', ')}`, {
          allowed: [...JOB_STATUSES],
        });
      }
      if (query.status.length === 0) return { jobs: [], next_cursor: null };
      q = q.where('status', 'in', [...query.status]);
    }
    if (query.instance_id !== undefined) q = q.where('instance_id', '=', query.instance_id);
    if (query.owner !== undefined) q = q.where('owner', '=', query.owner);
    if (query.created_from !== undefined) q = q.where('created_at', '>=', query.created_from);
    if (query.created_to !== undefined) q = q.where('created_at', '<', query.created_to);
    if (query.cursor) {
      const seq = decodeJobCursor(query.cursor, order);
      q = q.where('seq', order === 'newest' ? '<' : '>', seq);
    }
    const rows = await q
      .orderBy('seq', order === 'newest' ? 'desc' : 'asc')
      .limit(limit + 1)
      .execute();
    const page = rows.slice(0, limit).map(toJob);
    const last = page[page.length - 1];
    return {
      jobs: page,
      next_cursor: rows.length > limit && last ? encodeJobCursor(last.seq, order) : null,
    };
  }

  /**
   * Pending jobs ahead of this one in the basic order (priority desc, then FIFO): 0 means next.
   * The scheduler refines the order (fair share, capability selectivity), so this is an estimate.
   * Undefined when the job is not pending.
   */
  async queuePosition(id: string): Promise<number | undefined> {
    const job = await queueSlot.executeTakeFirst(this.#db, id);
    if (job?.status !== 'pending') return undefined;
    const row = await jobsAhead.executeTakeFirst(this.#db, Number(job.priority), Number(job.seq));
    if (!row) throw new Error('queue position: the count query returned no row');
    return Number(row.higher) + Number(row.earlier);
  }

  /** Pending jobs in the basic order (priority desc, FIFO), for the scheduler. */
  async listPending(limit = 500): Promise<Job[]> {
    const rows = await this.#db
      .selectFrom('jobs')
      .selectAll()
      .where('status', '=', 'pending')
      .orderBy('priority', 'desc')
      .orderBy('seq', 'asc')
      .limit(Math.max(1, Math.floor(limit)))
      .execute();
    return rows.map(toJob);
  }

  /** Jobs that were on an instance (for crash recovery: re-attach by prompt_id = job id). */
  async listProcessing(): Promise<Job[]> {
    const rows = await this.#db
      .selectFrom('jobs')
      .selectAll()
      .where('status', '=', 'processing')
      .orderBy('seq', 'asc')
      .execute();
    return rows.map(toJob);
  }

  /** The latest attempts placed on an instance, newest first, with their job's status. */
  async recentByInstance(instanceId: string, limit = 20): Promise<InstanceAttempt[]> {
    const rows = await this.#db
      .selectFrom('job_attempts')
      .innerJoin('jobs', 'jobs.id', 'job_attempts.job_id')
      .selectAll('job_attempts')
      .select('jobs.status as job_status')
      .where('job_attempts.instance_id', '=', instanceId)
      .orderBy('job_attempts.started_at', 'desc')
      .orderBy('jobs.seq', 'desc')
      .limit(Math.max(1, Math.floor(limit)))
      .execute();
    return rows.map((r) => {
      const { job_status, ...attempt } = r;
      return { ...toAttempt(attempt), job_status: job_status as JobStatus };
    });
  }

  /** Number of jobs per status (every status present, 0 when none). */
  async countByStatus(): Promise<Record<JobStatus, number>> {
    const rows = await this.#db
      .selectFrom('jobs')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('status')
      .execute();
    const out = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
    for (const r of rows) {
      if ((JOB_STATUSES as readonly string[]).includes(r.status)) {
        out[r.status as JobStatus] = Number(r.n);
      }
    }
    return out;
  }

  /** The job's placements, oldest first. */
  async attempts(jobId: string): Promise<JobAttempt[]> {
    const rows = await this.#db
      .selectFrom('job_attempts')
      .selectAll()
      .where('job_id', '=', jobId)
      .orderBy('n')
      .execute();
    return rows.map(toAttempt);
  }

  /** The recorded outputs of a completed job, in order. */
  async outputs(jobId: string): Promise<JobOutput[]> {
    const rows = await this.#db
      .selectFrom('job_outputs')
      .selectAll()
      .where('job_id', '=', jobId)
      .orderBy('idx')
      .execute();
    return rows.map(toOutput);
  }

  /** The job's inputs (one entry per binding), with their stored size and type. */
  async inputs(jobId: string): Promise<JobInputRecord[]> {
    const rows = await jobInputs.execute(this.#db, jobId);
    return rows.map((r) => ({
      index: Number(r.idx),
      hash: r.hash,
      name: r.name,
      node_id: r.node_id,
      input_name: r.input_name,
      size: Number(r.size),
      mime: r.mime,
    }));
  }

  /** Events of a job after `afterId` (exclusive), oldest first. */
  async events(
    jobId: string,
    options: { afterId?: number; limit?: number } = {},
  ): Promise<JobEvent[]> {
    let q = this.#db.selectFrom('job_events').selectAll().where('job_id', '=', jobId);
    if (options.afterId !== undefined) q = q.where('id', '>', options.afterId);
    const rows = await q
      .orderBy('id')
      .limit(Math.max(1, Math.floor(options.limit ?? 1000)))
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      job_id: r.job_id,
      at: Number(r.at),
      type: r.type,
      data: parseJson<Record<string, unknown>>(r.data_json, {}),
    }));
  }

  /** Appends an event of the caller's own (e.g. `webhook_sent`) to the job's log. */
  async appendEvent(
    jobId: string,
    type: string,
    data: Record<string, unknown> = {},
  ): Promise<void> {
    const at = this.#now();
    await this.#writes.run((trx) => appendEvent(trx, jobId, at, type, data));
  }

  // -------------------------------------------------------------------------------------------
  // Transitions
  // -------------------------------------------------------------------------------------------

  /**
   * pending → processing on `instanceId`: the attempt count goes up by one and the new attempt is
   * recorded. Undefined when the job is not pending any more (someone else claimed or cancelled
   * it). The returned lease authorises every later update of this attempt.
   */
  async claim(jobId: string, instanceId: string): Promise<JobLease | undefined> {
    return (await this.claimJob(jobId, instanceId))?.lease;
  }

  /** {@link claim}, also returning the job as claimed (saves reading it back). */
  async claimJob(
    jobId: string,
    instanceId: string,
  ): Promise<{ lease: JobLease; job: Job } | undefined> {
    const at = this.#now();
    return this.#writes.run(async (trx) => {
      const row = await claimRow.executeTakeFirst(trx, jobId, instanceId, at);
      if (!row) return undefined;
      const attempt = Number(row.attempt);
      await insertAttempt.execute(trx, jobId, attempt, instanceId, at);
      await appendEvent(trx, jobId, at, 'status', {
        status: 'processing',
        phase: 'uploading',
        attempt,
        instance_id: instanceId,
      });
      return { lease: { job_id: jobId, attempt, instance_id: instanceId }, job: toJob(row) };
    });
  }

  /** Whether the lease is still the job's current processing attempt. */
  async holds(lease: JobLease): Promise<boolean> {
    const row = await leaseHeld.executeTakeFirst(this.#db, lease.job_id, lease.attempt);
    return row !== undefined;
  }

  /** Sets the phase of the leased attempt; false when the lease is lost. */
  async setPhase(lease: JobLease, phase: JobPhase): Promise<boolean> {
    const at = this.#now();
    return this.#writes.run(async (trx) => {
      const res = await leased(trx.updateTable('jobs'), lease)
        .set({ phase, updated_at: at })
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return false;
      await appendEvent(trx, lease.job_id, at, 'phase', { phase, attempt: lease.attempt });
      return true;
    });
  }

  /**
   * Records progress of the leased attempt: one single-row UPDATE, no event (the caller
   * throttles and publishes). False when the lease is lost, which tells the runner to stop.
   */
  async updateProgress(lease: JobLease, progress: ProgressUpdate): Promise<boolean> {
    const set: Record<string, number | string | null> = { progress_updated_at: this.#now() };
    if (progress.percent !== undefined)
      set.progress_percent =
        progress.percent === null ? null : Math.min(100, Math.max(0, progress.percent));
    if (progress.node !== undefined) set.progress_node = progress.node;
    if (progress.step !== undefined) set.progress_step = progress.step;
    if (progress.steps !== undefined) set.progress_steps = progress.steps;
    const res = await this.#writes.run((trx) =>
      leased(trx.updateTable('jobs'), lease).set(set).executeTakeFirst(),
    );
    return Number(res.numUpdatedRows) > 0;
  }

  /**
   * processing → pending after a failure that was not the workflow's fault (instance unreachable,
   * dropped mid-job): the error is recorded on the attempt and the instance is excluded from later
   * placements (unless `exclude: false`). When the job has used all its attempts it fails instead
   * (`outcome: 'failed'`, code `attempts_exhausted`).
   */
  async requeue(
    lease: JobLease,
    error: JobErrorInput,
    options: { exclude?: boolean } = {},
  ): Promise<RequeueResult> {
    const at = this.#now();
    return this.#writes.run(async (trx) => {
      const locked = await leased(trx.updateTable('jobs'), lease)
        .set({ updated_at: at })
        .executeTakeFirst();
      if (Number(locked.numUpdatedRows) === 0) {
        return { ok: false, job: await getIn(trx, lease.job_id) };
      }
      const row = await trx
        .selectFrom('jobs')
        .selectAll()
        .where('id', '=', lease.job_id)
        .executeTakeFirstOrThrow();
      const excluded = parseJson<string[]>(row.excluded_instances_json, []);
      if (options.exclude !== false && !excluded.includes(lease.instance_id)) {
        excluded.push(lease.instance_id);
      }
      const exhausted = Number(row.attempt) >= Number(row.max_attempts);
      if (exhausted) {
        await trx
          .updateTable('jobs')
          .set({
            status: 'failed',
            phase: null,
            excluded_instances_json: JSON.stringify(excluded),
            completed_at: at,
            processing_time_ms: row.started_at === null ? null : at - Number(row.started_at),
            ...errorColumns({
              ...error,
              code: 'attempts_exhausted',
              message: `gave up after ${row.attempt} attempt(s); last: ${error.message}`,
              details: { ...(error.details ?? {}), last_error_code: error.code },
            }),
          })
          .where('id', '=', lease.job_id)
          .execute();
      } else {
        await trx
          .updateTable('jobs')
          .set({
            status: 'pending',
            phase: null,
            instance_id: null,
            cancel_requested: 0,
            excluded_instances_json: JSON.stringify(excluded),
            queued_at: at,
            ...noProgress,
          })
          .where('id', '=', lease.job_id)
          .execute();
      }
      await endAttempt(trx, lease, at, exhausted ? 'failed' : 'requeued', error);
      await appendEvent(trx, lease.job_id, at, 'status', {
        status: exhausted ? 'failed' : 'pending',
        attempt: lease.attempt,
        instance_id: lease.instance_id,
        error: { code: error.code, message: error.message },
      });
      const job = await getIn(trx, lease.job_id);
      if (!job) throw new JobError('JOB_NOT_FOUND', `job ${lease.job_id} vanished`);
      return { ok: true, job, outcome: exhausted ? 'failed' : 'requeued' };
    });
  }

  /**
   * processing → completed, with its outputs, in one transaction: at most one completion is ever
   * recorded. Refused (`ok: false`) when the lease is no longer current (requeued, cancelled,
   * completed by someone else); the caller then discards what it collected.
   */
  async complete(lease: JobLease, outputs: readonly NewJobOutput[]): Promise<CompleteResult> {
    const at = this.#now();
    return this.#writes.run(async (trx) => {
      const res = await completeRow.executeTakeFirst(trx, lease.job_id, lease.attempt, at);
      if (!res) return { ok: false, job: await getIn(trx, lease.job_id) };
      const rows: JobOutputRow[] = outputs.map((o, idx) => ({
        job_id: lease.job_id,
        idx,
        node_id: o.node_id,
        output_key: o.output_key,
        kind: o.kind,
        filename: o.filename ?? null,
        subfolder: o.subfolder ?? null,
        type: o.type ?? null,
        size: o.size ?? null,
        sha256: o.sha256 ?? null,
        mime: o.mime ?? null,
        stored_path: o.stored_path ?? null,
        value_json: o.value === undefined ? null : JSON.stringify(o.value),
        created_at: at,
      }));
      for (const part of chunked(rows, INSERT_CHUNK)) {
        await trx.insertInto('job_outputs').values(part).execute();
      }
      await endAttempt(trx, lease, at, 'completed');
      await appendEvent(trx, lease.job_id, at, 'status', {
        status: 'completed',
        attempt: lease.attempt,
        instance_id: lease.instance_id,
        outputs: outputs.length,
      });
      // The rows as written: nothing above changes the job row after its update.
      return { ok: true, job: toJob(res), outputs: rows.map(toOutput) };
    });
  }

  /** processing → failed (workflow error, timeout, ...); refused when the lease is lost. */
  async fail(lease: JobLease, error: JobErrorInput): Promise<TransitionResult> {
    const at = this.#now();
    return this.#writes.run(async (trx) => {
      const res = await leased(trx.updateTable('jobs'), lease)
        .set({
          status: 'failed',
          phase: null,
          completed_at: at,
          processing_time_ms: sql<number>`cast(${at} as bigint) - started_at`,
          updated_at: at,
          ...errorColumns(error),
        })
        .returningAll()
        .executeTakeFirst();
      if (!res) return { ok: false, job: await getIn(trx, lease.job_id) };
      await endAttempt(trx, lease, at, 'failed', error);
      await appendEvent(trx, lease.job_id, at, 'status', {
        status: 'failed',
        attempt: lease.attempt,
        instance_id: lease.instance_id,
        error: { code: error.code, message: error.message },
      });
      return { ok: true, job: toJob(res) };
    });
  }

  /** pending → failed: refused at placement (e.g. no instance can run it any more). */
  async failPending(jobId: string, error: JobErrorInput): Promise<TransitionResult> {
    const at = this.#now();
    return this.#writes.run(async (trx) => {
      const res = await trx
        .updateTable('jobs')
        .set({
          status: 'failed',
          phase: null,
          completed_at: at,
          updated_at: at,
          ...errorColumns(error),
        })
        .where('id', '=', jobId)
        .where('status', '=', 'pending')
        .returningAll()
        .executeTakeFirst();
      if (!res) return { ok: false, job: await getIn(trx, jobId) };
      await appendEvent(trx, jobId, at, 'status', {
        status: 'failed',
        error: { code: error.code, message: error.message },
      });
      return { ok: true, job: toJob(res) };
    });
  }

  /**
   * Cancels a job. Pending: cancelled at once. Processing: `cancel_requested` is set; the runner
   * interrupts the instance and then calls {@link markCancelled}. (A completion that lands first
   * wins: a late cancel never undoes a recorded result.) Finished: nothing changes.
   */
  async cancel(jobId: string): Promise<CancelResult> {
    const at = this.#now();
    return this.#writes.run(async (trx) => {
      const pending = await trx
        .updateTable('jobs')
        .set({ status: 'cancelled', phase: null, completed_at: at, updated_at: at })
        .where('id', '=', jobId)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      if (Number(pending.numUpdatedRows) > 0) {
        await appendEvent(trx, jobId, at, 'status', { status: 'cancelled' });
        return { state: 'cancelled', job: (await getIn(trx, jobId)) as Job };
      }
      const running = await trx
        .updateTable('jobs')
        .set({ cancel_requested: 1, updated_at: at })
        .where('id', '=', jobId)
        .where('status', '=', 'processing')
        .executeTakeFirst();
      if (Number(running.numUpdatedRows) > 0) {
        await appendEvent(trx, jobId, at, 'cancel_requested', {});
        return { state: 'cancel_requested', job: (await getIn(trx, jobId)) as Job };
      }
      const job = await getIn(trx, jobId);
      return job ? { state: 'finished', job } : { state: 'not_found' };
    });
  }

  /** processing → cancelled, once the runner stopped the attempt; refused when the lease is lost. */
  async markCancelled(lease: JobLease): Promise<TransitionResult> {
    const at = this.#now();
    return this.#writes.run(async (trx) => {
      const res = await leased(trx.updateTable('jobs'), lease)
        .set({
          status: 'cancelled',
          phase: null,
          completed_at: at,
          processing_time_ms: sql<number>`cast(${at} as bigint) - started_at`,
          updated_at: at,
        })
        .returningAll()
        .executeTakeFirst();
      if (!res) return { ok: false, job: await getIn(trx, lease.job_id) };
      await endAttempt(trx, lease, at, 'cancelled');
      await appendEvent(trx, lease.job_id, at, 'status', {
        status: 'cancelled',
        attempt: lease.attempt,
        instance_id: lease.instance_id,
      });
      return { ok: true, job: toJob(res) };
    });
  }

  /**
   * Retries a failed or cancelled job as a NEW job (new id, so a new prompt_id; `retry_of` links
   * them) with the same workflow, inputs and settings. Finished jobs are never reopened, so their
   * record and outputs stay as they were.
   */
  async retry(jobId: string, options: { priority?: number } = {}): Promise<Job> {
    const old = await this.getOrThrow(jobId);
    if (old.status !== 'failed' && old.status !== 'cancelled') {
      throw new JobError(
        'JOB_STATE_CONFLICT',
        `job ${jobId} is ${old.status}; only failed or cancelled jobs can be retried`,
        { job_id: jobId, status: old.status },
      );
    }
    const inputs = await this.inputs(jobId);
    const { job } = await this.create({
      workflow: old.workflow,
      template: old.template,
      inputs: inputs.map((i) => ({
        hash: i.hash,
        name: i.name,
        node_id: i.node_id,
        input_name: i.input_name,
      })),
      priority: options.priority ?? old.priority,
      owner: old.owner,
      pin: old.pin,
      tags: old.tags,
      timeout_ms: old.timeout_ms,
      max_attempts: old.max_attempts,
      metadata: old.metadata,
      webhook_url: old.webhook_url,
      retry_of: old.id,
    });
    return job;
  }

  // -------------------------------------------------------------------------------------------
  // Retention
  // -------------------------------------------------------------------------------------------

  /**
   * Deletes up to `limit` finished jobs that finished before `cutoff` (ms), with their attempts,
   * input bindings, output records and events; returns their ids (the caller removes the output
   * files).
   */
  async deleteFinishedBefore(cutoff: number, limit = 500): Promise<string[]> {
    return this.#db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('jobs')
        .select('id')
        .where('status', 'in', [...FINISHED_STATUSES])
        .where('completed_at', '<', cutoff)
        .orderBy('completed_at')
        .limit(Math.max(1, Math.floor(limit)))
        .execute();
      const ids = rows.map((r) => r.id);
      if (ids.length === 0) return [];
      // Children first: PostgreSQL and SQLite both cascade, but explicit deletes do not depend
      // on the connection's foreign_keys setting.
      for (const table of ['job_events', 'job_outputs', 'job_inputs', 'job_attempts'] as const) {
        await trx.deleteFrom(table).where('job_id', 'in', ids).execute();
      }
      await trx.deleteFrom('jobs').where('id', 'in', ids).execute();
      return ids;
    });
  }

  /** Whether a job with this id exists (cheap; for sweeping orphaned output folders). */
  async existing(ids: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const part of chunked(ids, 500)) {
      const rows = await this.#db.selectFrom('jobs').select('id').where('id', 'in', part).execute();
      for (const r of rows) out.add(r.id);
    }
    return out;
  }
}

/** `WHERE id = ? AND status = 'processing' AND attempt = ?` on an update. */
function leased<QB extends { where: (...args: never[]) => unknown }>(qb: QB, lease: JobLease): QB {
  // Kysely's builders are immutable and typed per table; the three conditions are the same for
  // every lease-guarded update of `jobs`.
  const q = qb as unknown as {
    where(col: string, op: string, v: unknown): typeof q;
  };
  return q
    .where('id', '=', lease.job_id)
    .where('status', '=', 'processing')
    .where('attempt', '=', lease.attempt) as unknown as QB;
}

async function getIn(db: Db, id: string): Promise<Job | undefined> {
  const row: JobRow | undefined = await db
    .selectFrom('jobs')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? toJob(row) : undefined;
}

async function endAttempt(
  db: Db,
  lease: JobLease,
  at: number,
  outcome: 'completed' | 'failed' | 'requeued' | 'cancelled',
  error?: JobErrorInput,
): Promise<void> {
  await endAttemptRow.execute(
    db,
    lease.job_id,
    lease.attempt,
    at,
    outcome,
    error?.code ?? null,
    error?.message ?? null,
  );
}

/** The values of a new job row that vary (the rest are constants of a pending job). */
interface NewJobValues extends Record<string, unknown> {
  id: string;
  seq: number;
  priority: number;
  owner: string | null;
  scope: string | null;
  key: string | null;
  request_hash: string | null;
  pin: string | null;
  tags_json: string;
  workflow_json: string;
  template_name: string | null;
  template_params_json: string | null;
  metadata_json: string;
  webhook_url: string | null;
  timeout_ms: number;
  max_attempts: number;
  retry_of: string | null;
  at: number;
}

const insertJob = PrecompiledQuery.named(
  [
    'id',
    'seq',
    'priority',
    'owner',
    'scope',
    'key',
    'request_hash',
    'pin',
    'tags_json',
    'workflow_json',
    'template_name',
    'template_params_json',
    'metadata_json',
    'webhook_url',
    'timeout_ms',
    'max_attempts',
    'retry_of',
    'at',
  ],
  (db: Kysely<Database>, v: NewJobValues) =>
    db
      .insertInto('jobs')
      .values({
        id: v.id,
        seq: v.seq,
        status: 'pending',
        phase: null,
        cancel_requested: 0,
        priority: v.priority,
        owner: v.owner,
        idempotency_scope: v.scope,
        idempotency_key: v.key,
        request_hash: v.request_hash,
        pin: v.pin,
        tags_json: v.tags_json,
        workflow_json: v.workflow_json,
        template_name: v.template_name,
        template_params_json: v.template_params_json,
        metadata_json: v.metadata_json,
        webhook_url: v.webhook_url,
        timeout_ms: v.timeout_ms,
        max_attempts: v.max_attempts,
        attempt: 0,
        excluded_instances_json: '[]',
        instance_id: null,
        ...noProgress,
        error_code: null,
        error_message: null,
        error_node_id: null,
        error_node_class: null,
        error_exception_type: null,
        error_exception_message: null,
        error_details_json: null,
        retry_of: v.retry_of,
        created_at: v.at,
        queued_at: v.at,
        started_at: null,
        completed_at: null,
        processing_time_ms: null,
        updated_at: v.at,
      })
      .onConflict((oc) => oc.columns(['idempotency_scope', 'idempotency_key']).doNothing())
      .returningAll(),
);

// Asked on every accept (queue position): built once.
const queueSlot = new PrecompiledQuery((db: Kysely<Database>, id: string) =>
  db.selectFrom('jobs').select(['status', 'priority', 'seq']).where('id', '=', id),
);

// Two range counts on the queue index (higher priority; same priority, earlier): each an
// index-only range, about twice as fast as one count over an OR with a deep queue.
const jobsAhead = new PrecompiledQuery((db: Kysely<Database>, priority: number, seq: number) =>
  db.selectNoFrom((eb) => [
    eb
      .selectFrom('jobs')
      .select((c) => c.fn.countAll<number>().as('n'))
      .where('status', '=', 'pending')
      .where('priority', '>', priority)
      .as('higher'),
    eb
      .selectFrom('jobs')
      .select((c) => c.fn.countAll<number>().as('n'))
      .where('status', '=', 'pending')
      .where('priority', '=', priority)
      .where('seq', '<', seq)
      .as('earlier'),
  ]),
);

// The hot transitions of every job (claim, run, complete): built once, not per call.
const claimRow = new PrecompiledQuery(
  (db: Kysely<Database>, jobId: string, instanceId: string, at: number) =>
    db
      .updateTable('jobs')
      .set((eb) => ({
        status: 'processing',
        phase: 'uploading',
        attempt: eb('attempt', '+', 1),
        instance_id: instanceId,
        cancel_requested: 0,
        started_at: at,
        completed_at: null,
        processing_time_ms: null,
        updated_at: at,
        ...noProgress,
      }))
      .where('id', '=', jobId)
      .where('status', '=', 'pending')
      .returningAll(),
);

const insertAttempt = new PrecompiledQuery(
  (db: Kysely<Database>, jobId: string, n: number, instanceId: string, at: number) =>
    db.insertInto('job_attempts').values({
      job_id: jobId,
      n,
      instance_id: instanceId,
      started_at: at,
      ended_at: null,
      outcome: null,
      error_code: null,
      error_message: null,
    }),
);

const leaseHeld = new PrecompiledQuery((db: Kysely<Database>, jobId: string, attempt: number) =>
  db
    .selectFrom('jobs')
    .select('id')
    .where('id', '=', jobId)
    .where('status', '=', 'processing')
    .where('attempt', '=', attempt),
);

const completeRow = new PrecompiledQuery(
  (db: Kysely<Database>, jobId: string, attempt: number, at: number) =>
    db
      .updateTable('jobs')
      .set({
        status: 'completed',
        phase: null,
        completed_at: at,
        processing_time_ms: sql<number>`cast(${at} as bigint) - started_at`,
        progress_percent: 100,
        progress_updated_at: at,
        updated_at: at,
      })
      .where('id', '=', jobId)
      .where('status', '=', 'processing')
      .where('attempt', '=', attempt)
      .returningAll(),
);

const endAttemptRow = new PrecompiledQuery(
  (
    db: Kysely<Database>,
    jobId: string,
    n: number,
    at: number,
    outcome: string,
    errorCode: string | null,
    errorMessage: string | null,
  ) =>
    db
      .updateTable('job_attempts')
      .set({ ended_at: at, outcome, error_code: errorCode, error_message: errorMessage })
      .where('job_id', '=', jobId)
      .where('n', '=', n),
);

const jobInputs = new PrecompiledQuery((db: Kysely<Database>, jobId: string) =>
  db
    .selectFrom('job_inputs')
    .innerJoin('inputs', 'inputs.hash', 'job_inputs.hash')
    .select([
      'job_inputs.idx',
      'job_inputs.hash',
      'job_inputs.name',
      'job_inputs.node_id',
      'job_inputs.input_name',
      'inputs.size',
      'inputs.mime',
    ])
    .where('job_inputs.job_id', '=', jobId)
    .orderBy('job_inputs.idx'),
);

async function appendEvent(
  db: Db,
  jobId: string,
  at: number,
  type: string,
  data: Record<string, unknown>,
): Promise<void> {
  await insertEvent.execute(db, jobId, at, type, JSON.stringify(data));
}

// Several events per job: built once, not per call.
const insertEvent = new PrecompiledQuery(
  (db: Kysely<Database>, jobId: string, at: number, type: string, dataJson: string) =>
    db.insertInto('job_events').values({ job_id: jobId, at, type, data_json: dataJson }),
);

const nextJobSeq = new PrecompiledQuery((db: Kysely<Database>) =>
  db
    .updateTable('store_counters')
    .set((eb) => ({ value: eb('value', '+', 1) }))
    .where('name', '=', 'job_seq')
    .returning('value'),
);
