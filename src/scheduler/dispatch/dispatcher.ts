import type {
  InputRepository,
  InputStore,
  Job,
  JobLease,
  JobRepository,
  OutputStore,
} from '../../jobs/index.js';
import type { EventBus, Unsubscribe } from '../../store/index.js';
import { InvalidPromptError } from '../errors.js';
import { Scheduler, type SchedulerOptions } from '../scheduler.js';
import type { SchedulerJob } from '../types.js';
import { type FleetMonitor, type FleetRegistry, FleetView } from './fleet-view.js';
import { type JobEvents, publishJobState } from './job-events.js';
import { JobRunner, type RunnerDeps, type RunnerOptions, type RunOutcome } from './job-runner.js';
import { type RecoveryAction, recoverJob, recoverProcessing } from './recovery.js';

/** A runner that lost track of its job (store error) hands it to recovery after this delay. */
const REATTACH_DELAY_MS = 5_000;

import { modelKeysOf, toSchedulerJob } from './scheduler-job.js';

/** Pending jobs read per page when the queue is rebuilt at start. */
const LOAD_PAGE = 1_000_000;

/** What a dispatcher is built from. */
export interface DispatcherOptions {
  jobs: JobRepository;
  inputs: InputRepository;
  inputStore: InputStore;
  outputStore: OutputStore;
  registry: FleetRegistry;
  monitor: FleetMonitor;
  /** Where job events go (the API's SSE, the dashboard). */
  bus?: EventBus<JobEvents>;
  /** A scheduler, or the options of a new one (strategy, estimator, ...). */
  scheduler?: Scheduler | SchedulerOptions;
  runner?: RunnerOptions;
  /** Re-attach jobs left processing at start. Default true. */
  recover?: boolean;
}

/** Counters for diagnostics and tests. */
export interface DispatcherCounters {
  waiting: number;
  running: number;
  dispatched: number;
  requeued: number;
  recovered: number;
}

/**
 * The dispatch loop: the global waiting queue (the scheduler's, an index over the pending jobs
 * of the store, rebuilt from it at start) and the runners of the jobs on instances. It asks the
 * scheduler for the next assignment whenever a job arrives, a slot frees, an instance changes
 * (registry and monitor events) or a hold's `recheck_at` passes; claims the job in the store
 * (compare-and-set) and starts its runner. An instance gets at most `max_concurrent + prefetch`
 * prompts; a paused one takes nothing new but finishes what it runs.
 *
 * `stop()` stops following instances without touching the jobs there: they stay `processing`
 * and the next `start()` re-attaches them by prompt_id (nothing is interrupted or run twice).
 *
 * @example
 * const dispatcher = new Dispatcher({ ...services, registry, monitor, bus });
 * await dispatcher.start(); // recovery, queue rebuilt from the store
 * dispatcher.enqueue(job); // after jobs.create
 * await dispatcher.stop();
 */
export class Dispatcher {
  readonly scheduler: Scheduler;
  readonly fleet: FleetView;
  readonly #o: DispatcherOptions;
  readonly #deps: RunnerDeps;
  readonly #runners = new Map<string, JobRunner>();
  readonly #launching = new Set<string>();
  readonly #cancelWanted = new Set<string>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #idleWaiters = new Set<() => void>();
  readonly #stallListeners = new Set<(instanceId: string, jobId: string) => void>();
  #subs: Unsubscribe[] = [];
  #pumpQueued = false;
  #holdTimer: NodeJS.Timeout | undefined;
  #state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  #counters = { dispatched: 0, requeued: 0, recovered: 0 };

