import { constants } from 'node:fs';
import { access, mkdtemp, readdir, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const PREFIX = 'comfy-emulator-';
/** Inside each scratch base: the pid of the process that made it. */
const OWNER_FILE = '.owner-pid';
const MIN_SHM_FREE_BYTES = 1024 ** 3;

/**
 * Where a temporary base folder goes: RAM-backed /dev/shm on Linux when it is writable and roomy
 * (creating a file there costs microseconds; on a VM disk it can cost a millisecond, which would
 * cap throughput at SaveImage's one file per prompt), else the OS temp folder. Containers often
 * give /dev/shm only 64 MB, hence the free-space check.
 */
export async function scratchRoot(): Promise<string> {
  if (process.platform === 'linux') {
    try {
      await access('/dev/shm', constants.W_OK);
      const fs = await statfs('/dev/shm');
      if (fs.bavail * fs.bsize >= MIN_SHM_FREE_BYTES) return '/dev/shm';
    } catch {
      // not available: fall back to the OS temp folder
    }
  }
  return tmpdir();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the scratch bases of emulators that died without cleaning up (SIGKILL, a crash): those
 * whose owner pid no longer runs. A base without an owner file, or whose pid runs (maybe reused
 * by another process), is left alone.
 */
export async function sweepDeadScratch(root: string): Promise<number> {
  let names: string[];
  try {
    names = (await readdir(root)).filter((n) => n.startsWith(PREFIX));
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const base = path.join(root, name);
    const pid = Number.parseInt(
      await readFile(path.join(base, OWNER_FILE), 'utf8').catch(() => ''),
      10,
    );
    if (!Number.isInteger(pid) || pid <= 0 || alive(pid)) continue;
    await rm(base, { recursive: true, force: true }).catch(() => undefined);
    removed++;
  }
  return removed;
}

/**
 * A new scratch base folder marked with this process's pid, after sweeping the ones dead
 * emulators left behind.
 *
 * @example
 * const base = await createScratchBase(); // /dev/shm/comfy-emulator-XXXXXX
 */
export async function createScratchBase(): Promise<string> {
  const root = await scratchRoot();
  await sweepDeadScratch(root);
  const base = await mkdtemp(path.join(root, PREFIX));
  await writeFile(path.join(base, OWNER_FILE), String(process.pid));
  return base;
}
