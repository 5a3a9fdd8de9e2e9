import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { safeOutputName, writeNewFile } from './output-files.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cc-out-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function body(text: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode(text));
      c.close();
    },
  });
}

describe('safeOutputName', () => {
  it('keeps only a plain last segment of what the server named', () => {
    expect(safeOutputName('ComfyUI_00001_.png', 0)).toBe('ComfyUI_00001_.png');
    expect(safeOutputName('../../etc/passwd', 0)).toBe('passwd');
    expect(safeOutputName('..\\..\\win.ini', 0)).toBe('win.ini');
    expect(safeOutputName('/abs/path/x.png', 0)).toBe('x.png');
    expect(safeOutputName('..', 3)).toBe('output-3');
    expect(safeOutputName('.hidden', 1)).toBe('hidden');
    expect(safeOutputName('', 2)).toBe('output-2');
    expect(safeOutputName(null, 4)).toBe('output-4');
    expect(safeOutputName('a:b*c?.png', 0)).toBe('a_b_c_.png');
    expect(safeOutputName('nul.txt', 0)).toBe('_nul.txt');
    expect(safeOutputName(`${'x'.repeat(300)}.png`, 0)).toHaveLength(200);
    expect(safeOutputName(`${'x'.repeat(300)}.png`, 0).endsWith('.png')).toBe(true);
  });
});

describe('writeNewFile', () => {
  it('never replaces a file: taken names get a numbered suffix', async () => {
    await writeFile(path.join(dir, 'a.png'), 'mine');
    const first = await writeNewFile(dir, 'a.png', body('one'));
    const second = await writeNewFile(dir, 'a.png', body('two'));
    expect(path.basename(first.path)).toBe('a-1.png');
    expect(path.basename(second.path)).toBe('a-2.png');
    expect(await readFile(path.join(dir, 'a.png'), 'utf8')).toBe('mine');
    expect(await readFile(second.path, 'utf8')).toBe('two');
    expect(first).toMatchObject({
      size: 3,
      sha256: '7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed',
    });
  });

  it('removes a partly written file when the stream fails', async () => {
    const failing = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array([1, 2, 3]));
        c.error(new Error('connection reset'));
      },
    });
    await expect(writeNewFile(dir, 'b.bin', failing)).rejects.toThrow('connection reset');
    expect(await readdir(dir)).toEqual([]);
  });
});
