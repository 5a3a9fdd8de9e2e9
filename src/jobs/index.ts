/**
 * Jobs: the job model and its state machine, the durable job store (repositories over store/),
 * content-addressed input files and the output store, templates, submission intake with
 * validation against the fleet, and the helpers a runner calls around dispatch (input uploads,
 * output collection) and for retention.
 *
 * @example
 * import { createJobServices, installTemplates, submitJob } from './jobs/index.js';
 * const services = createJobServices(store, { dataDir });
 * await installTemplates(services.templates, { folder: templatesDir });
 * const accepted = await submitJob(body, { ...services, fleet });
 */
export {
  BUILTIN_TEMPLATES,
  REMOVE_BACKGROUND_TEMPLATE,
  UPSCALE_IMAGE_TEMPLATE,
} from './builtin-templates.js';
export {
  JobError,
  type JobErrorCode,
  type MissingCapabilities,
  type SubmissionFieldError,
  SubmissionInvalidError,
  WorkflowRejectedError,
} from './errors.js';
export {
  applyPathMap,
  GATEWAY_INPUT_SUBFOLDER,
  type InputPlan,
  type InputPlanInstance,
  type InputPlanJob,
  type PlannedUpload,
  prepareInputsForInstance,
  uploadedReference,
  uploadFileName,
  uploadInputs,
} from './input-planning.js';
export { type InputRecord, InputRepository, type UploadedInput } from './input-repository.js';
export {
  DEFAULT_MAX_INPUT_BYTES,
  decodeBase64Input,
  type InputData,
  InputStore,
  type StoredInput,
} from './input-store.js';
export { decodeJobCursor, encodeJobCursor, type JobListOrder } from './job-cursor.js';
export {
  canTransition,
  DEFAULT_JOB_TIMEOUT_MS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_RETENTION_DAYS,
  FINISHED_STATUSES,
  isFinished,
  JOB_PHASES,
  JOB_STATUSES,
  JOB_TRANSITIONS,
  type Job,
  type JobAttempt,
  JobAttemptSchema,
  type JobErrorInfo,
  JobErrorInfoSchema,
  type JobErrorInput,
  type JobInputSubmission,
  JobInputSubmissionSchema,
  type JobOutput,
  JobOutputSchema,
  type JobPhase,
  type JobProgress,
  JobProgressSchema,
  JobSchema,
  type JobStatus,
  type JobSubmission,
  type JobSubmissionInput,
  JobSubmissionSchema,
  PIN_ACTIVE,
} from './job-model.js';
export {
  type CancelResult,
  type CompleteResult,
  type CreateJobResult,
  type InstanceAttempt,
  type JobEvent,
  type JobInputRecord,
  type JobLease,
  type JobListQuery,
  type JobPage,
  JobRepository,
  type NewJob,
  type NewJobInput,
  type NewJobOutput,
  type ProgressUpdate,
  type RequeueResult,
  type TransitionResult,
} from './job-repository.js';
export { createJobServices, type JobServices, type JobServicesOptions } from './job-services.js';
export {
  type JobAcceptance,
  type JobDefaults,
  type JobIntake,
  type NormalizedJobInput,
  type NormalizedSubmission,
  normalizeSubmission,
  submitJob,
} from './job-submission.js';
export {
  type FleetCapabilitiesView,
  type FleetInstanceCapabilities,
  type InstanceCapabilities,
  type JobValidationInput,
  type JobValidationResult,
  type ModelUse,
  modelUses,
  validateJobForFleet,
} from './job-validation.js';
export { extensionForMime, mimeFromName, sniffMime } from './mime-sniff.js';
export {
  collectAndComplete,
  collectOutputs,
  type DownloadOutputsOptions,
  downloadOutputs,
  type OutputEntry,
  type OutputFileEntry,
  type OutputValueEntry,
} from './output-collection.js';
export { DEFAULT_MAX_OUTPUT_BYTES, OutputStore, type SavedOutput } from './output-store.js';
export { type RetentionOptions, type RetentionReport, runRetention } from './retention.js';
export { fileNameProblem, resolveInside, safeFileName } from './safe-names.js';
export {
  installTemplates,
  readTemplateFolder,
  type TemplateFileProblem,
  type TemplateInstallReport,
} from './template-loader.js';
export {
  type BoundFile,
  type BoundTemplate,
  bindTemplate,
  TEMPLATE_PARAMETER_TYPES,
  TEMPLATE_SOURCES,
  type Template,
  type TemplateDefinition,
  TemplateDefinitionSchema,
  type TemplateParameter,
  TemplateParameterSchema,
  type TemplateParameterType,
  type TemplateProblem,
  type TemplateSource,
  type TemplateVariant,
  TemplateVariantSchema,
  templateProblems,
} from './template-model.js';
export { TemplateRepository } from './template-repository.js';
export {
  type StructureProblem,
  structureErrors,
  workflowStructureProblems,
} from './workflow-structure.js';
