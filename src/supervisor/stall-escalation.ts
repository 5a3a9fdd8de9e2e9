/** What {@link StallEscalation} decided for one stalled job. */
export type StallDecision = 'restarting' | 'not_managed' | 'recently_restarted' | 'busy';

export interface StallEscalationOptions {
  /** Whether the instance is a managed one this gateway runs, in `running` state. */
  isRestartable(instanceId: string): boolean;
  /** Restarts it (FleetBridge.restart fits); a rejection is logged, not thrown. */
  restart(instanceId: string, reason: string): Promise<void>;
  /** At most one restart per instance within this period. Default 10 minutes. */
  minIntervalMs?: number;
  /** Where decisions go (a pino logger's methods fit). */
  log?: {
    warn(fields: object, message: string): void;
    error(fields: object, message: string): void;
  };
  /** ms since epoch (default Date.now). */
  clock?: () => number;
}

/**
 * Turns "a job's runner stalled on instance X" into a restart of X when X is a managed instance:
 * at most once per `minIntervalMs` per instance, never while a restart of it is under way, and
 * never for remote instances (nothing here can restart those).
 *
 * @example
 * const escalation = new StallEscalation({
 *   isRestartable: (id) => registry.get(id)?.kind === 'managed' && supervisor.get(id) !== undefined,
 *   restart: (id, reason) => bridge.restart(id, reason),
 * });
 * dispatcher.onInstanceStalled((instanceId, jobId) => escalation.instanceStalled(instanceId, jobId));
 */
export class StallEscalation {
  readonly #o: StallEscalationOptions;
  readonly #minInterval: number;
  readonly #clock: () => number;
  readonly #last = new Map<string, number>();
  readonly #running = new Map<string, Promise<void>>();

  constructor(options: StallEscalationOptions) {
    this.#o = options;
    this.#minInterval = options.minIntervalMs ?? 10 * 60_000;
    this.#clock = options.clock ?? Date.now;
  }

  /** A job stalled on `instanceId` (and was requeued or failed); restarts the instance if due. */
  instanceStalled(instanceId: string, jobId: string): StallDecision {
    if (!this.#o.isRestartable(instanceId)) return 'not_managed';
    if (this.#running.has(instanceId)) return 'busy';
    const now = this.#clock();
    const last = this.#last.get(instanceId);
    if (last !== undefined && now - last < this.#minInterval) {
      this.#o.log?.warn(
        { instance_id: instanceId, job_id: jobId, last_restart: new Date(last).toISOString() },
        'job stalled on a managed instance restarted recently: not restarting it again yet',
      );
      return 'recently_restarted';
    }
    this.#last.set(instanceId, now);
    const reason = `job ${jobId} stalled (no events from the instance)`;
    this.#o.log?.warn(
      { instance_id: instanceId, job_id: jobId },
      'job stalled on a managed instance: restarting it',
    );
    const run = this.#o
      .restart(instanceId, reason)
      .catch((error: unknown) => {
        this.#o.log?.error(
          { instance_id: instanceId, job_id: jobId, err: error },
          'restart after a stalled job failed',
        );
      })
      .finally(() => this.#running.delete(instanceId));
    this.#running.set(instanceId, run);
    return 'restarting';
  }

  /** Resolves once every restart under way has ended (shutdown, tests). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#running.values()]);
  }
}
