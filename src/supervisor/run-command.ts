import { spawn } from 'node:child_process';
import { LineSplitter } from './line-splitter.js';
import { signalGroup } from './process-tree.js';

/** How a finished command went. */
export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last `tailLines` lines of stdout and stderr, interleaved as they arrived. */
  tail: string[];
  durationMs: number;
  timedOut: boolean;
}

export interface RunCommandOptions {
  cwd?: string;
  /** Added to the inherited environment. */
  env?: Readonly<Record<string, string>>;
  /** Default 30 minutes (a torch wheel is large). */
  timeoutMs?: number;
  /** Lines kept for error reports. Default 20. */
  tailLines?: number;
  /** Every output line, as it comes. */
  onLine?: (line: string) => void;
  signal?: AbortSignal;
}

/** A command line for messages: arguments with spaces or quotes are quoted. */
export function formatCommand(command: string, args: readonly string[]): string {
  return [command, ...args]
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`))
    .join(' ');
}

/**
 * Runs a command to completion, keeping the tail of its output for error messages. Never rejects
 * for a non-zero exit (the caller decides); rejects only when the command cannot be started.
 * The command runs in its own process group, so a timeout or abort ends everything it started.
 *
 * @example
 * const r = await runCommand('git', ['rev-parse', 'HEAD'], { cwd: dir });
 * if (r.code !== 0) throw new Error(r.tail.join('\n'));
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  const started = Date.now();
  const keep = options.tailLines ?? 20;
  const tail: string[] = [];
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: process.platform !== 'win32',
      windowsHide: true,
    });
    let timedOut = false;
    const kill = () => {
      if (child.pid !== undefined && process.platform !== 'win32')
        signalGroup(child.pid, 'SIGKILL');
      else child.kill('SIGKILL');
    };
    const timer = setTimeout(
      () => {
        timedOut = true;
        kill();
      },
      options.timeoutMs ?? 30 * 60_000,
    );
    const onAbort = () => kill();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const onLine = (line: string) => {
      tail.push(line);
      if (tail.length > keep) tail.shift();
      options.onLine?.(line);
    };
    for (const stream of [child.stdout, child.stderr]) {
      const splitter = new LineSplitter(onLine);
      stream?.on('data', (chunk: Buffer) => splitter.push(chunk));
      stream?.on('end', () => splitter.end());
    }
    child.once('error', (error) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ code, signal, tail, durationMs: Date.now() - started, timedOut });
    });
  });
}
