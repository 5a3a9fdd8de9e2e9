import {
  type CancelResult,
  isFinished,
  type Job,
  type JobAcceptance,
  type JobDefaults,
  JobError,
  type JobEvent,
  type JobListQuery,
  type JobOutput,
  type JobPage,
  type JobServices,
  SubmissionInvalidError,
  submitJob,
  WorkflowRejectedError,
} from '../../jobs/index.js';
import type { EventBus } from '../../store/index.js';
import { checkFleet } from '../capability.js';
import { InvalidPromptError } from '../errors.js';
import { extractRequirements } from '../requirements.js';
import type { Dispatcher } from './dispatcher.js';
import type { JobEvents } from './job-events.js';

/** Who submits: the owner is the fair-share key (API key id, user, team). */
export interface Principal {
  owner?: string | null;
}

/** The answer to a submission. */
export interface SubmitResult {
  job: Job;
  /** false: an idempotent replay (this is the earlier job). */
  created: boolean;
  same_request: boolean;
  queue_position: number | null;
  estimated_completion_seconds: number | null;
  acceptance: JobAcceptance;
}

/** Options of {@link JobService.submit}. */
export interface SubmitOptions {
  /**
   * The job id to use (a canonical lowercase UUID), e.g. the `prompt_id` a ComfyUI client chose,
   * so that the id outlives a restart. An id already taken is refused with `JOB_STATE_CONFLICT`.
   */
  id?: string;
}

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What a job service is built from. */
export interface JobServiceOptions {
  services: JobServices;
  dispatcher: Dispatcher;
  bus?: EventBus<JobEvents>;
  defaults?: Partial<JobDefaults>;
}

/** Options of {@link JobService.wait}. */
export interface WaitOptions {
  /** Give up after this long and return the job as it is. Default: no limit. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * The facade the HTTP API calls: submit (validated against the fleet, committed to the store
 * before answering, then queued), get, list, cancel, retry, wait for a finish, and the event log.
 * Job events are published on the bus (`job.created`, `job.status`, `job.progress`,
 * `job.completed`, `job.failed`, `job.cancelled`); the store keeps the same transitions in the
 * job's event log for replay.
 *
 * @example
 * const service = new JobService({ services, dispatcher, bus });
 * const r = await service.submit({ workflow }, { owner: apiKey.id });
 * // 202 { job_id: r.job.id, status: r.job.status, queue_position: r.queue_position, estimated_completion_seconds: r.estimated_completion_seconds }
 * const done = await service.wait(r.job.id, { timeoutMs: 60_000 });
 */
export class JobService {
  readonly #services: JobServices;
  readonly #dispatcher: Dispatcher;
  readonly #bus: EventBus<JobEvents> | undefined;
  readonly #defaults: Partial<JobDefaults>;
  readonly #waiters = new Map<string, Set<(job: Job) => void>>();
  readonly #offs: Array<() => void> = [];

  constructor(options: JobServiceOptions) {
    this.#services = options.services;
    this.#dispatcher = options.dispatcher;
    this.#bus = options.bus;
    this.#defaults = options.defaults ?? {};
    if (this.#bus) {
      const finished = ({ job }: { job: Job }) => this.#wake(job);
      this.#offs.push(
        this.#bus.subscribe('job.completed', finished),
        this.#bus.subscribe('job.failed', finished),
        this.#bus.subscribe('job.cancelled', finished),
      );
    }
  }

  /** Stops listening to the bus (waiters still pending resolve on their own timeouts). */
  close(): void {
    for (const off of this.#offs.splice(0)) off();
  }

  /**
   * Accepts a job: structure and fleet capabilities are checked (refusals are
   * `SubmissionInvalidError` / `WorkflowRejectedError`, with what no instance has), the job is
   * committed to the store (idempotency key honoured), queued, and answered with its queue
   * position and an estimated completion. `options.id` chooses the job id (see
   * {@link SubmitOptions}).
   */
  async submit(
    submission: unknown,
    principal: Principal = {},
    options: SubmitOptions = {},
  ): Promise<SubmitResult> {
    const raw: unknown =
      isObject(submission) && principal.owner !== undefined && principal.owner !== null
        ? { ...submission, owner: principal.owner }
        : submission;
    const id = options.id;
    if (id !== undefined) await this.#checkNewId(id);
    this.#precheck(raw);
    let acceptance: JobAcceptance;
    try {
      acceptance = await submitJob(raw, {
        ...this.#services,
        fleet: this.#dispatcher.fleet.capabilitiesView(),
        defaults: this.#defaults,
        ...(id === undefined ? {} : { jobId: id }),
      });
    } catch (err) {
      // Two submissions racing for one chosen id: the store's key refuses the second.
      if (id !== undefined && !(err instanceof JobError)) await this.#checkNewId(id);
      throw err;
    }
    const { job } = acceptance;
    if (acceptance.created) {
      this.#bus?.publish('job.created', { job });
      this.#dispatcher.enqueue(job);
    }
    const eta =
      job.status === 'pending' ? this.#dispatcher.estimateCompletionSeconds(job.id) : null;
    return {
      job,
      created: acceptance.created,
      same_request: acceptance.same_request,
      queue_position: acceptance.queue_position,
      estimated_completion_seconds:
        eta === null ? acceptance.estimated_completion_seconds : Math.ceil(eta),
      acceptance,
    };
  }

  /** A caller-chosen job id must be a canonical UUID that no job has yet. */
  async #checkNewId(id: string): Promise<void> {
    if (!CANONICAL_UUID.test(id)) {
      throw new SubmissionInvalidError([
        { path: 'id', message: 'must be a canonical lowercase UUID' },
      ]);
    }
    if (await this.#services.jobs.get(id)) {
      throw new JobError('JOB_STATE_CONFLICT', `a job with id ${id} already exists`, {
        job_id: id,
      });
    }
  }

