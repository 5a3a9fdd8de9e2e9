import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ComfyFileFolders, folderType, splitAnnotation } from './file-folders.js';

let dir: string;
let folders: ComfyFileFolders;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cc-comfy-files-'));
  folders = new ComfyFileFolders(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const up = (
  bytes: string,
  filename: string,
  extra: Partial<{ subfolder: string; overwrite: boolean }> = {},
) =>
  folders.upload({
    bytes: Buffer.from(bytes),
    filename,
    subfolder: extra.subfolder ?? '',
    type: 'input',
    overwrite: extra.overwrite ?? false,
  });

describe('ComfyFileFolders.upload (ComfyUI naming)', () => {
  it('same content keeps the name, other content gets "name (n).ext", overwrite replaces', async () => {
    expect((await up('a', 'p.png'))?.name).toBe('p.png');
    expect((await up('a', 'p.png'))?.name).toBe('p.png');
    expect((await up('b', 'p.png'))?.name).toBe('p (1).png');
    expect((await up('c', 'p.png'))?.name).toBe('p (2).png');
    expect((await up('b', 'p.png'))?.name).toBe('p (1).png');
    expect((await up('z', 'p.png', { overwrite: true }))?.name).toBe('p.png');
    expect(await readFile(path.join(dir, 'input', 'p.png'), 'utf8')).toBe('z');
  });

  it('creates subfolders and refuses paths that leave the folder', async () => {
    expect(await up('a', 'x.png', { subfolder: 'a/b' })).toEqual({
      name: 'x.png',
      subfolder: 'a/b',
      type: 'input',
    });
    expect(await up('a', 'x.png', { subfolder: '../out' })).toBeUndefined();
    expect(await up('a', '../x.png')).toBeUndefined();
  });
});

describe('ComfyFileFolders.resolveView (ComfyUI /view rules)', () => {
  it('400 for .. or a leading slash, 403 for a subfolder outside, 404 when missing, basename only', async () => {
    await up('a', 'v.png', { subfolder: 's' });
    expect(await folders.resolveView('../v.png', '', 'input')).toEqual({ ok: false, status: 400 });
    expect(await folders.resolveView('/etc/passwd', '', 'input')).toEqual({
      ok: false,
      status: 400,
    });
    expect(await folders.resolveView('v.png', '../..', 'input')).toEqual({
      ok: false,
      status: 403,
    });
    expect(await folders.resolveView('v.png', '', 'input')).toEqual({ ok: false, status: 404 });
    const hit = await folders.resolveView('other/v.png', 's', 'input');
    expect(hit).toMatchObject({ ok: true, name: 'v.png' });
  });

  it('finds LoadImage values: subfolder paths and annotations', async () => {
    await up('a', 'v.png', { subfolder: 's' });
    expect(folders.fileForValue('s/v.png')).toBe(path.join(dir, 'input', 's', 'v.png'));
    expect(folders.fileForValue('s/v.png [input]')).toBeDefined();
    expect(folders.fileForValue('s/v.png [output]')).toBeUndefined();
    expect(folders.fileForValue('../temp/s/v.png')).toBeUndefined();
  });
});

describe('annotations and types', () => {
  it('reads "name [type]" and refuses unknown types', () => {
    expect(splitAnnotation('a.png [temp]', 'output')).toEqual({ name: 'a.png', type: 'temp' });
    expect(splitAnnotation('a.png', 'output')).toEqual({ name: 'a.png', type: 'output' });
    expect(folderType(undefined, 'input')).toBe('input');
    expect(folderType('bogus', 'input')).toBeUndefined();
  });
});
