/** Runs the `comfy-cluster` command from source as a child process, for CLI tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link runCli} and {@link startCli}. */
export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
}

/** A CLI child process still running: its output so far and its end. */
export interface CliRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  done: Promise<CliResult>;
}

// The gateway address and key of the shell running the tests must not leak into the children.
const CLEAN_ENV = { COMFY_CLUSTER_URL: '', COMFY_CLUSTER_API_KEY: '' };

/**
 * Starts the command and hands back the child, for tests that signal it mid-run.
 *
 * @example
 * const run = startCli(['submit', 'wf.json', '--wait', '--url', url]);
 * run.child.kill('SIGINT');
 * const { code } = await run.done;
 */
export function startCli(args: string[], options: CliOptions = {}): CliRun {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', `${repoRoot}src/cli/main.ts`, ...args],
    {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, ...CLEAN_ENV, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

/**
 * @example
 * const { code, stdout } = await runCli(['pm2', '--json'], { env: { NUM_GPUS: '2' } });
 */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).done;
}
