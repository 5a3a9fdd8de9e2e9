import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator } from './index.js';
import { sweepDeadScratch } from './scratch-dirs.js';

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid ?? 0;
}

const roots: string[] = [];
afterEach(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});

describe('scratch folders of emulators', () => {
  it('sweeps only the folders whose owner process is gone', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'cc-scratch-'));
    roots.push(root);
    const make = async (name: string, owner?: number) => {
      await mkdir(path.join(root, name, 'output'), { recursive: true });
      if (owner !== undefined) await writeFile(path.join(root, name, '.owner-pid'), String(owner));
    };
    await make('comfy-emulator-dead', await deadPid());
    await make('comfy-emulator-live', process.pid);
    await make('comfy-emulator-unmarked');
    await make('someone-else', await deadPid());

    expect(await sweepDeadScratch(root)).toBe(1);
    expect((await readdir(root)).sort()).toEqual([
      'comfy-emulator-live',
      'comfy-emulator-unmarked',
      'someone-else',
    ]);
  });

  it('an emulator marks its scratch folder with its pid and removes it on close', async () => {
    const emu = await startEmulator({ port: 0 });
    const base = path.dirname(emu.dirs.output);
    expect(await readFile(path.join(base, '.owner-pid'), 'utf8')).toBe(String(process.pid));
    await emu.close();
    await expect(readdir(base)).rejects.toThrow(/ENOENT/);
  });
});
