/**
 * An install step that failed. The message names the step, the command and its last output
 * lines, so an operator can act on it without digging through logs.
 *
 * @example
 * try { await installComfyUI(opts); } catch (e) {
 *   if (e instanceof InstallStepError) console.error(e.message); // step, command, exit code, output
 * }
 */
export class InstallStepError extends Error {
  override readonly name = 'InstallStepError';
  constructor(
    readonly step: string,
    readonly reason: string,
    readonly command: string | null = null,
    readonly exitCode: number | null = null,
    readonly outputTail: readonly string[] = [],
  ) {
    super(
      [
        `install step "${step}" failed: ${reason}`,
        ...(command ? [`  command: ${command}`] : []),
        ...(exitCode !== null ? [`  exit code: ${exitCode}`] : []),
        ...(outputTail.length > 0
          ? [`  last ${outputTail.length} line(s) of output:`, ...outputTail.map((l) => `    ${l}`)]
          : []),
      ].join('\n'),
    );
  }
}

/** Another install holds the lock on this dir. */
export class InstallLockedError extends Error {
  override readonly name = 'InstallLockedError';
}