  /**
   * "No instance can ever run this" with the scheduler's reason, before anything is stored.
   * Only for a raw workflow when every instance's lists are known (templates and unknown
   * instances are left to the jobs layer's validation).
   */
  #precheck(raw: unknown): void {
    if (!isObject(raw) || !isObject(raw.workflow)) return;
    const fleet = this.#dispatcher.fleet;
    if (!fleet.capabilitiesKnown()) return;
    let req: ReturnType<typeof extractRequirements>;
    try {
      req = extractRequirements(raw.workflow as never, fleet.modelIndex());
    } catch (err) {
      if (err instanceof InvalidPromptError) return; // the jobs layer words structure errors
      throw err;
    }
    const pin = typeof raw.pin === 'string' ? raw.pin : null;
    const tags = Array.isArray(raw.tags)
      ? raw.tags.filter((t): t is string => typeof t === 'string')
      : [];
    const check = checkFleet(req, fleet.targets(), {
      pin: pin === 'active' ? (fleet.activeId() ?? pin) : pin,
      tags,
    });
    if (check.ok) return;
    const reason = check.reason ?? 'no instance can run this job';
    throw new WorkflowRejectedError(
      'NO_CAPABLE_INSTANCE',
      reason,
      { type: 'no_capable_instance', message: reason, details: '', extra_info: {} },
      {},
      { node_classes: check.missing_nodes, models: check.missing_models },
      undefined,
    );
  }

  /** The job, or undefined. */
  get(id: string): Promise<Job | undefined> {
    return this.#services.jobs.get(id);
  }

  /** A page of jobs. */
  list(query: JobListQuery = {}): Promise<JobPage> {
    return this.#services.jobs.list(query);
  }

  /** The recorded outputs of a job. */
  outputs(id: string): Promise<JobOutput[]> {
    return this.#services.jobs.outputs(id);
  }

  /** The job's event log after `afterId` (SSE replay). */
  events(id: string, options: { afterId?: number; limit?: number } = {}): Promise<JobEvent[]> {
    return this.#services.jobs.events(id, options);
  }

  /**
   * Cancels a job: pending → cancelled at once; processing → cancel requested (the runner
   * dequeues or interrupts it on the instance and marks it cancelled); finished → unchanged.
   */
  async cancel(id: string): Promise<CancelResult> {
    const r = await this.#services.jobs.cancel(id);
    if (r.state === 'cancelled') {
      this.#dispatcher.dropWaiting(id);
      this.#bus?.publish('job.cancelled', { job: r.job });
    } else if (r.state === 'cancel_requested') {
      this.#bus?.publish('job.status', { job: r.job });
      this.#dispatcher.requestCancel(id);
    }
    return r;
  }

  /** Retries a failed or cancelled job as a new job (linked by `retry_of`), queued at once. */
  async retry(id: string, options: { priority?: number } = {}): Promise<Job> {
    const job = await this.#services.jobs.retry(id, options);
    this.#bus?.publish('job.created', { job });
    this.#dispatcher.enqueue(job);
    return job;
  }

  /**
   * Resolves with the job once it is finished, or as it is when `timeoutMs` passes or the
   * signal aborts (for `wait=true`). Undefined for an unknown job.
   */
  async wait(id: string, options: WaitOptions = {}): Promise<Job | undefined> {
    const first = await this.get(id);
    if (!first || isFinished(first.status)) return first;
    return new Promise<Job | undefined>((resolve) => {
      let set = this.#waiters.get(id);
      if (!set) {
        set = new Set();
        this.#waiters.set(id, set);
      }
      let timer: NodeJS.Timeout | undefined;
      let poll: NodeJS.Timeout | undefined;
      const done = (job: Job | undefined) => {
        clearTimeout(timer);
        clearInterval(poll);
        options.signal?.removeEventListener('abort', onAbort);
        set?.delete(waiter);
        if (set?.size === 0) this.#waiters.delete(id);
        resolve(job);
      };
      const waiter = (job: Job) => done(job);
      const onAbort = () => void this.get(id).then(done, () => done(undefined));
      set.add(waiter);
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(onAbort, Math.max(0, options.timeoutMs));
      }
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
      // Without a bus (or another gateway node finishing it), the store is the truth: poll it.
      poll = setInterval(() => {
        this.get(id).then(
          (job) => {
            if (!job || isFinished(job.status)) done(job);
          },
          () => undefined,
        );
      }, 1_000);
      poll.unref();
    });
  }

  #wake(job: Job): void {
    const set = this.#waiters.get(job.id);
    if (!set) return;
    for (const w of [...set]) w(job);
  }
}
