import { describe, expect, it } from 'vitest';
import { extensionForMime, mimeFromName, sniffMime } from './mime-sniff.js';
import {
  fileNameProblem,
  MAX_SAFE_NAME_LENGTH,
  resolveInside,
  safeFileName,
} from './safe-names.js';

describe('safeFileName', () => {
  it('keeps plain names and cleans everything else', () => {
    expect(safeFileName('ComfyUI_00001_.png')).toBe('ComfyUI_00001_.png');
    expect(safeFileName('../../etc/passwd')).toBe('passwd');
    expect(safeFileName('..\\..\\boot.ini')).toBe('boot.ini');
    expect(safeFileName('.hidden')).toBe('hidden');
    expect(safeFileName('name. ')).toBe('name');
    expect(safeFileName('CON.txt')).toBe('_CON.txt');
    expect(safeFileName('')).toBe('file');
    expect(safeFileName('/')).toBe('file');
    const long = `${'x'.repeat(400)}.png`;
    expect(safeFileName(long)).toHaveLength(MAX_SAFE_NAME_LENGTH);
    expect(safeFileName(long).endsWith('.png')).toBe(true);
  });

  it('names the problem with a client file name instead of changing it', () => {
    expect(fileNameProblem('photo (1).png')).toBeUndefined();
    expect(fileNameProblem('a/b.png')).toMatch(/without directories/);
    expect(fileNameProblem('..')).toMatch(/not \. or \.\./);
    expect(fileNameProblem('a\nb')).toMatch(/control characters/);
    expect(fileNameProblem('')).toMatch(/empty/);
  });

  it('resolveInside refuses paths that leave the root', () => {
    expect(resolveInside('/data/out', 'a/b.png')).toBe('/data/out/a/b.png');
    expect(() => resolveInside('/data/out', 'a/../../x')).toThrow();
    expect(() => resolveInside('/data/out', '.')).toThrow();
    expect(() => resolveInside('/data/out', 'C:/x')).toThrow();
  });
});

describe('mime sniffing', () => {
  it('recognises common image, audio, video and 3D signatures', () => {
    const b = (...parts: Array<string | number[]>) =>
      Buffer.concat(
        parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))),
      );
    expect(sniffMime(b([0x89], 'PNG\r\n\x1a\n'))).toBe('image/png');
    expect(sniffMime(b([0xff, 0xd8, 0xff, 0xdb]))).toBe('image/jpeg');
    expect(sniffMime(b('RIFF', [0, 0, 0, 0], 'WEBPVP8L'))).toBe('image/webp');
    expect(sniffMime(b('RIFF', [0, 0, 0, 0], 'WAVEfmt '))).toBe('audio/wav');
    expect(sniffMime(b('fLaC', [0, 0, 0, 34]))).toBe('audio/flac');
    expect(sniffMime(b([0, 0, 0, 0x18], 'ftypmp42'))).toBe('video/mp4');
    expect(sniffMime(b('glTF', [2, 0, 0, 0]))).toBe('model/gltf-binary');
    expect(sniffMime(b('hello world'))).toBeUndefined();
    expect(sniffMime(new Uint8Array())).toBeUndefined();
    expect(mimeFromName('a.WEBP')).toBe('image/webp');
    expect(mimeFromName('noext')).toBeUndefined();
    expect(extensionForMime('image/jpeg')).toBe('jpg');
    expect(extensionForMime('image/png')).toBe('png');
  });
});
