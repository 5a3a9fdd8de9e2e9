/**
 * `--watch`: draws a frame, waits, draws the next, until Ctrl-C (or `count` frames, for tests and
 * scripts). On a terminal each frame replaces the last; elsewhere frames follow each other.
 */

/** How a watch loop runs. */
export interface WatchOptions {
  /** Builds the next frame's text; a thrown error is shown as the frame (the loop goes on). */
  render: () => Promise<string>;
  /** Turns a render error into the one line shown instead of the frame. */
  describeError: (error: unknown) => string;
  intervalMs: number;
  /** Stop after this many frames (undefined: until Ctrl-C). */
  count?: number;
  tty?: boolean;
  /** A line with the time above each frame (true); off for JSON lines. */
  header?: boolean;
  stream?: NodeJS.WriteStream;
}

/** Clears the screen and puts the cursor top left. */
const CLEAR = '\x1b[H\x1b[2J';

/**
 * Runs the loop. Resolves with the error of the last frame (undefined when it rendered), so the
 * caller can exit non-zero when the gateway was unreachable at the end.
 *
 * @example
 * await watch({ render: async () => 'frame', describeError: String, intervalMs: 2000, count: 3 });
 */
export async function watch(options: WatchOptions): Promise<unknown> {
  const stream = options.stream ?? process.stdout;
  const tty = options.tty ?? stream.isTTY === true;
  let stopped = false;
  let wake: (() => void) | undefined;
  const onSignal = () => {
    stopped = true;
    wake?.();
  };
  process.once('SIGINT', onSignal);
  let lastError: unknown;
  try {
    for (
      let frame = 0;
      !stopped && (options.count === undefined || frame < options.count);
      frame++
    ) {
      let text: string;
      try {
        text = await options.render();
        lastError = undefined;
      } catch (err) {
        lastError = err;
        text = options.describeError(err);
      }
      if (stopped) break;
      if (options.header === false) {
        stream.write(`${text}\n`);
      } else {
        const stamp = `every ${options.intervalMs / 1000}s · ${new Date().toISOString()}${tty ? ' · Ctrl-C to stop' : ''}`;
        stream.write(
          tty ? `${CLEAR}${stamp}\n\n${text}\n` : `${frame > 0 ? '\n' : ''}${stamp}\n${text}\n`,
        );
      }
      if (options.count !== undefined && frame + 1 >= options.count) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.intervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
  }
  return lastError;
}
