import {
  ComfyError,
  ComfyHttpError,
  ComfyNotComfyError,
  ComfyTimeoutError,
  ComfyUnreachableError,
  ComfyValidationError,
  isInstanceFailure,
} from '../../comfy/index.js';
import type { ConnectionFailureKind } from '../health-types.js';

/** One failure in the user's terms: what kind, the message, and the HTTP status when there was one. */
export interface ClassifiedFailure {
  kind: ConnectionFailureKind;
  message: string;
  status?: number;
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NODATA', 'EAI_NONAME', 'EAI_FAIL']);
const REFUSED_CODES = new Set(['ECONNREFUSED']);
// Node's TLS/OpenSSL codes; the same families the ComfyUI client recognises.
const TLS_CODE =
  /^(ERR_TLS_|ERR_SSL_|CERT_|EPROTO$|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|HOSTNAME_MISMATCH)/;

/**
 * Sorts an error from the ComfyUI client into `dns | refused | timeout | tls | http_status |
 * not_comfyui | network`, keeping its message (which never contains credentials).
 *
 * @example
 * try { await client.getSystemStats(); }
 * catch (err) { const { kind, message } = classifyFailure(err); log.warn({ kind }, message); }
 */
export function classifyFailure(err: unknown): ClassifiedFailure {
  if (err instanceof ComfyTimeoutError) return { kind: 'timeout', message: err.message };
  if (err instanceof ComfyUnreachableError) {
    const code = err.causeCode ?? '';
    if (DNS_CODES.has(code)) return { kind: 'dns', message: err.message };
    if (REFUSED_CODES.has(code)) return { kind: 'refused', message: err.message };
    if (TLS_CODE.test(code)) return { kind: 'tls', message: err.message };
    return { kind: 'network', message: err.message };
  }
  if (err instanceof ComfyNotComfyError) {
    return { kind: 'not_comfyui', message: err.message, status: err.status };
  }
  if (err instanceof ComfyHttpError && err.status === 404) {
    // No /system_stats route: some other web server (or a reverse-proxy prefix is missing).
    return {
      kind: 'not_comfyui',
      message: `${err.message} (answers, but has no ComfyUI route there: not ComfyUI, or a proxy path prefix is missing)`,
      status: 404,
    };
  }
  if (err instanceof ComfyHttpError) {
    const hint =
      err.status === 401 || err.status === 403
        ? ' (the instance or a proxy in front of it wants credentials: check auth)'
        : '';
    return { kind: 'http_status', message: `${err.message}${hint}`, status: err.status };
  }
  if (err instanceof ComfyError) return { kind: 'network', message: err.message };
  return { kind: 'network', message: err instanceof Error ? err.message : String(err) };
}

/**
 * Whether a failed dispatch counts toward the instance's circuit breaker: it did not answer
 * (down, reset, TLS, timeout), or it answered POST /prompt with a 5xx (refusing dispatch).
 * A workflow it rejected (400 with node_errors) and other 4xx answers are the caller's problem.
 * Errors that are not ComfyUI client errors are decided by the caller (the monitor counts them).
 *
 * @example
 * if (countsAgainstInstance(err)) breaker.recordFailure();
 */
export function countsAgainstInstance(err: unknown): boolean {
  if (isInstanceFailure(err)) return true;
  if (err instanceof ComfyValidationError) return false;
  return err instanceof ComfyHttpError && err.status >= 500;
}
