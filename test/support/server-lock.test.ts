import { createHash, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireServerLock } from './server-lock.js';

describe('acquireServerLock', () => {
  it('lets one holder in at a time', async () => {
    const key = `test-${randomUUID()}`;
    const release = await acquireServerLock(key, 5_000);
    const order: string[] = [];
    const second = acquireServerLock(key, 5_000).then((r) => {
      order.push('second');
      return r;
    });
    await new Promise((r) => setTimeout(r, 300));
    order.push('first released');
    await release();
    const releaseSecond = await second;
    expect(order).toEqual(['first released', 'second']);
    await releaseSecond();
  });

  it('gives up with a clear error after the timeout', async () => {
    const key = `test-${randomUUID()}`;
    const release = await acquireServerLock(key, 5_000);
    await expect(acquireServerLock(key, 300)).rejects.toThrow('held the lock on');
    await release();
  });

  it('takes over a lock whose owner process is gone', async () => {
    const key = `test-${randomUUID()}`;
    const name = createHash('sha256').update(key).digest('hex').slice(0, 16);
    const dir = path.join(os.tmpdir(), `comfy-cluster-contract-${name}.lock`);
    await mkdir(dir);
    // PID 2^22 + 1 is above Linux's pid_max, so no process has it.
    await writeFile(path.join(dir, 'owner'), `${2 ** 22 + 1}:stale`);
    const release = await acquireServerLock(key, 2_000);
    await release();
  });
});
