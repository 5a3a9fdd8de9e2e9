import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SavePathAllocator } from './save-path.js';

describe('SavePathAllocator', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'save-path-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('continues after the highest existing counter and remembers it', async () => {
    await writeFile(path.join(dir, 'ComfyUI_00007_.png'), '');
    const a = new SavePathAllocator();
    expect(a.claim(dir, 'ComfyUI', 8, 8, 2, 'png').counter).toBe(8);
    expect(a.claim(dir, 'ComfyUI', 8, 8, 1, 'png').counter).toBe(10);
  });

  it('claim trusts memory; rescan picks up files written by someone else', async () => {
    const a = new SavePathAllocator();
    expect(a.claim(dir, 'x', 8, 8, 1, 'png').counter).toBe(1);
    await writeFile(path.join(dir, 'x_00002_.png'), '');
    await writeFile(path.join(dir, 'x_00005_.png'), '');
    expect(a.claim(dir, 'x', 8, 8, 1, 'png').counter).toBe(2);
    expect(a.rescan(dir, 'x', 8, 8, 1, 'png').counter).toBe(6);
    expect(a.claim(dir, 'x', 8, 8, 1, 'png').counter).toBe(7);
  });

  it('allocate checks the remembered file and lists the folder again when it exists', async () => {
    const a = new SavePathAllocator();
    expect(a.allocate(dir, 'y', 8, 8, 1, 'png').counter).toBe(1);
    await writeFile(path.join(dir, 'y_00002_.png'), '');
    await writeFile(path.join(dir, 'y_00003_.png'), '');
    expect(a.allocate(dir, 'y', 8, 8, 1, 'png').counter).toBe(4);
    expect(await readdir(dir)).toHaveLength(2);
  });
});
