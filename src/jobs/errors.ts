import type { NodeErrors, ValidationError } from '../comfy/index.js';

/** Stable error codes of the jobs layer (the API maps them to HTTP statuses). */
export type JobErrorCode =
  | 'SUBMISSION_INVALID'
  | 'WORKFLOW_INVALID'
  | 'NO_CAPABLE_INSTANCE'
  | 'JOB_NOT_FOUND'
  | 'JOB_STATE_CONFLICT'
  | 'QUERY_INVALID'
  | 'TEMPLATE_NOT_FOUND'
  | 'TEMPLATE_INVALID'
  | 'TEMPLATE_PARAMS_INVALID'
  | 'INPUT_INVALID'
  | 'INPUT_NOT_FOUND'
  | 'INPUT_TOO_LARGE'
  | 'OUTPUT_INVALID'
  | 'OUTPUT_TOO_LARGE';

/**
 * Base class of every error the jobs layer raises on purpose; `code` is stable, `details` is
 * JSON-serialisable.
 *
 * @example
 * try { await repo.complete(lease, outputs); } catch (e) { if (e instanceof JobError) log.warn(e.code); }
 */
export class JobError extends Error {
  readonly code: JobErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: JobErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'JobError';
    this.code = code;
    this.details = details;
  }
}

/** One field problem: where and what (`inputs[0].data`, `must be a data URL or base64`). */
export interface SubmissionFieldError {
  path: string;
  message: string;
}

/**
 * A job submission that does not match the model (shape, types, limits, workflow XOR template).
 *
 * @example
 * if (e instanceof SubmissionInvalidError) reply(400, { error: { code: 'submission_invalid', details: e.errors } });
 */
export class SubmissionInvalidError extends JobError {
  readonly errors: SubmissionFieldError[];

  constructor(errors: SubmissionFieldError[]) {
    const first = errors[0];
    super(
      'SUBMISSION_INVALID',
      first
        ? `invalid job: ${first.path ? `${first.path} ` : ''}${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`
        : 'invalid job',
      { errors },
    );
    this.name = 'SubmissionInvalidError';
    this.errors = errors;
  }
}

/** What no instance of the fleet has: node classes and model files (`folder/file`). */
export interface MissingCapabilities {
  node_classes: string[];
  models: Array<{ folder: string; file: string }>;
}

/**
 * The workflow fails validation on every instance that may take it: ComfyUI's own answer from the
 * closest instance (`error` + `node_errors`, as POST /prompt gives them) and what is missing across
 * the fleet. `code` is `WORKFLOW_INVALID`, or `NO_CAPABLE_INSTANCE` when the only problems are node
 * classes or model files no instance has (or no instance is eligible at all).
 *
 * @example
 * if (e instanceof WorkflowRejectedError) reply(400, { error: e.comfyError, node_errors: e.nodeErrors });
 */
export class WorkflowRejectedError extends JobError {
  readonly comfyError: ValidationError;
  readonly nodeErrors: NodeErrors;
  readonly missing: MissingCapabilities;
  /** The instance whose answer is shown (fewest errors), if any was checked. */
  readonly closestInstance: string | undefined;

  constructor(
    code: 'WORKFLOW_INVALID' | 'NO_CAPABLE_INSTANCE',
    message: string,
    comfyError: ValidationError,
    nodeErrors: NodeErrors,
    missing: MissingCapabilities,
    closestInstance: string | undefined,
  ) {
    super(code, message, {
      error: comfyError,
      node_errors: nodeErrors,
      missing,
      closest_instance: closestInstance ?? null,
    });
    this.name = 'WorkflowRejectedError';
    this.comfyError = comfyError;
    this.nodeErrors = nodeErrors;
    this.missing = missing;
    this.closestInstance = closestInstance;
  }
}
