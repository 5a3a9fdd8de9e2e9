/**
 * The errors the ComfyUI client throws: one base class with a stable `code`, and one subclass per
 * failure a caller acts on differently (instance down, too slow, not ComfyUI at all, HTTP error,
 * workflow rejected, cancelled). Kept in one file on purpose: it is the module's error catalogue.
 *
 * Messages and fields never contain credentials: URLs are reported without userinfo or query.
 */
import type { JsonValue, NodeErrors, PromptErrorResponse, ValidationError } from './protocol.js';

/** Stable codes; the API layer maps them to its own catalogue (lower-cased in JSON). */
export type ComfyErrorCode =
  | 'INSTANCE_UNREACHABLE'
  | 'INSTANCE_TIMEOUT'
  | 'NOT_COMFYUI'
  | 'HTTP_ERROR'
  | 'WORKFLOW_INVALID'
  | 'ABORTED'
  | 'CLIENT_CLOSED'
  | 'RESPONSE_TOO_LARGE'
  | 'UNSUPPORTED'
  | 'PROMPT_LOST'
  | 'INVALID_ARGUMENT';

/**
 * Where a request was when it failed. `queued`: waiting for a free connection of this client's
 * pool; `connect`: opening TCP/TLS; `response`: request sent, waiting for the status line;
 * `body`: reading the response body. Only `queued` and `connect` guarantee the server never saw
 * the request.
 */
export type RequestPhase = 'queued' | 'connect' | 'response' | 'body';

export interface ComfyErrorOptions {
  cause?: unknown;
  /** Redacted URL of the request (no userinfo, no query). */
  url?: string;
  method?: string;
}

/**
 * Base class of every error thrown by this module.
 *
 * @example
 * try { await client.getQueue(); }
 * catch (err) { if (err instanceof ComfyError) log.warn({ code: err.code }, err.message); }
 */
export class ComfyError extends Error {
  readonly code: ComfyErrorCode;
  readonly url: string | undefined;
  readonly method: string | undefined;

  constructor(code: ComfyErrorCode, message: string, options: ComfyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ComfyError';
    this.code = code;
    this.url = options.url;
    this.method = options.method;
  }
}

/**
 * The instance could not be reached or dropped the connection: refused, DNS failure, reset,
 * TLS failure. `causeCode` is the system/TLS error code (ECONNREFUSED, ENOTFOUND, ECONNRESET,
 * DEPTH_ZERO_SELF_SIGNED_CERT, ...).
 *
 * @example
 * if (err instanceof ComfyUnreachableError && err.causeCode === 'ECONNREFUSED') markDown();
 */
export class ComfyUnreachableError extends ComfyError {
  readonly causeCode: string | undefined;
  readonly phase: RequestPhase;

  constructor(
    message: string,
    causeCode: string | undefined,
    phase: RequestPhase,
    options: ComfyErrorOptions = {},
  ) {
    super('INSTANCE_UNREACHABLE', message, options);
    this.name = 'ComfyUnreachableError';
    this.causeCode = causeCode;
    this.phase = phase;
  }
}

/**
 * No answer in time. `phase` says which part was too slow (see RequestPhase; `prompt` is used by
 * waitForPrompt when the whole prompt took too long).
 *
 * @example
 * if (err instanceof ComfyTimeoutError && err.phase === 'connect') markDown();
 */
export class ComfyTimeoutError extends ComfyError {
  readonly phase: RequestPhase | 'prompt';
  readonly timeoutMs: number;

