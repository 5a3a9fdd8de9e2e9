/** Something that can end all its children: a {@link Supervisor} fits. */
export interface Stoppable {
  stopAll(): Promise<void>;
  killAllSync(): void;
}

export interface ExitCleanupOptions {
  /**
   * Also handle SIGINT and SIGTERM: stop everything gracefully, then exit (130 / 143). Leave it
   * off when the host program has its own signal handling and calls `stopAll()` itself.
   * Default true.
   */
  signals?: boolean;
  /** Upper bound for the graceful stop on a signal before the SIGKILL fallback. Default 15000 ms. */
  timeoutMs?: number;
}

/**
 * Makes sure managed instances never outlive this process as orphans: on process 'exit' their
 * process groups get SIGKILL (synchronously, as exit handlers must); on SIGINT/SIGTERM they are
 * stopped gracefully first. A SIGKILL of this process cannot be caught: the next start ends the
 * leftovers through their pid files (`Supervisor.cleanupLeftovers`). Returns an uninstaller.
 *
 * @example
 * const uninstall = installExitCleanup(supervisor);
 * // … later, in tests or on an orderly shutdown:
 * uninstall();
 */
export function installExitCleanup(
  target: Stoppable,
  options: ExitCleanupOptions = {},
): () => void {
  const onExit = () => target.killAllSync();
  process.on('exit', onExit);
  const handlers: [NodeJS.Signals, () => void][] = [];
  if (options.signals ?? true) {
    let stopping = false;
    for (const [signal, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      const handler = () => {
        if (stopping) return;
        stopping = true;
        const timeout = new Promise((r) => setTimeout(r, options.timeoutMs ?? 15_000).unref());
        void Promise.race([target.stopAll(), timeout])
          .catch(() => undefined)
          .finally(() => {
            target.killAllSync();
            process.exit(code);
          });
      };
      process.on(signal, handler);
      handlers.push([signal, handler]);
    }
  }
  return () => {
    process.off('exit', onExit);
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}
