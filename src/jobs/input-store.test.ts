import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { PNG } from 'pngjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeBase64Input, InputStore } from './input-store.js';

let dir: string;
let store: InputStore;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cc-inputs-'));
  store = new InputStore(path.join(dir, 'inputs'), { maxBytes: 64 * 1024 });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function png(width = 4, height = 3): Buffer {
  const img = new PNG({ width, height });
  img.data.fill(200);
  return PNG.sync.write(img);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('InputStore', () => {
  it('stores bytes under inputs/ab/abcdef… by sha256 and sniffs the type', async () => {
    const bytes = png();
    const stored = await store.put(bytes, { name: 'whatever.bin' });
    expect(stored).toMatchObject({
      hash: sha(bytes),
      size: bytes.length,
      mime: 'image/png',
      existed: false,
    });
    expect(stored.path).toBe(path.join(dir, 'inputs', sha(bytes).slice(0, 2), sha(bytes)));
    expect(await readFile(stored.path)).toEqual(bytes);
    expect(await store.read(stored.hash)).toEqual(bytes);
    expect(await store.has(stored.hash)).toBe(true);
  });

  it('dedupes: the same content from a buffer, a stream and a data URL is one file', async () => {
    const bytes = png(5, 5);
    const a = await store.put(bytes);
    const b = await store.put(Readable.from([bytes.subarray(0, 10), bytes.subarray(10)]));
    const c = await store.put(`data:image/png;base64,${bytes.toString('base64')}`);
    const d = await store.put(bytes.toString('base64'));
    expect(new Set([a.hash, b.hash, c.hash, d.hash]).size).toBe(1);
    expect([a.existed, b.existed, c.existed, d.existed]).toEqual([false, true, true, true]);
    const folders = await readdir(path.join(dir, 'inputs'));
    expect(folders.filter((f) => !f.startsWith('.'))).toEqual([a.hash.slice(0, 2)]);
    expect(await readdir(path.join(dir, 'inputs', '.staging'))).toEqual([]);
  });

  it('concurrent puts of the same bytes all succeed with one stored file', async () => {
    const bytes = png(6, 6);
    const all = await Promise.all(Array.from({ length: 6 }, () => store.put(bytes)));
    expect(new Set(all.map((s) => s.hash)).size).toBe(1);
    expect(await store.read(all[0]?.hash ?? '')).toEqual(bytes);
  });

  it('sniffs JPEG and WebP, falls back to the data URL type, then the name', async () => {
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46]);
    expect((await store.put(jpeg)).mime).toBe('image/jpeg');
    const webp = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBPVP8 ')]);
    expect((await store.put(webp)).mime).toBe('image/webp');
    const text = Buffer.from('hello');
    expect((await store.put(`data:text/plain;base64,${text.toString('base64')}`)).mime).toBe(
      'text/plain',
    );
    expect((await store.put(Buffer.from('other'), { name: 'clip.mp4' })).mime).toBe('video/mp4');
    expect((await store.put(Buffer.from('x'))).mime).toBe('application/octet-stream');
  });

  it('refuses inputs over the size limit and leaves nothing behind', async () => {
    const big = Buffer.alloc(64 * 1024 + 1, 1);
    await expect(store.put(big)).rejects.toMatchObject({ code: 'INPUT_TOO_LARGE' });
    await expect(
      store.put(Readable.from([Buffer.alloc(40_000), Buffer.alloc(40_000)])),
    ).rejects.toMatchObject({ code: 'INPUT_TOO_LARGE' });
    await expect(store.put(big.toString('base64'))).rejects.toMatchObject({
      code: 'INPUT_TOO_LARGE',
    });
    expect(await readdir(path.join(dir, 'inputs', '.staging'))).toEqual([]);
    const entries = await readdir(path.join(dir, 'inputs'));
    expect(entries).toEqual(['.staging']);
  });

  it('refuses malformed base64 and data URLs with a clear error', async () => {
    await expect(store.put('not base64!')).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await expect(store.put('data:image/png,plain')).rejects.toThrow(/base64-encoded/);
    await expect(store.put('data:image/png;base64')).rejects.toThrow(/malformed data URL/);
    await expect(store.put(42 as never)).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    expect(decodeBase64Input('aGk=\n').bytes.toString()).toBe('hi');
    expect(decodeBase64Input('data:IMAGE/PNG;name=a.png;base64,aGk=').mime).toBe('image/png');
  });

  it('answers INPUT_NOT_FOUND for unknown hashes and rejects malformed ones', async () => {
    await expect(store.read('b'.repeat(64))).rejects.toMatchObject({ code: 'INPUT_NOT_FOUND' });
    expect(() => store.pathOf('../../etc/passwd')).toThrow(/not a sha256 hash/);
    expect(await store.has('nope')).toBe(false);
    const s = await store.put(Buffer.from('bye'));
    expect(await store.remove(s.hash)).toBe(true);
    expect(await store.remove(s.hash)).toBe(false);
  });
});
