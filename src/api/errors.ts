/**
 * The API's error catalogue: every stable error code the gateway answers with, its HTTP status
 * and default message. Answers look like
 * `{ "error": { "code": "instance_unreachable", "message": "...", "details": ... } }`.
 * Codes never change meaning; new ones are added here.
 */
import { ComfyError, ComfyHttpError, ComfyValidationError } from '../comfy/index.js';
import {
  type FieldError,
  FleetError,
  ImportRejectedError,
  InstanceValidationError,
} from '../fleet/index.js';

/** Code → HTTP status and the message used when the thrower gives none. */
export const API_ERRORS = {
  // 400
  validation_failed: { status: 400, message: 'the request is not valid' },
  invalid_json: { status: 400, message: 'the request body is not valid JSON' },
  bad_request: { status: 400, message: 'bad request' },
  import_rejected: { status: 400, message: 'import rejected, nothing was changed' },
  workflow_invalid: { status: 400, message: 'the workflow was rejected' },
  // 401 / 403
  unauthorized: {
    status: 401,
    message: 'an API key is required: send Authorization: Bearer <key>',
  },
  forbidden: { status: 403, message: 'this API key may not do that' },
  // 404 / 405 / 406 / 408
  not_found: { status: 404, message: 'not found' },
  instance_not_found: { status: 404, message: 'no such instance' },
  method_not_allowed: { status: 405, message: 'method not allowed' },
  not_acceptable: { status: 406, message: 'not acceptable' },
  request_timeout: { status: 408, message: 'the request took too long to arrive' },
  // 409
  conflict: { status: 409, message: 'conflict' },
  instance_read_only: { status: 409, message: 'the instance cannot be changed here' },
  invalid_state: { status: 409, message: 'not possible in the current state' },
  supervisor_unavailable: { status: 409, message: 'no supervisor runs local instances' },
  instance_not_monitored: { status: 409, message: 'the instance is not monitored' },
  not_managed: {
    status: 409,
    message: 'the instance is not managed by this gateway (it has no local log)',
  },
  // 413 / 414 / 415 / 429 / 431
  payload_too_large: { status: 413, message: 'the request body is too large' },
  uri_too_long: { status: 414, message: 'the URL is too long' },
  unsupported_media_type: { status: 415, message: 'unsupported content type' },
  rate_limited: { status: 429, message: 'too many requests; slow down' },
  headers_too_large: { status: 431, message: 'request headers too large' },
  // 5xx
  internal_error: { status: 500, message: 'internal error' },
  config_file_invalid: { status: 500, message: 'the config file cannot be read' },
  not_implemented: { status: 501, message: 'not implemented' },
  instance_unreachable: { status: 502, message: 'the ComfyUI instance could not be reached' },
  not_comfyui: { status: 502, message: 'the instance did not answer like ComfyUI' },
  instance_http_error: { status: 502, message: 'the ComfyUI instance answered with an error' },
  instance_response_too_large: { status: 502, message: 'the instance answer was too large' },
  instance_unsupported: { status: 502, message: 'the instance does not support this' },
  prompt_lost: { status: 502, message: 'the prompt disappeared from the instance' },
  service_unavailable: { status: 503, message: 'temporarily unavailable' },
  not_ready: { status: 503, message: 'the gateway is not ready' },
  instance_timeout: { status: 504, message: 'the ComfyUI instance did not answer in time' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ApiErrorCode = keyof typeof API_ERRORS;

/** The error body every native route answers with. */
export interface ApiErrorBody {
  error: { code: string; message: string; details: unknown };
}

/**
 * An error a route throws on purpose: a catalogue code, a message for the user, optional details.
 *
 * @example
 * throw new ApiError('instance_not_found', `no instance '${id}'`);
 * throw new ApiError('validation_failed', 'from must be before to', [{ path: 'query.from', message: '...' }]);
 */
export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly statusCode: number;
  readonly details: unknown;

  constructor(code: ApiErrorCode, message?: string, details: unknown = null) {
    super(message ?? API_ERRORS[code].message);
    this.name = 'ApiError';
    this.code = code;
    this.statusCode = API_ERRORS[code].status;
    this.details = details;
  }
}

/**
 * A validation failure with field errors (`path` like `port`, `query.from`, `instances[2].host`).
 *
 * @example
 * throw validationFailed([{ path: 'query.to', message: 'must be an ISO-8601 time' }]);
 */
export function validationFailed(errors: FieldError[], what = 'the request'): ApiError {
  const first = errors[0];
  const summary = first
    ? `${what} is not valid: ${first.path || '(body)'} ${first.message}${
        errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''
      }`
    : `${what} is not valid`;
  return new ApiError('validation_failed', summary, errors);
}

/** An error in API form, before it is rendered. */
export interface NormalizedError {
  status: number;
  code: string;
  message: string;
  details: unknown;
  /** True for unexpected failures: logged with the stack, answered without it. */
  internal: boolean;
}

/** Turns a thrown value into a {@link NormalizedError}, or leaves it to the next mapper. */
export type ErrorMapper = (error: unknown) => NormalizedError | undefined;

const FLEET_STATUS: Record<string, ApiErrorCode> = {
  validation_failed: 'validation_failed',
  instance_not_found: 'instance_not_found',
  instance_read_only: 'instance_read_only',
  invalid_state: 'invalid_state',
  supervisor_unavailable: 'supervisor_unavailable',
  config_file_invalid: 'config_file_invalid',
  import_rejected: 'import_rejected',
};

const COMFY_CODES: Record<string, ApiErrorCode> = {
  INSTANCE_UNREACHABLE: 'instance_unreachable',
  INSTANCE_TIMEOUT: 'instance_timeout',
  NOT_COMFYUI: 'not_comfyui',
  HTTP_ERROR: 'instance_http_error',
  WORKFLOW_INVALID: 'workflow_invalid',
  RESPONSE_TOO_LARGE: 'instance_response_too_large',
  UNSUPPORTED: 'instance_unsupported',
  PROMPT_LOST: 'prompt_lost',
  ABORTED: 'service_unavailable',
  CLIENT_CLOSED: 'service_unavailable',
};

// Fastify's and its plugins' own error codes.
const FASTIFY_CODES: Record<string, ApiErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_REQ_FILE_TOO_LARGE: 'payload_too_large',
  FST_PARTS_LIMIT: 'payload_too_large',
  FST_FILES_LIMIT: 'payload_too_large',
  FST_FIELDS_LIMIT: 'payload_too_large',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'unsupported_media_type',
  FST_PROTO_VIOLATION: 'invalid_json',
};

