import type { Job, JobOutput, JobPhase, JobProgress, JobStatus } from '../../jobs/index.js';
import type { EventBus } from '../../store/index.js';

/** A progress tick of a processing job (no full job view: ticks are frequent). */
export interface JobProgressEvent {
  job_id: string;
  status: JobStatus;
  phase: JobPhase | null;
  instance_id: string | null;
  attempt: number;
  progress: JobProgress;
}

/**
 * Job events the dispatch layer publishes on the bus. Every payload but `job.progress` carries
 * the job as the store has it after the change. The store's own event log (`job_events`) records
 * the same transitions for replay (SSE `Last-Event-ID`).
 */
export type JobEvents = {
  'job.created': { job: Job };
  /** Status or phase changed (processing, back to pending, phase uploading → collecting). */
  'job.status': { job: Job };
  'job.progress': JobProgressEvent;
  'job.completed': { job: Job; outputs: JobOutput[] };
  'job.failed': { job: Job };
  'job.cancelled': { job: Job };
};

/**
 * Publishes the event that matches a job's status: completed, failed or cancelled for a
 * finished job, `job.status` otherwise.
 *
 * @example
 * publishJobState(bus, job); // 'job.failed' when job.status === 'failed'
 */
export function publishJobState(
  bus: EventBus<JobEvents> | undefined,
  job: Job,
  outputs: JobOutput[] = [],
): void {
  if (!bus) return;
  if (job.status === 'completed') bus.publish('job.completed', { job, outputs });
  else if (job.status === 'failed') bus.publish('job.failed', { job });
  else if (job.status === 'cancelled') bus.publish('job.cancelled', { job });
  else bus.publish('job.status', { job });
}
