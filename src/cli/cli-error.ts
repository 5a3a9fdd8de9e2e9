/**
 * How the CLI ends on failure: one line on stderr naming what to do, and a documented exit code
 * (README): 0 ok, 1 the work failed, 2 usage, 3 gateway unreachable, 4 auth.
 */
import {
  AuthError,
  ClusterError,
  ClusterTimeoutError,
  GatewayUnreachableError,
} from '../client/index.js';

export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  unreachable: 3,
  auth: 4,
  /** Ctrl-C: 128 + SIGINT, as shells report it. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports as one line and a given exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** What an error message may name: the gateway address the command talked to. */
export interface ErrorContext {
  url?: string;
  /** Whether an API key was sent (it changes what a 401 means). */
  apiKey?: boolean;
}

/** Gateway answers that mean "what you asked for is malformed" rather than "it failed". */
const USAGE_STATUSES = new Set([400, 413, 422]);

/**
 * The exit code an error ends the CLI with: unreachable or timed-out gateway 3, refused key 4,
 * a request the gateway calls malformed 2, anything else 1.
 *
 * @example
 * exitCodeOf(new CliError('bad --param', ExitCode.usage)); // 2
 */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof GatewayUnreachableError || error instanceof ClusterTimeoutError) {
    return ExitCode.unreachable;
  }
  if (error instanceof AuthError) return ExitCode.auth;
  if (error instanceof ClusterError) {
    if (error.status === 401 || error.status === 403) return ExitCode.auth;
    if (error.status !== null && USAGE_STATUSES.has(error.status)) return ExitCode.usage;
    if (error.code === 'input_unreadable') return ExitCode.usage;
  }
  return ExitCode.failed;
}

/** Field errors of a `validation_failed` answer, as ` (path: message; ...)`, minus those `said` has. */
function fieldErrors(details: unknown, said: string): string {
  if (!Array.isArray(details)) return '';
  const parts = details
    .map((d: unknown) => {
      if (typeof d !== 'object' || d === null) return '';
      const { path, message } = d as { path?: unknown; message?: unknown };
      if (typeof message !== 'string' || said.includes(message)) return '';
      return typeof path === 'string' && path !== '' ? `${path}: ${message}` : message;
    })
    .filter((p) => p !== '');
  return parts.length === 0 ? '' : ` (${parts.slice(0, 5).join('; ')})`;
}

/**
 * The one line that explains an error and says what to do about it.
 *
 * @example
 * describeError(new GatewayUnreachableError(...), { url: 'http://127.0.0.1:8190' });
 * // 'gateway not reachable at http://127.0.0.1:8190 — is `comfy-cluster serve` running?'
 */
export function describeError(error: unknown, context: ErrorContext = {}): string {
  const url = context.url ?? 'the gateway';
  let message: string;
  if (error instanceof CliError) {
    message = error.message;
  } else if (error instanceof GatewayUnreachableError) {
    message = `gateway not reachable at ${url} — is \`comfy-cluster serve\` running? (another address: --url or COMFY_CLUSTER_URL)`;
  } else if (error instanceof ClusterTimeoutError) {
    message = `the gateway at ${url} did not answer in time — is it overloaded? Try again, or raise --timeout`;
  } else if (
    error instanceof AuthError ||
    (error instanceof ClusterError && (error.status === 401 || error.status === 403))
  ) {
    const status = (error as ClusterError).status;
    if (status === 403) {
      message = `the API key may not do this (${error.message}) — use an admin key (comfy-cluster keys create --role admin)`;
    } else if (context.apiKey) {
      message = `the gateway at ${url} refused the API key (revoked or mistyped?) — check --api-key or COMFY_CLUSTER_API_KEY`;
    } else {
      message = `the gateway at ${url} needs an API key — pass --api-key KEY or set COMFY_CLUSTER_API_KEY`;
    }
  } else if (error instanceof ClusterError) {
    const fields =
      error.code === 'validation_failed' ? fieldErrors(error.details, error.message) : '';
    message = `${error.message}${fields}`;
  } else if (error instanceof Error) {
    message = error.message;
  } else {
    message = String(error);
  }
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * Prints `comfy-cluster <command>: <message>` and exits with the error's code.
 *
 * @example
 * fail('install', new CliError('--dir is not writable', ExitCode.usage));
 */
export function fail(command: string, error: unknown, context: ErrorContext = {}): never {
  process.stderr.write(`comfy-cluster ${command}: ${describeError(error, context)}\n`);
  process.exit(exitCodeOf(error));
}