const STATUS_CODES: Record<number, ApiErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  431: 'headers_too_large',
};

function of(code: ApiErrorCode, message?: string, details: unknown = null): NormalizedError {
  const entry = API_ERRORS[code];
  return {
    status: entry.status,
    code,
    message: message ?? entry.message,
    details,
    internal: false,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object';
}

function mapFleet(error: FleetError): NormalizedError {
  const code = FLEET_STATUS[error.code] ?? 'bad_request';
  if (error instanceof InstanceValidationError) return of(code, error.message, error.errors);
  if (error instanceof ImportRejectedError) {
    return of(code, error.message, { errors: error.errors, instances: error.instances });
  }
  return of(code, error.message);
}

function mapComfy(error: ComfyError): NormalizedError {
  const code = COMFY_CODES[error.code];
  if (!code) return { ...of('internal_error'), internal: true };
  if (error instanceof ComfyValidationError) {
    return of(code, error.message, {
      error: error.response.error,
      node_errors: error.response.node_errors,
    });
  }
  if (error instanceof ComfyHttpError) return of(code, error.message, { status: error.status });
  return of(code, error.message);
}

/**
 * The built-in mapping: {@link ApiError}, fleet errors (their codes), ComfyUI client errors
 * (`INSTANCE_UNREACHABLE` → 502 `instance_unreachable`, `INSTANCE_TIMEOUT` → 504, ...), Fastify's
 * own errors (malformed JSON, body too large, validation) and any 4xx that carries a status.
 * Everything else is a 500 `internal_error`.
 *
 * @example
 * normalizeError(new ComfyTimeoutError('slow', 'response', 5000)); // { status: 504, code: 'instance_timeout', ... }
 */
export function normalizeError(
  error: unknown,
  mappers: readonly ErrorMapper[] = [],
): NormalizedError {
  if (error instanceof ApiError) return of(error.code, error.message, error.details);
  for (const map of mappers) {
    const mapped = map(error);
    if (mapped) return mapped;
  }
  if (error instanceof FleetError) return mapFleet(error);
  if (error instanceof ComfyError) return mapComfy(error);
  if (isRecord(error)) {
    const code = typeof error.code === 'string' ? error.code : undefined;
    const known = code === undefined ? undefined : FASTIFY_CODES[code];
    if (known) return of(known);
    if (code === 'FST_ERR_VALIDATION' && Array.isArray(error.validation)) {
      const where = typeof error.validationContext === 'string' ? error.validationContext : '';
      const fields = error.validation.map((v: unknown) => ajvFieldError(v, where));
      return of('validation_failed', validationFailed(fields).message, fields);
    }
    const status = typeof error.statusCode === 'number' ? error.statusCode : undefined;
    if (status !== undefined && status >= 400 && status < 500) {
      // A SyntaxError from the JSON parser carries a 400.
      if (error instanceof SyntaxError) return of('invalid_json');
      const mapped = STATUS_CODES[status] ?? 'bad_request';
      const message =
        typeof error.message === 'string' && error.message ? error.message : undefined;
      return { ...of(mapped, message), status };
    }
  }
  return { ...of('internal_error'), internal: true };
}

// Fastify's default (Ajv) errors, should a route bring its own validator.
function ajvFieldError(v: unknown, where: string): FieldError {
  const r = isRecord(v) ? v : {};
  const pointer = typeof r.instancePath === 'string' ? r.instancePath : '';
  const segments = pointer.split('/').filter((s) => s !== '');
  const prefix =
    where === 'body' || where === '' ? '' : `${where === 'querystring' ? 'query' : where}.`;
  return {
    path: `${prefix}${segments.join('.')}`.replace(/\.$/, ''),
    message: typeof r.message === 'string' ? r.message : 'is not valid',
  };
}
