/**
 * scheduler/dispatch: the dispatch loop joining the job store, the scheduler core, the fleet and
 * the ComfyUI client — the dispatcher (global queue with late binding), the per-job runner,
 * crash recovery, and the job service the HTTP API calls.
 *
 * @example
 * import { Dispatcher, JobService } from './scheduler/dispatch/index.js';
 * const dispatcher = new Dispatcher({ ...services, registry, monitor, bus });
 * await dispatcher.start();
 * const jobsApi = new JobService({ services, dispatcher, bus });
 * const { job, queue_position } = await jobsApi.submit({ workflow }, { owner: 'key-1' });
 */
export { Dispatcher, type DispatcherCounters, type DispatcherOptions } from './dispatcher.js';
export {
  classifyDispatchError,
  dispatchError,
  executionError,
  type FailureKind,
  isOutOfMemory,
  RUNNER_ERROR_CODES,
} from './failure.js';
export { type FleetMonitor, type FleetRegistry, FleetView } from './fleet-view.js';
export { type JobEvents, type JobProgressEvent, publishJobState } from './job-events.js';
export {
  JobRunner,
  type RunnerDeps,
  type RunnerOptions,
  type RunOutcome,
} from './job-runner.js';
export {
  JobService,
  type JobServiceOptions,
  type Principal,
  type SubmitResult,
  type WaitOptions,
} from './job-service.js';
export { DEFAULT_PROGRESS_INTERVAL_MS, ProgressWriter } from './progress-writer.js';
export {
  leaseOf,
  type RecoveryAction,
  type RecoveryDeps,
  recoverJob,
  recoverProcessing,
} from './recovery.js';
export { modelKeysOf, toSchedulerJob } from './scheduler-job.js';
