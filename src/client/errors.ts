/**
 * Errors of the SDK. Every failed call rejects with a {@link ClusterError} (or a subclass); a call
 * aborted through its own `signal` rejects with the signal's reason (an `AbortError`) instead.
 */

/** Options of {@link ClusterError}. */
export interface ClusterErrorOptions {
  status?: number | null;
  details?: unknown;
  cause?: unknown;
}

/**
 * A call the gateway refused or that failed: `code` is the gateway's stable error code
 * (`not_found`, `validation_failed`, `invalid_state`, ...; `http_<status>` when the answer had no
 * error body), `status` the HTTP status (null when no answer came), `details` the error details
 * (field errors `[{path, message}]` for `validation_failed`).
 *
 * @example
 * try { await client.getJob('nope'); } catch (e) { if (e instanceof ClusterError && e.code === 'not_found') ... }
 */
export class ClusterError extends Error {
  readonly code: string;
  readonly status: number | null;
  readonly details?: unknown;

  constructor(code: string, message: string, options: ClusterErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ClusterError';
    this.code = code;
    this.status = options.status ?? null;
    if (options.details !== undefined) this.details = options.details;
  }
}

/**
 * Nothing answered at the gateway's address (refused, reset, DNS): code `gateway_unreachable`;
 * the network error is kept as `cause`.
 *
 * @example
 * catch (e) { if (e instanceof GatewayUnreachableError) console.error(e.message); }
 */
export class GatewayUnreachableError extends ClusterError {
  constructor(url: string, cause?: unknown) {
    super(
      'gateway_unreachable',
      `gateway not reachable at ${url} — is \`comfy-cluster serve\` running?`,
      cause === undefined ? {} : { cause },
    );
    this.name = 'GatewayUnreachableError';
  }
}

/**
 * 401 (no key, unknown or revoked key: code `unauthorized`) or 403 (the key's role may not do
 * that: code `forbidden`).
 *
 * @example
 * catch (e) { if (e instanceof AuthError && e.status === 401) askForKey(); }
 */
export class AuthError extends ClusterError {
  constructor(code: string, message: string, options: ClusterErrorOptions = {}) {
    super(code, message, options);
    this.name = 'AuthError';
  }
}

/**
 * A request (or a `wait`) took longer than allowed: code `timeout`.
 *
 * @example
 * await client.wait(id, { timeoutMs: 60_000 }).catch((e) => e instanceof ClusterTimeoutError);
 */
export class ClusterTimeoutError extends ClusterError {
  constructor(message: string, options: ClusterErrorOptions = {}) {
    super('timeout', message, options);
    this.name = 'ClusterTimeoutError';
  }
}

/**
 * The error of a non-2xx answer, from the gateway's `{error: {code, message, details}}` body
 * (ComfyUI's `{error: {type, message}}` and plain text are read too).
 *
 * @example
 * errorFromResponse(404, { error: { code: 'not_found', message: 'no job x', details: null } }, ''); // ClusterError not_found
 */
export function errorFromResponse(status: number, body: unknown, text: string): ClusterError {
  let code = `http_${status}`;
  let message = '';
  let details: unknown;
  if (body !== null && typeof body === 'object' && 'error' in body) {
    const e = (body as { error: unknown }).error;
    if (e !== null && typeof e === 'object') {
      const x = e as { code?: unknown; type?: unknown; message?: unknown; details?: unknown };
      if (typeof x.code === 'string') code = x.code;
      else if (typeof x.type === 'string') code = x.type;
      if (typeof x.message === 'string') message = x.message;
      details = x.details;
    } else if (typeof e === 'string') message = e;
  }
  if (message === '') {
    const t = text.trim();
    message =
      t !== '' && t.length < 300 && !t.startsWith('<') ? t : `the gateway answered HTTP ${status}`;
  }
  const options = { status, ...(details === undefined ? {} : { details }) };
  if (status === 401 || status === 403) return new AuthError(code, message, options);
  return new ClusterError(code, message, options);
}
