import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutputStore } from './output-store.js';

let dir: string;
let store: OutputStore;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cc-outputs-'));
  store = new OutputStore(path.join(dir, 'outputs'), { maxBytes: 1000 });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('OutputStore', () => {
  it('lays files out as <job>/<attempt>/<n>-<safe name> and records size, sha256 and type', async () => {
    const job = randomUUID();
    const rel = store.relativePath(job, 2, 0, 'ComfyUI_00001_.png');
    expect(rel).toBe(`${job}/2/0-ComfyUI_00001_.png`);
    const bytes = Buffer.concat([
      Buffer.from([0x89]),
      Buffer.from('PNG\r\n\x1a\n'),
      Buffer.alloc(20),
    ]);
    const saved = await store.save(Readable.from([bytes]), rel, { expectedSize: bytes.length });
    expect(saved).toEqual({
      stored_path: rel,
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      mime: 'image/png',
    });
    expect(await readFile(path.join(dir, 'outputs', rel))).toEqual(bytes);
    expect(await store.describe(rel)).toEqual(saved);
    expect(await store.describe(`${job}/2/9-missing.png`)).toBeUndefined();
  });

  it('sanitises hostile names: traversal, absolute, reserved and control characters', () => {
    const job = randomUUID();
    expect(store.relativePath(job, 1, 0, '../../etc/passwd')).toBe(`${job}/1/0-passwd`);
    expect(store.relativePath(job, 1, 1, '/abs/x.png')).toBe(`${job}/1/1-x.png`);
    expect(store.relativePath(job, 1, 2, 'C:\\win\\a:b?.png')).toBe(`${job}/1/2-a_b_.png`);
    expect(store.relativePath(job, 1, 3, '..')).toBe(`${job}/1/3-output`);
    expect(store.relativePath(job, 1, 4, 'a\u0000b\nc.png')).toBe(`${job}/1/4-a_b_c.png`);
    expect(() => store.relativePath('../x', 1, 0, 'a.png')).toThrow(/not a job id/);
    expect(() => store.absolute('../escape.png')).toThrow(/leaves/);
    expect(() => store.absolute('/etc/passwd')).toThrow(/must be relative/);
  });

  it('refuses truncated, over-long and oversized bodies and leaves no file', async () => {
    const job = randomUUID();
    const rel = store.relativePath(job, 1, 0, 'a.bin');
    await expect(
      store.save(Readable.from([Buffer.alloc(10)]), rel, { expectedSize: 20 }),
    ).rejects.toMatchObject({ code: 'OUTPUT_INVALID' });
    await expect(
      store.save(Readable.from([Buffer.alloc(30)]), rel, { expectedSize: 20 }),
    ).rejects.toMatchObject({ code: 'OUTPUT_INVALID' });
    await expect(store.save(Readable.from([Buffer.alloc(1001)]), rel)).rejects.toMatchObject({
      code: 'OUTPUT_TOO_LARGE',
    });
    expect(await readdir(path.join(dir, 'outputs', job, '1'))).toEqual([]);
  });

  it('removes an attempt or a whole job, and lists job folders', async () => {
    const job = randomUUID();
    await store.save(Buffer.from('a'), store.relativePath(job, 1, 0, 'a.txt'));
    await store.save(Buffer.from('b'), store.relativePath(job, 2, 0, 'b.txt'));
    await store.removeAttempt(job, 1);
    expect(await readdir(path.join(dir, 'outputs', job))).toEqual(['2']);
    expect((await store.listJobFolders()).map((f) => f.job_id)).toEqual([job]);
    await store.removeJob(job);
    expect(await store.listJobFolders()).toEqual([]);
  });
});
