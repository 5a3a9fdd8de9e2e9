/**
 * Which server the contract tests talk to.
 *
 * - `COMFYUI_URL=http://host:port`: that real ComfyUI. Nothing is started. Files take turns on it
 *   (server-lock.ts); each file deletes the history entries it created and never clears the queue
 *   or the history unless `COMFYUI_CONTRACT_DESTRUCTIVE=1`. `COMFYUI_INPUT_DIR` may name the
 *   server's input folder, for the one exchange that deletes an input file behind its back.
 * - otherwise: an in-process emulator on a random port, one per test file, closed after it.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import type { EmulatorOptions, RunningEmulator } from '../../src/emulator/options.js';
import { jsonCall } from './http.js';
import { acquireServerLock } from './server-lock.js';

export interface ContractTarget {
  /** http://host:port, no trailing slash. */
  readonly url: string;
  /** ws://host:port (append /ws?clientId=...). */
  readonly wsUrl: string;
  /** Host name or address as in the URL (e.g. "127.0.0.1"). */
  readonly hostname: string;
  readonly port: number;
  readonly isEmulator: boolean;
  /** The running emulator (setFaults, stats, dirs), only when `isEmulator`. */
  readonly emulator: RunningEmulator | undefined;
  /** The server's input folder when this process can reach it (emulator, or COMFYUI_INPUT_DIR). */
  readonly inputDir: string | undefined;
  /** Whether tests may clear the queue and history (always on the emulator). */
  readonly destructive: boolean;
  /** A short random id for names this run creates (client ids, file names on a real server). */
  readonly runId: string;
  /** Remember a prompt this file created, so closing removes it from a real server's history. */
  track(promptId: string): void;
  /**
   * Emulator: closes it. Real server: removes the tracked prompts from its queue (interrupting the
   * one running, if ours), deletes their history entries, and releases the lock.
   */
  close(): Promise<void>;
}

/** Longest a file waits for its turn on a real server. */
export const LOCK_TIMEOUT_MS = 15 * 60_000;

/** COMFYUI_URL, validated and without a trailing slash; undefined when not set. */
export function realServerUrl(): string | undefined {
  const raw = process.env.COMFYUI_URL?.trim();
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`COMFYUI_URL must be an http://host:port URL, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:') {
    throw new Error(`COMFYUI_URL must use http:, got ${JSON.stringify(raw)}`);
  }
  return `${url.protocol}//${url.host}`;
}

/** Starts an emulator; src/emulator is loaded only when no real server is named. */
async function startEmulator(options: EmulatorOptions): Promise<RunningEmulator> {
  const { startEmulator: start } = await import('../../src/emulator/index.js');
  return start(options);
}

/**
 * Opens the target for one test file. Prefer `sharedTarget()`, which also closes it.
 *
 * @example
 * const target = await openTarget();
 * try { ... } finally { await target.close(); }
 */
export async function openTarget(options: EmulatorOptions = {}): Promise<ContractTarget> {
  const runId = randomBytes(4).toString('hex');
  const real = realServerUrl();
  if (real === undefined) {
    const emulator = await startEmulator({ ...options, port: 0 });
    const url = emulator.url.replace(/\/$/, '');
    const { hostname, port } = new URL(url);
    return {
      url,
      wsUrl: url.replace(/^http/, 'ws'),
      hostname,
      port: Number(port),
      isEmulator: true,
      emulator,
      inputDir: emulator.dirs.input,
      destructive: true,
      runId,
      track() {},
      close: () => emulator.close(),
    };
  }
  const release = await acquireServerLock(real, LOCK_TIMEOUT_MS);
  const { hostname, port } = new URL(real);
  const tracked = new Set<string>();
  return {
    url: real,
    wsUrl: real.replace(/^http/, 'ws'),
    hostname,
    port: Number(port || 80),
    isEmulator: false,
    emulator: undefined,
    inputDir: process.env.COMFYUI_INPUT_DIR?.trim() || undefined,
    destructive: process.env.COMFYUI_CONTRACT_DESTRUCTIVE === '1',
    runId,
    track(promptId) {
      tracked.add(promptId);
    },
    async close() {
      try {
        await cleanUp(real, [...tracked]);
      } finally {
        await release();
      }
    },
  };
}

/** Removes our prompts from a real server: dequeue, interrupt ours if running, delete history. */
async function cleanUp(url: string, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  const mine = new Set(ids);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const queue = (await jsonCall(url, 'GET', '/queue')) as {
      queue_running: [number, string][];
      queue_pending: [number, string][];
    };
    const pending = queue.queue_pending.map((item) => item[1]).filter((id) => mine.has(id));
    if (pending.length) await jsonCall(url, 'POST', '/queue', { delete: pending });
    const running = queue.queue_running.map((item) => item[1]).filter((id) => mine.has(id));
    if (running.length === 0 || Date.now() > deadline) break;
    for (const id of running) await jsonCall(url, 'POST', '/interrupt', { prompt_id: id });
    await new Promise((r) => setTimeout(r, 250));
  }
  await jsonCall(url, 'POST', '/history', { delete: ids });
}

/**
 * Registers beforeAll/afterAll hooks that open and close the target of this test file; returns a
 * getter for it.
 *
 * @example
 * const target = sharedTarget();
 * it('GET /queue', async () => { await httpRequest(target().url, { method: 'GET', path: '/queue' }); });
 */
export function sharedTarget(options: EmulatorOptions = {}): () => ContractTarget {
  let target: ContractTarget | undefined;
  beforeAll(async () => {
    target = await openTarget(options);
  }, LOCK_TIMEOUT_MS + 60_000);
  afterAll(async () => {
    await target?.close();
    target = undefined;
  }, 90_000);
  return () => {
    if (!target) throw new Error('the contract target is not open (use it inside a test)');
    return target;
  };
}
