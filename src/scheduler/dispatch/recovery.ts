import type { PromptState } from '../../comfy/index.js';
import { countsAgainstInstance } from '../../fleet/health/index.js';
import type { Job, JobLease, JobRepository } from '../../jobs/index.js';
import type { EventBus } from '../../store/index.js';
import { dispatchError, RUNNER_ERROR_CODES } from './failure.js';
import type { FleetMonitor } from './fleet-view.js';
import { type JobEvents, publishJobState } from './job-events.js';

/** What recovery decided for one job left processing. */
export type RecoveryAction =
  /** On the instance (pending, running or finished there): follow it / collect its outputs. */
  | { type: 'attach'; job: Job; lease: JobLease; state: PromptState['state'] }
  /** Unknown there, or the instance is gone: back to pending (or failed when out of attempts). */
  | { type: 'requeued'; job: Job }
  | { type: 'failed'; job: Job }
  /** Someone else changed it meanwhile. */
  | { type: 'skipped'; job_id: string };

/** What recovery needs. */
export interface RecoveryDeps {
  jobs: JobRepository;
  monitor: FleetMonitor;
  /** Whether the registry still has the instance. */
  hasInstance: (id: string) => boolean;
  bus?: EventBus<JobEvents> | undefined;
  /** Instances asked at once. Default 8. */
  concurrency?: number;
}

/** The lease of a processing job's current attempt, as stored. */
export function leaseOf(job: Job): JobLease | undefined {
  if (job.status !== 'processing' || job.instance_id === null) return undefined;
  return { job_id: job.id, attempt: job.attempts, instance_id: job.instance_id };
}

/**
 * Crash recovery at start: every job left `processing` is looked up on its instance by
 * prompt_id (= job id). Pending, running or finished there → `attach` (the runner follows it,
 * or collects the outputs of a finished prompt: never run twice). Unknown there, instance
 * removed or not monitored → requeued (excluded only when the instance did not answer).
 * Idempotent: every write is a compare-and-set on the stored attempt, and outputs are written
 * under the attempt's own folder, so a second recovery never duplicates anything.
 *
 * @example
 * for (const a of await recoverProcessing({ jobs, monitor, hasInstance: (id) => !!registry.get(id) })) {
 *   if (a.type === 'attach') dispatcher.attach(a.job, a.lease);
 * }
 */
export async function recoverProcessing(deps: RecoveryDeps): Promise<RecoveryAction[]> {
  const jobs = await deps.jobs.listProcessing();
  const out: RecoveryAction[] = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      if (job) out.push(await recoverJob(deps, job));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, deps.concurrency ?? 8) }, worker));
  return out;
}

/**
 * Recovery of one processing job (see {@link recoverProcessing}); also used when a runner lost
 * track of its job (a store error mid-attempt).
 *
 * @example
 * const action = await recoverJob(deps, job);
 */
export async function recoverJob(deps: RecoveryDeps, job: Job): Promise<RecoveryAction> {
  const lease = leaseOf(job);
  if (!lease) return { type: 'skipped', job_id: job.id };
  const requeue = async (
    error: { code: string; message: string },
    exclude: boolean,
  ): Promise<RecoveryAction> => {
    const r = await deps.jobs.requeue(lease, error, { exclude });
    if (!r.ok) return { type: 'skipped', job_id: job.id };
    publishJobState(deps.bus, r.job);
    return r.outcome === 'failed'
      ? { type: 'failed', job: r.job }
      : { type: 'requeued', job: r.job };
  };
  const handle = deps.hasInstance(lease.instance_id)
    ? deps.monitor.connectionFor(lease.instance_id)
    : undefined;
  if (!handle) {
    return requeue(
      {
        code: RUNNER_ERROR_CODES.instanceGone,
        message: `instance ${lease.instance_id} is gone or not monitored (gateway restart)`,
      },
      false,
    );
  }
  let state: PromptState;
  try {
    state = await handle.client.getPromptState(job.id);
  } catch (err) {
    // Down, timed out or 5xx (the breaker's rule): reported and excluded; any other answer
    // (4xx, not ComfyUI) says nothing about running the job there again.
    const trouble = countsAgainstInstance(err);
    if (trouble) deps.monitor.reportDispatchFailure(lease.instance_id, err);
    return requeue(dispatchError(err), trouble);
  }
  if (state.state === 'unknown') {
    return requeue(
      {
        code: RUNNER_ERROR_CODES.promptLost,
        message: `prompt ${job.id} is not known to ${lease.instance_id} (gateway restart)`,
      },
      false,
    );
  }
  return { type: 'attach', job, lease, state: state.state };
}
