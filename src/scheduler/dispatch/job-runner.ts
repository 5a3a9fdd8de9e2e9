import {
  type ComfyClient,
  type ComfyEventStream,
  type HistoryRecord,
  outcomeOfHistory,
  type PromptWatch,
  type PromptWatchResult,
  type WatchEvent,
} from '../../comfy/index.js';
import { countsAgainstInstance } from '../../fleet/health/index.js';
import type { PathMapping } from '../../fleet/index.js';
import {
  collectAndComplete,
  type InputRepository,
  type InputStore,
  type Job,
  type JobErrorInput,
  type JobLease,
  type JobPhase,
  type JobRepository,
  type OutputStore,
  prepareInputsForInstance,
  uploadInputs,
} from '../../jobs/index.js';
import type { EventBus } from '../../store/index.js';
import type { RuntimeEstimator } from '../estimator.js';
import {
  classifyDispatchError,
  dispatchError,
  executionError,
  isOutOfMemory,
  RUNNER_ERROR_CODES,
} from './failure.js';
import type { FleetMonitor } from './fleet-view.js';
import { type JobEvents, publishJobState } from './job-events.js';
import { OutputPrefetch } from './output-prefetch.js';
import { DEFAULT_PROGRESS_INTERVAL_MS, ProgressWriter } from './progress-writer.js';

/** Timings of a runner. */
export interface RunnerOptions {
  /** No event for this long while running → interrupt, instance failure, requeue. Default 120 s. */
  stallTimeoutMs?: number;
  /** Poll period of the prompt's state while the instance's socket is down. Default 1 000 ms. */
  pollIntervalMs?: number;
  /** Poll period while the socket is up (a socket can go deaf). Default 30 000 ms. */
  safetyPollMs?: number;
  /** Consecutive failed polls that make the instance failed for this job. Default 3. */
  pollFailureThreshold?: number;
  /** At most this many progress writes per job per second are made: 1000 / interval. */
  progressIntervalMs?: number;
  /**
   * Phase changes are written at most once per this interval (trailing; a phase superseded
   * before its write is skipped, so an instant job costs no phase writes). Default 250 ms.
   */
  phaseIntervalMs?: number;
}

/** What every runner shares. */
export interface RunnerDeps {
  jobs: JobRepository;
  inputs: InputRepository;
  inputStore: InputStore;
  outputStore: OutputStore;
  monitor: FleetMonitor;
  estimator: RuntimeEstimator;
  bus?: EventBus<JobEvents> | undefined;
  /** path_map of an instance (client paths → the instance's). */
  pathMap: (instanceId: string) => readonly PathMapping[];
  options?: RunnerOptions;
}

/** How an attempt ended, for the dispatcher. */
export type RunOutcome =
  | { type: 'completed' | 'failed' | 'cancelled' }
  /** Back to pending (`job` as requeued); `oom_vram_free` set after an out-of-memory error. */
  | { type: 'requeued'; job: Job; oom_vram_free?: number | null }
  /** The lease was no longer current: someone else owns the job now; nothing was written. */
  | { type: 'stale' }
  /** Shutdown: the job stays processing on the instance, for recovery at the next start. */
  | { type: 'detached' };

type StopReason = 'cancel' | 'timeout' | 'stall' | 'instance' | 'shutdown';

/** Reconnects of the monitor's stream (connection replaced) followed before giving up. */
const MAX_REATTACH = 3;

/**
 * One attempt of one job on one instance, from the claimed lease to a final write: inputs
 * uploaded into the gateway's subfolder (once per instance), `POST /prompt` with
 * `prompt_id` = job id and the monitor's `client_id`, events followed (polling when the socket
 * is down), throttled progress, outputs collected and the completion recorded by compare-and-set.
 * `attach: true` re-attaches to a prompt already on the instance (crash recovery): nothing is
 * uploaded or posted again.
 *
 * Failures: a node error fails the job (out-of-memory requeues it, preferring more free VRAM);
 * an unreachable instance, a refused dispatch, a lost prompt or a stall requeue it with the
 * instance excluded and are reported to the breaker; the job timeout interrupts the prompt and
 * fails the job (`job_timeout`); a cancel removes it from the instance's queue or interrupts it.
 *
 * @example
 * const runner = new JobRunner(deps, lease, job, { shape, onStarted: () => {} });
 * const outcome = await runner.run();
 */
