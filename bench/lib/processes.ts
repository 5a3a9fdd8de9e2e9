/**
 * Child processes for benchmarks: free ports, emulator processes started exactly as a supervisor
 * would start ComfyUI, and their cleanup.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Asks the OS for a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The emulator's process entry: the built one when present (what users run), else the source. */
export function emulatorCommand(): { command: string; args: string[] } {
  const built = `${repoRoot}dist/emulator/main.js`;
  if (existsSync(built)) return { command: process.execPath, args: [built] };
  return {
    command: process.execPath,
    args: ['--import', 'tsx', `${repoRoot}src/emulator/main.ts`],
  };
}

export interface EmulatorProcess {
  url: string;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts one emulator process with ComfyUI-style flags and waits until it answers. */
export async function startEmulatorProcess(extraArgs: string[] = []): Promise<EmulatorProcess> {
  const port = await freePort();
  const { command, args } = emulatorCommand();
  const child = spawn(
    command,
    [...args, '--listen', '127.0.0.1', '--port', String(port), ...extraArgs],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`emulator exited with ${child.exitCode}: ${stderr}`);
    }
    try {
      const res = await fetch(`${url}/system_stats`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`emulator did not answer within 20 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
