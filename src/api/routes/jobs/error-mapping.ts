import { JobError, SubmissionInvalidError } from '../../../jobs/index.js';
import type { NormalizedError } from '../../errors.js';

const STATUS: Record<string, [number, string]> = {
  SUBMISSION_INVALID: [400, 'validation_failed'],
  WORKFLOW_INVALID: [400, 'workflow_invalid'],
  // Nobody in the fleet can run it now: a later fleet may (the seed answers 503).
  NO_CAPABLE_INSTANCE: [503, 'no_capable_instance'],
  JOB_NOT_FOUND: [404, 'job_not_found'],
  JOB_STATE_CONFLICT: [409, 'invalid_state'],
  QUERY_INVALID: [400, 'validation_failed'],
  TEMPLATE_NOT_FOUND: [404, 'template_not_found'],
  TEMPLATE_INVALID: [400, 'template_invalid'],
  TEMPLATE_PARAMS_INVALID: [400, 'validation_failed'],
  INPUT_INVALID: [400, 'input_invalid'],
  INPUT_NOT_FOUND: [400, 'input_not_found'],
  INPUT_TOO_LARGE: [413, 'payload_too_large'],
  OUTPUT_INVALID: [500, 'internal_error'],
  OUTPUT_TOO_LARGE: [502, 'instance_response_too_large'],
};

/**
 * Maps the jobs layer's errors to the API's error shape (`app.api.errors.addMapper`).
 *
 * @example
 * app.api.errors.addMapper(mapJobError);
 */
export function mapJobError(error: unknown): NormalizedError | undefined {
  if (!(error instanceof JobError)) return undefined;
  const [status, code] = STATUS[error.code] ?? [400, 'bad_request'];
  const details =
    error instanceof SubmissionInvalidError
      ? error.errors
      : Object.keys(error.details).length > 0
        ? error.details
        : null;
  return {
    status,
    code,
    message: error.message,
    details,
    internal: status >= 500 && status !== 503 && status !== 502,
  };
}
