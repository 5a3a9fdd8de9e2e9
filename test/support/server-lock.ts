/**
 * A lock shared by every process on this machine, keyed by a server URL. Vitest runs test files in
 * parallel workers; against ONE real ComfyUI the contract files must take turns, or one file's
 * prompts, interrupts and broadcasts would show up in another file's sockets and queues.
 * (Each emulator-backed file has its own instance and never takes the lock.)
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Lock tokens this process holds (a stale lock left by this same process may be taken over). */
const held = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Waits (at most `timeoutMs`) until this process holds the lock for `key`, then returns the
 * function that releases it. A lock whose owner process is gone is taken over.
 *
 * @example
 * const release = await acquireServerLock('http://127.0.0.1:8188', 600_000);
 * try { ... } finally { await release(); }
 */
export async function acquireServerLock(
  key: string,
  timeoutMs: number,
): Promise<() => Promise<void>> {
  const name = createHash('sha256').update(key).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), `comfy-cluster-contract-${name}.lock`);
  const token = `${process.pid}:${randomUUID()}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(dir);
      await writeFile(path.join(dir, 'owner'), token);
      held.add(token);
      return async () => {
        held.delete(token);
        const owner = await readFile(path.join(dir, 'owner'), 'utf8').catch(() => '');
        if (owner === token) await rm(dir, { recursive: true, force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await readFile(path.join(dir, 'owner'), 'utf8').catch(() => '');
    const pid = Number(owner.split(':')[0]);
    const stale = owner !== '' && (!isAlive(pid) || (pid === process.pid && !held.has(owner)));
    if (stale) {
      await rm(dir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `another contract test file has held the lock on ${key} for more than ${timeoutMs} ms (owner ${owner || 'unknown'}, ${dir})`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
