import {
  ComfyAbortError,
  ComfyError,
  ComfyValidationError,
  type ExecutionErrorData,
} from '../../comfy/index.js';
import type { JobErrorInput } from '../../jobs/index.js';

/**
 * How a failure of one attempt is handled:
 * - `instance`: not the workflow's fault (unreachable, dropped, refused, stalled) → requeue with
 *   the instance excluded, and tell the breaker;
 * - `job`: the workflow's fault (rejected by validation, a node raised) → fail, no retry;
 * - `aborted`: we stopped it ourselves (shutdown, cancel): the caller decides.
 */
export type FailureKind = 'instance' | 'job' | 'aborted';

/** Stable error codes the runner records. */
export const RUNNER_ERROR_CODES = {
  executionError: 'execution_error',
  outOfMemory: 'out_of_memory',
  workflowInvalid: 'workflow_invalid',
  jobTimeout: 'job_timeout',
  stalled: 'instance_stalled',
  unreachable: 'instance_unreachable',
  promptLost: 'prompt_lost',
  refused: 'dispatch_refused',
  interrupted: 'interrupted',
  instanceGone: 'instance_gone',
  inputMissing: 'input_missing',
  collectFailed: 'collect_failed',
} as const;

/**
 * Whether a node's error is the GPU running out of memory (retried on an instance with more
 * free VRAM instead of failing the job).
 *
 * @example
 * isOutOfMemory({ exception_type: 'torch.OutOfMemoryError', exception_message: 'CUDA out of memory' }); // true
 */
export function isOutOfMemory(
  error: Pick<ExecutionErrorData, 'exception_type' | 'exception_message'>,
): boolean {
  return (
    /OutOfMemory/i.test(error.exception_type ?? '') ||
    /out of memory/i.test(error.exception_message ?? '')
  );
}

/**
 * A node's `execution_error` as the job's error: node id and class, ComfyUI's exception type and
 * message, the traceback in details.
 *
 * @example
 * await jobs.fail(lease, executionError(data));
 */
export function executionError(data: Partial<ExecutionErrorData>): JobErrorInput {
  const oom = isOutOfMemory({
    exception_type: data.exception_type ?? '',
    exception_message: data.exception_message ?? '',
  });
  const where = data.node_id ? ` in node ${data.node_id} (${data.node_type ?? '?'})` : '';
  return {
    code: oom ? RUNNER_ERROR_CODES.outOfMemory : RUNNER_ERROR_CODES.executionError,
    message: `${data.exception_type ?? 'Error'}${where}: ${(data.exception_message ?? 'failed').trim()}`,
    node_id: data.node_id ?? null,
    node_class: data.node_type ?? null,
    exception_type: data.exception_type ?? null,
    exception_message: data.exception_message ?? null,
    details: Array.isArray(data.traceback) ? { traceback: data.traceback } : null,
  };
}

/**
 * Classifies an error thrown while uploading inputs or posting the prompt.
 *
 * @example
 * if (classifyDispatchError(err) === 'instance') await requeue(...);
 */
export function classifyDispatchError(err: unknown): FailureKind {
  if (err instanceof ComfyAbortError) return 'aborted';
  if (err instanceof ComfyValidationError) return 'job';
  // Unreachable, timeouts, 5xx, not-ComfyUI answers, closed clients: the instance's trouble.
  if (err instanceof ComfyError) return 'instance';
  return 'job';
}

/**
 * The job error for a dispatch failure.
 *
 * @example
 * await jobs.requeue(lease, dispatchError(err));
 */
export function dispatchError(err: unknown): JobErrorInput {
  if (err instanceof ComfyValidationError) {
    return {
      code: RUNNER_ERROR_CODES.workflowInvalid,
      message: err.message,
      details: {
        error: err.response.error,
        node_errors: err.response.node_errors,
      } as unknown as Record<string, unknown>,
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof ComfyError) {
    const code =
      err.code === 'INSTANCE_UNREACHABLE' || err.code === 'INSTANCE_TIMEOUT'
        ? RUNNER_ERROR_CODES.unreachable
        : err.code === 'PROMPT_LOST'
          ? RUNNER_ERROR_CODES.promptLost
          : RUNNER_ERROR_CODES.refused;
    return { code, message, details: { comfy_code: err.code } };
  }
  return { code: RUNNER_ERROR_CODES.inputMissing, message };
}
