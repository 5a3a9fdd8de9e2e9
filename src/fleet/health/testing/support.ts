/**
 * Test helpers for the health monitor: a real registry in a temp dir, bounded waits, emulator
 * request counts and emulator child processes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningEmulator } from '../../../emulator/index.js';
import { type BusEvent, InProcessEventBus } from '../../../store/index.js';
import type { FleetEvents } from '../../events.js';
import { InstanceRegistry } from '../../instance-registry.js';
import type { HealthEvents } from '../health-events.js';

export type AllEvents = FleetEvents & HealthEvents;

/** Resolves once `predicate` holds; throws after `limitMs` naming `what`. */
export async function until(
  predicate: () => boolean,
  limitMs: number,
  what: string,
): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > limitMs)
      throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A temp dir, removed by the returned cleanup. */
export async function tempDir(
  prefix: string,
): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A real registry with its config file in `dir`, no environment instances, one shared bus. */
export async function openRegistry(dir: string): Promise<{
  registry: InstanceRegistry;
  bus: InProcessEventBus<AllEvents>;
  events: BusEvent<AllEvents>[];
}> {
  const bus = new InProcessEventBus<AllEvents>({
    onHandlerError: (err) => {
      throw err;
    },
  });
  const events: BusEvent<AllEvents>[] = [];
  bus.subscribe('*', (e) => void events.push(structuredClone(e)));
  const registry = await InstanceRegistry.open({
    configFile: path.join(dir, 'comfyui_instances.json'),
    env: {},
    bus,
  });
  return { registry, bus, events };
}

/** Requests the emulator counted for `GET <route>`. */
export function requests(emu: RunningEmulator, route: string): number {
  return emu.stats().requests[`GET ${route}`] ?? 0;
}

/** A free TCP port on 127.0.0.1 (nothing listens on it when this resolves). */
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

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

/** An emulator in its own process (started from source with tsx), as a supervisor would run ComfyUI. */
export interface EmulatorChild {
  url: string;
  port: number;
  child: ChildProcess;
  kill(): Promise<void>;
}

/** Starts `src/emulator/main.ts` on `port` and waits until it answers (up to 20 s). */
export async function startEmulatorChild(
  port: number,
  extraArgs: string[] = [],
): Promise<EmulatorChild> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(repoRoot, 'src/emulator/main.ts'),
      '--listen',
      '127.0.0.1',
      '--port',
      String(port),
      ...extraArgs,
    ],
    { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`emulator exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`${url}/system_stats`);
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await kill();
      throw new Error(`emulator did not answer within 20 s: ${stderr}`);
    }
    await sleep(50);
  }
  return { url, port, child, kill };
}