  constructor(
    message: string,
    phase: RequestPhase | 'prompt',
    timeoutMs: number,
    options: ComfyErrorOptions = {},
  ) {
    super('INSTANCE_TIMEOUT', message, options);
    this.name = 'ComfyTimeoutError';
    this.phase = phase;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Something answered, but not like ComfyUI: HTML, non-JSON, or JSON of the wrong shape.
 *
 * @example
 * if (err instanceof ComfyNotComfyError) log.error(`${err.url} is not ComfyUI: ${err.snippet}`);
 */
export class ComfyNotComfyError extends ComfyError {
  readonly status: number;
  readonly contentType: string | undefined;
  /** The first few hundred characters of the body, for diagnosis. */
  readonly snippet: string;

  constructor(
    message: string,
    status: number,
    contentType: string | undefined,
    snippet: string,
    options: ComfyErrorOptions = {},
  ) {
    super('NOT_COMFYUI', message, options);
    this.name = 'ComfyNotComfyError';
    this.status = status;
    this.contentType = contentType;
    this.snippet = snippet;
  }
}

/**
 * A non-success HTTP status. `body` is the response text (capped); `json` is set when it parsed.
 * ComfyUI answers bad JSON bodies with a 500 text page, and its bare 400/403/404 have empty bodies.
 *
 * @example
 * if (err instanceof ComfyHttpError && err.status === 413) shrinkUpload();
 */
export class ComfyHttpError extends ComfyError {
  readonly status: number;
  readonly body: string;
  readonly json: JsonValue | undefined;

  constructor(
    message: string,
    status: number,
    body: string,
    json: JsonValue | undefined,
    options: ComfyErrorOptions = {},
    code: ComfyErrorCode = 'HTTP_ERROR',
  ) {
    super(code, message, options);
    this.name = 'ComfyHttpError';
    this.status = status;
    this.body = body;
    this.json = json;
  }
}

/**
 * POST /prompt was rejected (400). `error` and `node_errors` are exactly what ComfyUI sent, so
 * the gateway can forward them unchanged.
 *
 * @example
 * catch (err) { if (err instanceof ComfyValidationError) reply.code(400).send(err.response); }
 */
export class ComfyValidationError extends ComfyHttpError {
  /** The parsed 400 body, untouched: `{ error, node_errors }`. */
  readonly response: PromptErrorResponse;

  constructor(response: PromptErrorResponse, body: string, options: ComfyErrorOptions = {}) {
    const detail = response.error.details ? `: ${response.error.details}` : '';
    super(
      `Workflow rejected (${response.error.type}) ${response.error.message}${detail}`,
      400,
      body,
      response as unknown as JsonValue,
      options,
      'WORKFLOW_INVALID',
    );
    this.name = 'ComfyValidationError';
    this.response = response;
  }

  get error(): ValidationError {
    return this.response.error;
  }

  get nodeErrors(): NodeErrors {
    return this.response.node_errors;
  }
}

/**
 * The caller's AbortSignal fired. `reason` is the signal's reason.
 *
 * @example
 * if (err instanceof ComfyAbortError) return; // we cancelled it ourselves
 */
export class ComfyAbortError extends ComfyError {
  readonly reason: unknown;

  constructor(reason: unknown, options: ComfyErrorOptions = {}) {
    super('ABORTED', 'Request aborted', options);
    this.name = 'ComfyAbortError';
    this.reason = reason;
  }
}

/**
 * A ComfyUI prompt disappeared from the instance: neither queued, running nor in history
 * (typically the instance restarted, or its history was cleared).
 *
 * @example
 * if (err instanceof ComfyPromptLostError) requeue(err.promptId);
 */
export class ComfyPromptLostError extends ComfyError {
  readonly promptId: string;

  constructor(promptId: string, options: ComfyErrorOptions = {}) {
    super(
      'PROMPT_LOST',
      `Prompt ${promptId} is neither queued, running nor in history on the instance`,
      options,
    );
    this.name = 'ComfyPromptLostError';
    this.promptId = promptId;
  }
}

/**
 * True for errors that mean "the instance did not answer" (down, reset, TLS, timeout), as opposed
 * to answers the caller did not like. A timeout while waiting for a free pooled connection is the
 * caller's own congestion, not the instance's fault.
 *
 * @example
 * if (isInstanceFailure(err)) breaker.recordFailure();
 */
export function isInstanceFailure(err: unknown): boolean {
  if (err instanceof ComfyUnreachableError) return true;
  return err instanceof ComfyTimeoutError && err.phase !== 'queued' && err.phase !== 'prompt';
}