  constructor(options: DispatcherOptions) {
    this.#o = options;
    this.scheduler =
      options.scheduler instanceof Scheduler
        ? options.scheduler
        : new Scheduler(options.scheduler ?? {});
    this.fleet = new FleetView(options.registry, options.monitor);
    this.#deps = {
      jobs: options.jobs,
      inputs: options.inputs,
      inputStore: options.inputStore,
      outputStore: options.outputStore,
      monitor: options.monitor,
      estimator: this.scheduler.estimator,
      bus: options.bus,
      pathMap: (id) => this.fleet.pathMap(id),
      ...(options.runner ? { options: options.runner } : {}),
    };
  }

  /** Recovers jobs left processing, rebuilds the queue from the store, starts dispatching. */
  async start(): Promise<void> {
    if (this.#state !== 'new') return;
    this.#state = 'starting';
    const fleetBus = this.#o.registry.bus;
    const healthBus = this.#o.monitor.bus;
    const fleetChanged = () => {
      this.fleet.refresh();
      this.#failUnrunnable();
      this.kick();
    };
    this.#subs = [
      fleetBus.subscribe('instance.added', fleetChanged),
      fleetBus.subscribe('instance.changed', fleetChanged),
      fleetBus.subscribe('instance.removed', fleetChanged),
      fleetBus.subscribe('instance.status', fleetChanged),
      fleetBus.subscribe('instance.active', fleetChanged),
      healthBus.subscribe('instance.health', (p) => {
        this.fleet.healthChanged(p.id);
        this.kick();
      }),
      healthBus.subscribe('instance.capabilities', () => {
        this.#failUnrunnable();
        this.kick();
      }),
    ];
    this.fleet.refresh();
    if (this.#o.recover !== false) {
      const actions = await recoverProcessing({
        jobs: this.#o.jobs,
        monitor: this.#o.monitor,
        hasInstance: (id) => this.fleet.has(id),
        bus: this.#o.bus,
      });
      for (const a of actions) this.#recovered(a);
    }
    await this.#loadPending();
    this.#state = 'running';
    this.kick();
  }

  /**
   * Stops dispatching and following: runners detach (their jobs stay processing, re-attached at
   * the next start), bookkeeping in flight is awaited. Waiting jobs stay pending in the store.
   */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    for (const off of this.#subs) off();
    this.#subs = [];
    clearTimeout(this.#holdTimer);
    for (const runner of this.#runners.values()) runner.detach();
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
  }

  /**
   * Calls `listener(instanceId, jobId)` after a job's runner stalled on an instance (no event for
   * the stall timeout) and the job was requeued or failed; the gateway restarts a managed
   * instance from there. Returns the unsubscribe function.
   *
   * @example
   * dispatcher.onInstanceStalled((id) => escalation.instanceStalled(id));
   */
  onInstanceStalled(listener: (instanceId: string, jobId: string) => void): () => void {
    this.#stallListeners.add(listener);
    return () => this.#stallListeners.delete(listener);
  }

  /** Counters: waiting jobs, jobs on instances, totals. */
  counters(): DispatcherCounters {
    return {
      waiting: this.scheduler.queue.size,
      running: this.#tasks.size,
      ...this.#counters,
    };
  }

  /**
   * Adds a pending job of the store to the waiting queue (after `jobs.create`, `retry`, or a
   * requeue). A workflow that is not an API-format prompt fails at once. Returns false when it
   * could not be queued.
   */
  enqueue(job: Job, extra: { oom_vram_free?: number | null } = {}): boolean {
    if (job.status !== 'pending' || this.#state === 'stopped') return false;
    let sjob: SchedulerJob;
    try {
      sjob = toSchedulerJob(job, this.fleet.modelIndex(), this.fleet.activeId(), extra);
    } catch (err) {
      if (!(err instanceof InvalidPromptError)) throw err;
      this.#track(
        this.#o.jobs
          .failPending(job.id, { code: 'workflow_invalid', message: err.message })
          .then((r) => {
            if (r.ok) publishJobState(this.#o.bus, r.job);
          }),
      );
      return false;
    }
    this.scheduler.enqueue(sjob);
    this.kick();
    return true;
  }

  /** A pending job was cancelled in the store: drop it from the waiting queue. */
  dropWaiting(jobId: string): boolean {
    return this.scheduler.cancel(jobId);
  }

  /**
   * A cancel was requested for a processing job: its runner removes it from the instance's
   * queue or interrupts it, then marks it cancelled. False when this dispatcher does not run it.
   */
  requestCancel(jobId: string): boolean {
    const runner = this.#runners.get(jobId);
    if (runner) {
      runner.cancel();
      return true;
    }
    if (this.#launching.has(jobId)) {
      this.#cancelWanted.add(jobId);
      return true;
    }
    return false;
  }

  /** Expected seconds to completion of a waiting job (null when not waiting or unplaceable). */
  estimateCompletionSeconds(jobId: string): number | null {
    return this.scheduler.estimateCompletionSeconds(jobId, this.fleet.instances(), Date.now());
  }

  /** Resolves when nothing waits and nothing runs (tests, benchmarks). */
  idle(): Promise<void> {
    if (this.scheduler.queue.size === 0 && this.#tasks.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.add(resolve));
  }

  /** Asks the scheduler again soon (coalesced). */
  kick(): void {
    if (this.#pumpQueued || this.#state !== 'running') return;
    this.#pumpQueued = true;
    setImmediate(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#state !== 'running') return;
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    const instances = this.fleet.instances();
    for (;;) {
      const now = Date.now();
      const d = this.scheduler.nextAssignment(instances, now);
      if (d.type === 'hold') {
        this.#holdTimer = setTimeout(() => this.kick(), Math.max(1, d.recheck_at - now));
        this.#holdTimer.unref();
      }
      if (d.type !== 'assign') break;
      const models = modelKeysOf(d.job);
      this.fleet.addInFlight(
        d.instance_id,
        { job_id: d.job.id, owner: d.job.owner, shape: d.job.shape, started_at: null },
        models,
      );
      const inst = instances.find((i) => i.id === d.instance_id);
      if (inst) inst.loaded_models = this.fleet.loadedModels(d.instance_id);
      this.#counters.dispatched++;
      this.#track(this.#launch(d.job, d.instance_id));
    }
    this.#checkIdle();
  }

  #track(task: Promise<void>): void {
    const t = task
      .catch(() => undefined)
      .finally(() => {
        this.#tasks.delete(t);
        this.#checkIdle();
      });
    this.#tasks.add(t);
  }

  #checkIdle(): void {
    if (this.#idleWaiters.size === 0) return;
    if (this.scheduler.queue.size > 0 || this.#tasks.size > 0) return;
    for (const resolve of [...this.#idleWaiters]) resolve();
    this.#idleWaiters.clear();
  }

  async #launch(sjob: SchedulerJob, instanceId: string): Promise<void> {
    this.#launching.add(sjob.id);
    let lease: JobLease | undefined;
    let job: Job | undefined;
    try {
      const claimed = await this.#o.jobs.claimJob(sjob.id, instanceId);
      lease = claimed?.lease;
      job = claimed?.job;
    } finally {
      this.#launching.delete(sjob.id);
    }
    if (!lease || !job) {
      // Cancelled or claimed elsewhere meanwhile.
      this.#cancelWanted.delete(sjob.id);
      this.fleet.removeInFlight(instanceId, sjob.id);
      this.kick();
      return;
    }
    this.#o.bus?.publish('job.status', { job });
    await this.#runJob(job, lease, sjob.shape, false);
  }

  /** Follows a job already on an instance (recovery). */
  #attach(job: Job, lease: JobLease, running: boolean): void {
    let shape = '';
    let models: string[] = [];
    try {
      const sjob = toSchedulerJob(job, this.fleet.modelIndex(), this.fleet.activeId());
      shape = sjob.shape;
      models = modelKeysOf(sjob);
    } catch {
      // An unreadable workflow could not have been dispatched; keep following anyway.
    }
    this.fleet.addInFlight(
      lease.instance_id,
      { job_id: job.id, owner: job.owner ?? '', shape, started_at: running ? Date.now() : null },
      models,
    );
    this.#track(this.#runJob(job, lease, shape, true));
  }

  async #runJob(job: Job, lease: JobLease, shape: string, attach: boolean): Promise<void> {
    const instanceId = lease.instance_id;
    const runner = new JobRunner(this.#deps, lease, job, {
      shape,
      attach,
      onStarted: (at) => this.fleet.markStarted(instanceId, job.id, at),
    });
    this.#runners.set(job.id, runner);
    if (this.#cancelWanted.delete(job.id) || job.cancel_requested) runner.cancel();
    let outcome: RunOutcome;
    try {
      outcome = await runner.run();
    } finally {
      this.#runners.delete(job.id);
      this.fleet.removeInFlight(instanceId, job.id);
    }
    if (runner.stalled) {
      for (const listener of this.#stallListeners) {
        try {
          listener(instanceId, job.id);
        } catch {
          // a listener's failure is its own; dispatching goes on
        }
      }
    }
    if (outcome.type === 'detached' && this.#state === 'running') {
      this.#reattachLater(job.id, lease.attempt);
    }
    if (outcome.type === 'requeued') {
      this.#counters.requeued++;
      this.enqueue(
        outcome.job,
        outcome.oom_vram_free === undefined ? {} : { oom_vram_free: outcome.oom_vram_free },
      );
    }
    this.kick();
  }

  #recovered(a: RecoveryAction): void {
    if (a.type === 'attach') {
      this.#counters.recovered++;
      this.#attach(a.job, a.lease, a.state === 'running');
    } else if (a.type === 'requeued' && this.#state === 'running') {
      this.enqueue(a.job);
    }
  }

  /** Hands a job whose runner gave up on bookkeeping to recovery, after a pause. */
  #reattachLater(jobId: string, attempt: number): void {
    const timer = setTimeout(() => {
      if (this.#state !== 'running') return;
      this.#track(
        (async () => {
          const job = await this.#o.jobs.get(jobId);
          if (job?.status !== 'processing' || job.attempts !== attempt) return;
          const action = await recoverJob(
            {
              jobs: this.#o.jobs,
              monitor: this.#o.monitor,
              hasInstance: (id) => this.fleet.has(id),
              bus: this.#o.bus,
            },
            job,
          );
          this.#recovered(action);
        })(),
      );
    }, REATTACH_DELAY_MS);
    timer.unref();
  }

  async #loadPending(): Promise<void> {
    const pending = await this.#o.jobs.listPending(LOAD_PAGE);
    const index = this.fleet.modelIndex();
    const active = this.fleet.activeId();
    for (const job of pending) {
      if (this.scheduler.queue.has(job.id)) continue;
      try {
        this.scheduler.enqueue(toSchedulerJob(job, index, active));
      } catch (err) {
        if (!(err instanceof InvalidPromptError)) throw err;
        const r = await this.#o.jobs.failPending(job.id, {
          code: 'workflow_invalid',
          message: err.message,
        });
        if (r.ok) publishJobState(this.#o.bus, r.job);
      }
    }
  }

  /** Fails waiting jobs no instance of the fleet could run any more (once every list is known). */
  #failUnrunnable(): void {
    if (this.#state !== 'running' || !this.fleet.capabilitiesKnown()) return;
    const stranded = this.scheduler.unrunnable(this.fleet.instances());
    for (const { job, check } of stranded) {
      this.scheduler.cancel(job.id);
      this.#track(
        this.#o.jobs
          .failPending(job.id, {
            code: 'no_capable_instance',
            message: check.reason ?? 'no instance can run this job',
            details: {
              missing_nodes: check.missing_nodes,
              missing_models: check.missing_models,
              missing_tags: check.missing_tags,
            },
          })
          .then((r) => {
            if (r.ok) publishJobState(this.#o.bus, r.job);
          }),
      );
    }
  }
}
