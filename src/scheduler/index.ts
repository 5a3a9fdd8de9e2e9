/**
 * scheduler/: the decision core of the global queue — job requirements, capability matching, the
 * waiting queue (priority, fair share, selectivity, FIFO), placement strategies with late binding,
 * run-time estimates, and a simulation to compare them. Pure logic: no I/O, no clock.
 *
 * @example
 * import { extractRequirements, ModelInputIndex, Scheduler, workflowShape } from './scheduler/index.js';
 * const index = ModelInputIndex.fromCapabilities(fleet.map((i) => i.capabilities));
 * const req = extractRequirements(prompt, index);
 * const scheduler = new Scheduler();
 * scheduler.enqueue({ id, owner, priority: 0, requirements: req, shape: workflowShape(prompt, index), submitted_at: Date.now() });
 * const decision = scheduler.nextAssignment(instances, Date.now());
 */

export { ModelInputIndex } from '../comfy/model-input-index.js';
export {
  comboOptions,
  isModelFolder,
  KNOWN_MODEL_INPUTS,
  looksLikeFile,
} from '../comfy/model-inputs.js';
export {
  type CannotRun,
  type CanRunResult,
  type CapabilityTarget,
  canRun,
  checkFleet,
  type FleetCheck,
} from './capability.js';
export * from './dispatch/index.js';
export { InvalidPromptError } from './errors.js';
export { type EstimatorOptions, RuntimeEstimator } from './estimator.js';
export { InstanceProjection } from './instance-projection.js';
export { JobClass } from './job-class.js';
export { type LinearProgram, type LpResult, solveLp } from './linear-program.js';
export {
  type BoundTerm,
  formatBound,
  type LowerBoundDetail,
  type LowerBoundOptions,
  lowerBound,
  lowerBoundDetail,
  unrelatedBound,
} from './lower-bound.js';
export {
  type ChooseContext,
  type ColdModels,
  chooseFree,
  coldModels,
  DEFAULT_MODEL_LOAD_MS,
  hasFreeSlot,
  isEligible,
  loadOf,
  modelLoadMs,
  oomCandidates,
} from './placement.js';
export { seededRandom } from './prng.js';
export type { QueueEntry } from './queue-lanes.js';
export { QueueScan, type ScanOptions } from './queue-scan.js';
export {
  type ExtractedRequirements,
  extractRequirements,
  requirementsKey,
} from './requirements.js';
export {
  DEFAULT_HOLD_TOLERANCE,
  DEFAULT_STRATEGY,
  Scheduler,
  type SchedulerOptions,
  type UnrunnableJob,
} from './scheduler.js';
export {
  compareStrategies,
  formatReport,
  type SimOptions,
  type SimPolicy,
  type SimReport,
  simulate,
} from './simulation.js';
export {
  type Assignment,
  type Decision,
  type Hold,
  type Idle,
  type InFlightJob,
  type InstanceCapabilities,
  type JobRequirements,
  type ModelRef,
  type ModelUse,
  modelKey,
  type PlacementConstraints,
  type RequirementOrigins,
  type SchedulerInstance,
  type SchedulerJob,
  STRATEGIES,
  type StrategyName,
} from './types.js';
export { WaitingQueue, type WaitingQueueOptions } from './waiting-queue.js';
export { promptWorkHint } from './work-hint.js';
export { workflowShape } from './workflow-shape.js';
export {
  standardWorkload,
  type Workload,
  type WorkloadInstance,
  type WorkloadJob,
  type WorkloadOptions,
} from './workload.js';