export class JobRunner {
  readonly lease: JobLease;
  readonly job: Job;
  readonly #deps: RunnerDeps;
  readonly #shape: string;
  readonly #attach: boolean;
  readonly #onStarted: (at: number) => void;
  readonly #abort = new AbortController();
  /** Output files fetched as `executed` announces them (beside GET /history). */
  readonly #prefetch = new OutputPrefetch(this.#abort.signal);
  #client: ComfyClient | undefined;
  readonly #stall: number;
  readonly #poll: number;
  readonly #safetyPoll: number;
  readonly #pollThreshold: number;
  readonly #progress: ProgressWriter;
  readonly #phaseInterval: number;
  #phaseWritten: JobPhase | null;
  #lastPhaseWrite = Date.now();
  #phaseTimer: NodeJS.Timeout | undefined;
  #ended = false;
  #stop: StopReason | undefined;
  #watch: PromptWatch | undefined;
  #phase: JobPhase | null;
  #startedAt: number | undefined;
  #lastError: unknown;

  constructor(
    deps: RunnerDeps,
    lease: JobLease,
    job: Job,
    options: { shape: string; attach?: boolean; onStarted?: (at: number) => void },
  ) {
    this.#deps = deps;
    this.lease = lease;
    this.job = job;
    this.#shape = options.shape;
    this.#attach = options.attach ?? false;
    this.#onStarted = options.onStarted ?? (() => {});
    const o = deps.options ?? {};
    this.#stall = o.stallTimeoutMs ?? 120_000;
    this.#poll = o.pollIntervalMs ?? 1_000;
    this.#safetyPoll = o.safetyPollMs ?? 30_000;
    this.#pollThreshold = Math.max(1, o.pollFailureThreshold ?? 3);
    this.#phase = job.phase ?? 'uploading';
    this.#phaseWritten = this.#phase;
    this.#phaseInterval = Math.max(0, o.phaseIntervalMs ?? 250);
    this.#progress = new ProgressWriter(
      deps.jobs,
      lease,
      deps.bus,
      o.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS,
    );
  }

  get instanceId(): string {
    return this.lease.instance_id;
  }

  /** The attempt ended because the instance sent no event for the stall timeout. */
  get stalled(): boolean {
    return this.#stop === 'stall';
  }

  /** A cancel was requested: dequeue or interrupt on the instance, then mark cancelled. */
  cancel(): void {
    this.#halt('cancel');
  }

  /** Stop following without writing anything: the job stays processing (recovered at start). */
  detach(): void {
    this.#halt('shutdown');
  }

  #halt(reason: StopReason): void {
    if (this.#stop === undefined || reason === 'shutdown') this.#stop = reason;
    if (!this.#abort.signal.aborted) this.#abort.abort(new Error(reason));
    this.#watch?.close('aborted');
  }

  /** Runs the attempt to its end; never rejects. */
  async run(): Promise<RunOutcome> {
    try {
      return await this.#run();
    } catch (err) {
      if (this.#stop === 'shutdown') return { type: 'detached' };
      // Bookkeeping failed (store error): leave the job processing; recovery sorts it out.
      this.#lastError = err;
      return { type: 'detached' };
    } finally {
      this.#ended = true;
      clearTimeout(this.#phaseTimer);
      this.#progress.stop();
      this.#prefetch.dispose();
    }
  }

  async #run(): Promise<RunOutcome> {
    const handle = this.#deps.monitor.connectionFor(this.instanceId);
    if (!handle) {
      return this.#requeue(
        { code: RUNNER_ERROR_CODES.instanceGone, message: `instance ${this.instanceId} is gone` },
        true,
      );
    }
    let { client, events } = handle;
    let watch: PromptWatch;
    if (this.#attach) {
      watch = events.watch(this.job.id, { reconcile: true });
    } else {
      const dispatched = await this.#dispatch(client, events);
      if ('type' in dispatched) return dispatched;
      watch = dispatched.watch;
      if (!(await this.#setPhase('queued_on_instance'))) {
        watch.close();
        return { type: 'stale' };
      }
    }
    for (let reattach = 0; ; reattach++) {
      const result = await this.#follow(client, events, watch);
      if (result.status !== 'stopped' || this.#stop !== undefined || reattach >= MAX_REATTACH) {
        return this.#settle(client, result);
      }
      // The monitor replaced or closed the connection: follow on the new one.
      const next = this.#deps.monitor.connectionFor(this.instanceId);
      if (!next) return this.#settle(client, { status: 'lost', promptId: this.job.id });
      ({ client, events } = next);
      watch = events.watch(this.job.id, { reconcile: true });
    }
  }

  /** Uploads inputs and posts the prompt. */
  async #dispatch(
    client: ComfyClient,
    events: ComfyEventStream,
  ): Promise<{ watch: PromptWatch } | RunOutcome> {
    const { jobs, inputs: inputRepo, inputStore } = this.#deps;
    const signal = this.#abort.signal;
    let watch: PromptWatch | undefined;
    try {
      const inputs = await jobs.inputs(this.job.id);
      const have =
        inputs.length === 0
          ? new Map()
          : await inputRepo.uploadedTo(
              this.instanceId,
              inputs.map((i) => i.hash),
            );
      const plan = prepareInputsForInstance(
        { workflow: this.job.workflow, inputs },
        { id: this.instanceId, path_map: this.#deps.pathMap(this.instanceId) },
        have,
      );
      const names =
        plan.uploads.length === 0
          ? plan.reused
          : await uploadInputs(client, plan, {
              inputStore,
              inputs: inputRepo,
              instanceId: this.instanceId,
              signal,
            });
      signal.throwIfAborted();
      // Watch before posting: the first events can arrive before POST /prompt answers.
      watch = events.watch(this.job.id, { submitted: false });
      this.#watch = watch;
      await client.queuePrompt(
        { prompt: plan.rewrite(names), prompt_id: this.job.id, client_id: events.clientId },
        { signal },
      );
      watch.markSubmitted();
      if (!events.connected) events.checkPrompt(this.job.id).catch(() => undefined);
      this.#deps.monitor.reportDispatchSuccess(this.instanceId);
      return { watch };
    } catch (err) {
      watch?.close();
      if (this.#stop === 'shutdown') return { type: 'detached' };
      if (this.#stop === 'cancel') {
        // The POST may have reached the instance before the abort.
        await client.cancelJob(this.job.id).catch(() => undefined);
        return this.#markCancelled();
      }
      const kind = classifyDispatchError(err);
      if (kind === 'instance') {
        this.#deps.monitor.reportDispatchFailure(this.instanceId, err);
        return this.#requeue(dispatchError(err), true);
      }
      return this.#fail(dispatchError(err));
    }
  }

  /** Follows the prompt's events until it ends or is stopped; timers for timeout, stall, polls. */
  async #follow(
    client: ComfyClient,
    events: ComfyEventStream,
    watch: PromptWatch,
  ): Promise<PromptWatchResult> {
    this.#watch = watch;
    this.#client = client;
    if (this.#stop !== undefined) watch.close('aborted');
    const deadline = (this.job.started_at ?? Date.now()) + this.job.timeout_ms;
    const timeoutTimer = setTimeout(
      () => this.#halt('timeout'),
      Math.max(0, deadline - Date.now()),
    );
    let stallTimer: NodeJS.Timeout | undefined;
    const armStall = () => {
      if (this.#phase !== 'running') return;
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => this.#halt('stall'), this.#stall);
    };
    // Ticks every poll interval; asks the instance only while its socket is down, or every
    // safety interval while it is up (a socket can go deaf without closing).
    let pollTimer: NodeJS.Timeout | undefined;
    let pollFailures = 0;
    let lastCheck = Date.now();
    const schedulePoll = () => {
      if (watch.ended) return;
      pollTimer = setTimeout(() => {
        if (watch.ended) return;
        const now = Date.now();
        if (events.connected && now - lastCheck < this.#safetyPoll) return schedulePoll();
        lastCheck = now;
        events
          .checkPrompt(this.job.id)
          .then(() => {
            pollFailures = 0;
          })
          .catch((err: unknown) => {
            // Down, timed out or answering 5xx: the breaker's classification.
            if (!countsAgainstInstance(err) && events.state !== 'closed') return;
            this.#lastError = err;
            pollFailures++;
            const unhealthy = this.#deps.monitor.health(this.instanceId).health === 'unhealthy';
            if (pollFailures >= this.#pollThreshold || unhealthy) this.#halt('instance');
          })
          .finally(schedulePoll);
      }, this.#poll);
    };
    schedulePoll();
    armStall();
    try {
      for await (const event of watch) {
        armStall();
        await this.#onEvent(event);
        armStall();
      }
    } finally {
      clearTimeout(timeoutTimer);
      clearTimeout(stallTimer);
      clearTimeout(pollTimer);
      watch.close();
    }
    void client;
    return watch.result;
  }

  async #onEvent(event: WatchEvent): Promise<void> {
    if (event.unknown) return;
    switch (event.type) {
      case 'execution_start':
        await this.#running();
        return;
      case 'executing':
        if (event.data.node !== null) {
          await this.#running();
          this.#progress.update({ node: event.data.node });
        }
        return;
      case 'progress': {
        const { value, max, node } = event.data;
        await this.#running();
        this.#progress.update({
          percent: max > 0 ? Math.round((value / max) * 1000) / 10 : null,
          step: value,
          steps: max,
          ...(typeof node === 'string' ? { node } : {}),
        });
        return;
      }
      case 'executed':
        // A re-attached attempt may have its files already: it collects as it did.
        if (!this.#attach && this.#client)
          this.#prefetch.announce(this.#client, event.data.node, event.data.output);
        return;
      case 'reconciled':
        if (event.state.state === 'running') await this.#running();
        return;
      default:
        return;
    }
  }

  async #running(): Promise<void> {
    if (this.#phase === 'running' || this.#phase === 'collecting') return;
    this.#startedAt = Date.now();
    this.#onStarted(this.#startedAt);
    await this.#setPhase('running');
  }

  /** Turns the end of the watch into the job's next state. */
  async #settle(client: ComfyClient, result: PromptWatchResult): Promise<RunOutcome> {
    const stop = this.#stop;
    if (stop === 'shutdown') return { type: 'detached' };
    if (stop === 'cancel') {
      await client.cancelJob(this.job.id).catch(() => undefined);
      return this.#markCancelled();
    }
    if (stop === 'timeout') {
      await client.cancelJob(this.job.id).catch(() => undefined);
      return this.#fail({
        code: RUNNER_ERROR_CODES.jobTimeout,
        message: `the job did not finish within ${this.job.timeout_ms} ms; interrupted on ${this.instanceId}`,
      });
    }
    if (stop === 'stall') {
      await client.cancelJob(this.job.id).catch(() => undefined);
      const message = `no event from ${this.instanceId} for ${this.#stall} ms while running`;
      this.#deps.monitor.reportDispatchFailure(this.instanceId, new Error(message));
      return this.#requeue({ code: RUNNER_ERROR_CODES.stalled, message }, true);
    }
    if (stop === 'instance') {
      this.#deps.monitor.reportDispatchFailure(this.instanceId, this.#lastError);
      return this.#requeue(dispatchError(this.#lastError), true);
    }
    if (result.status === 'lost' || result.status === 'stopped') {
      const message =
        result.status === 'lost'
          ? `prompt ${this.job.id} is no longer known to ${this.instanceId} (restarted?)`
          : `lost the connection to ${this.instanceId}`;
      this.#deps.monitor.reportDispatchFailure(this.instanceId, new Error(message));
      return this.#requeue({ code: RUNNER_ERROR_CODES.promptLost, message }, true);
    }
    let history: HistoryRecord | undefined = result.history;
    let outcome = result.outcome;
    let error = result.error;
    if (outcome === undefined || (outcome === 'success' && history === undefined)) {
      try {
        history = await client.getHistoryItem(this.job.id);
      } catch (err) {
        // Down or 5xx counts toward the instance's breaker; either way the job runs elsewhere.
        if (countsAgainstInstance(err))
          this.#deps.monitor.reportDispatchFailure(this.instanceId, err);
        return this.#requeue(dispatchError(err), true);
      }
      if (history) {
        const derived = outcomeOfHistory(history);
        outcome = derived.outcome;
        error = derived.error ?? error;
      }
    }
    const runMs = this.#startedAt === undefined ? undefined : Date.now() - this.#startedAt;
    if (outcome === 'success' && history) return this.#collect(client, history, runMs);
    if (outcome === 'error' && error) {
      const info = executionError(error);
      this.#deps.monitor.recordJobResult(this.instanceId, {
        ok: false,
        ...(runMs === undefined ? {} : { execution_ms: runMs }),
        error: info.message,
      });
      if (isOutOfMemory(error)) {
        const vram = this.#deps.monitor.health(this.instanceId).vram_free;
        return this.#requeue(info, true, vram);
      }
      return this.#fail(info);
    }
    if (outcome === 'interrupted') {
      return this.#fail({
        code: RUNNER_ERROR_CODES.interrupted,
        message: `the prompt was interrupted on ${this.instanceId}`,
      });
    }
    const message = `prompt ${this.job.id} ended on ${this.instanceId} without a history record`;
    return this.#requeue({ code: RUNNER_ERROR_CODES.promptLost, message }, true);
  }

  async #collect(
    client: ComfyClient,
    record: HistoryRecord,
    runMs: number | undefined,
  ): Promise<RunOutcome> {
    if (!(await this.#setPhase('collecting'))) return { type: 'stale' };
    let done: Awaited<ReturnType<typeof collectAndComplete>>;
    try {
      done = await collectAndComplete({
        jobs: this.#deps.jobs,
        lease: this.lease,
        client: this.#prefetch.source(client),
        record,
        outputs: this.#deps.outputStore,
        signal: this.#abort.signal,
        // A new claim's attempt folder cannot hold files yet; a re-attached one may.
        fresh: !this.#attach,
      });
    } catch (err) {
      if (this.#stop === 'shutdown') return { type: 'detached' };
      // This attempt will never complete: its partial files go.
      await this.#deps.outputStore
        .removeAttempt(this.lease.job_id, this.lease.attempt)
        .catch(() => undefined);
      if (this.#stop === 'cancel') return this.#markCancelled();
      // Down, timed out or a 5xx on GET /view: the instance's trouble (the breaker's rule), so
      // the job runs again elsewhere; a 4xx or a bad file fails it.
      if (countsAgainstInstance(err)) {
        this.#deps.monitor.reportDispatchFailure(this.instanceId, err);
        return this.#requeue(dispatchError(err), true);
      }
      const message = err instanceof Error ? err.message : String(err);
      return this.#fail({ code: RUNNER_ERROR_CODES.collectFailed, message });
    }
    if (!done.ok) return { type: 'stale' };
    if (runMs !== undefined) this.#deps.estimator.record(this.instanceId, this.#shape, runMs);
    this.#deps.monitor.recordJobResult(this.instanceId, {
      ok: true,
      ...(runMs === undefined ? {} : { execution_ms: runMs }),
    });
    publishJobState(this.#deps.bus, done.job, done.outputs);
    return { type: 'completed' };
  }

  /**
   * Moves to a phase. Written now when the last phase write is older than the interval, else
   * once it is (unless superseded or the attempt ended). False when the store refused (lease
   * lost).
   */
  async #setPhase(phase: JobPhase): Promise<boolean> {
    if (this.#phase === phase) return true;
    this.#phase = phase;
    this.#progress.phase = phase;
    const wait = this.#lastPhaseWrite + this.#phaseInterval - Date.now();
    if (wait <= 0) return this.#writePhase();
    if (this.#phaseTimer === undefined) {
      this.#phaseTimer = setTimeout(() => {
        this.#phaseTimer = undefined;
        this.#writePhase().catch(() => undefined);
      }, wait);
      this.#phaseTimer.unref();
    }
    return true;
  }

  /** The attempt is about to end: no phase write any more. */
  #endPhases(): void {
    this.#ended = true;
    clearTimeout(this.#phaseTimer);
    this.#phaseTimer = undefined;
  }

  async #writePhase(): Promise<boolean> {
    const phase = this.#phase;
    if (this.#ended || phase === null || phase === this.#phaseWritten) return true;
    this.#phaseWritten = phase;
    this.#lastPhaseWrite = Date.now();
    const ok = await this.#deps.jobs.setPhase(this.lease, phase);
    if (ok) {
      this.#deps.bus?.publish('job.status', {
        job: { ...this.job, status: 'processing', phase, updated_at: this.#lastPhaseWrite },
      });
    }
    return ok;
  }

  async #requeue(
    error: JobErrorInput,
    exclude: boolean,
    oomVramFree?: number | null,
  ): Promise<RunOutcome> {
    this.#endPhases();
    await this.#progress.flush();
    const r = await this.#deps.jobs.requeue(this.lease, error, { exclude });
    if (!r.ok) return { type: 'stale' };
    publishJobState(this.#deps.bus, r.job);
    if (r.outcome === 'failed') return { type: 'failed' };
    return oomVramFree === undefined
      ? { type: 'requeued', job: r.job }
      : { type: 'requeued', job: r.job, oom_vram_free: oomVramFree };
  }

  async #fail(error: JobErrorInput): Promise<RunOutcome> {
    this.#endPhases();
    await this.#progress.flush();
    const r = await this.#deps.jobs.fail(this.lease, error);
    if (!r.ok) return { type: 'stale' };
    publishJobState(this.#deps.bus, r.job);
    return { type: 'failed' };
  }

  async #markCancelled(): Promise<RunOutcome> {
    this.#endPhases();
    await this.#progress.flush();
    const r = await this.#deps.jobs.markCancelled(this.lease);
    if (!r.ok) return { type: 'stale' };
    publishJobState(this.#deps.bus, r.job);
    return { type: 'cancelled' };
  }
}
