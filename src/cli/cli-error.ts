/**
 * How the CLI ends on failure: one line on stderr naming what to do, and a documented exit code
 * (README): 0 ok, 1 the work failed, 2 usage, 3 gateway unreachable, 4 auth.
 */
export const ExitCode = { ok: 0, failed: 1, usage: 2, unreachable: 3, auth: 4 } as const;
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

/**
 * Prints `comfy-cluster <command>: <message>` and exits with the error's code.
 *
 * @example
 * fail('install', new CliError('--dir is not writable', ExitCode.usage));
 */
export function fail(command: string, error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof CliError ? error.exitCode : ExitCode.failed;
  process.stderr.write(`comfy-cluster ${command}: ${message}\n`);
  process.exit(code);
}
