import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodePng, type Tensor } from '../../images/index.js';
import { createNodeRegistry, PythonNodeError } from '../index.js';
import { createTestContext, type TestContext } from '../testing/test-context.js';

let ctx: TestContext | undefined;
afterEach(() => ctx?.cleanup());

const registry = createNodeRegistry();
function must<T>(v: T | undefined): T {
  if (v === undefined) throw new Error('missing node class');
  return v;
}
const loadImage = must(registry.get('LoadImage'));
const loadMask = must(registry.get('LoadImageMask'));

function writeRgba(file: string, w: number, h: number, rgba: number[]): void {
  writeFileSync(file, encodePng({ width: w, height: h, channels: 4, data: Uint8Array.from(rgba) }));
}

describe('LoadImage', () => {
  it('returns RGB pixels as k/255 and the mask as 1 - alpha', async () => {
    ctx = createTestContext();
    writeRgba(path.join(ctx.dirs.input, 'a.png'), 2, 1, [255, 0, 0, 255, 0, 51, 255, 0]);
    const r = await loadImage.run({ image: 'a.png' }, ctx);
    const [image, mask] = r.outputs as [Tensor, Tensor];
    expect(image.shape).toEqual([1, 1, 2, 3]);
    expect([...image.data]).toEqual([1, 0, 0, 0, Math.fround(51 / 255), 1]);
    expect(mask.shape).toEqual([1, 1, 2]);
    expect([...mask.data]).toEqual([0, 1]);
  });

  it('gives a 64x64 zero mask when the file has no alpha', async () => {
    ctx = createTestContext();
    writeFileSync(
      path.join(ctx.dirs.input, 'rgb.png'),
      encodePng({ width: 3, height: 2, channels: 3, data: new Uint8Array(18).fill(9) }),
    );
    const [image, mask] = (await loadImage.run({ image: 'rgb.png' }, ctx)).outputs as [
      Tensor,
      Tensor,
    ];
    expect(image.shape).toEqual([1, 2, 3, 3]);
    expect(mask.shape).toEqual([1, 64, 64]);
    expect(mask.data.every((v) => v === 0)).toBe(true);
  });

  it('reads subfolders and [output] / [temp] annotations', async () => {
    ctx = createTestContext();
    mkdirSync(path.join(ctx.dirs.input, 'sub'));
    const px = [1, 2, 3, 255];
    writeRgba(path.join(ctx.dirs.input, 'sub', 's.png'), 1, 1, px);
    writeRgba(path.join(ctx.dirs.output, 'o.png'), 1, 1, px);
    writeRgba(path.join(ctx.dirs.temp, 't.png'), 1, 1, px);
    for (const name of ['sub/s.png', 'o.png [output]', 't.png [temp]']) {
      const r = await loadImage.run({ image: name }, ctx);
      expect((r.outputs[0] as Tensor).shape).toEqual([1, 1, 1, 3]);
    }
  });

  it('fails at run time like Python when the file disappeared', async () => {
    ctx = createTestContext();
    const file = path.join(ctx.dirs.input, 'gone.png');
    writeRgba(file, 1, 1, [0, 0, 0, 255]);
    unlinkSync(file);
    const err = await loadImage.run({ image: 'gone.png' }, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PythonNodeError);
    expect(err).toMatchObject({
      exceptionType: 'FileNotFoundError',
      message: `[Errno 2] No such file or directory: '${file}'`,
    });
  });

  it('fails like Pillow on a file that is not an image', async () => {
    ctx = createTestContext();
    writeFileSync(path.join(ctx.dirs.input, 'junk.png'), 'not an image');
    await expect(loadImage.run({ image: 'junk.png' }, ctx)).rejects.toMatchObject({
      exceptionType: 'PIL.UnidentifiedImageError',
    });
  });

  it('validates like ComfyUI and hashes the file for the cache', () => {
    ctx = createTestContext();
    writeRgba(path.join(ctx.dirs.input, 'v.png'), 1, 1, [0, 0, 0, 255]);
    expect(loadImage.validateInputs?.({ image: 'v.png' }, ctx)).toBe(true);
    expect(loadImage.validateInputs?.({ image: 'nope.png' }, ctx)).toBe(
      'Invalid image file: nope.png',
    );
    expect(loadImage.isChanged?.({ image: 'v.png' }, ctx)).toMatch(/^[0-9a-f]{64}$/);
    expect(loadImage.isChanged?.({ image: 'nope.png' }, ctx)).toBeNaN();
  });

  it('lists top-level image files of the input directory, sorted like Python', () => {
    ctx = createTestContext();
    for (const n of [
      'gw_upload2.png',
      'gw_upload.png',
      'gw_upload (1).png',
      'notes.txt',
      'b.JPG',
    ]) {
      writeFileSync(path.join(ctx.dirs.input, n), '');
    }
    mkdirSync(path.join(ctx.dirs.input, 'dir.png'));
    const spec = loadImage.info(ctx).input.required?.image;
    expect(spec).toEqual([
      ['b.JPG', 'gw_upload (1).png', 'gw_upload.png', 'gw_upload2.png'],
      { image_upload: true },
    ]);
  });
});

describe('LoadImageMask', () => {
  it('reads one channel; alpha is inverted; no alpha means opaque', async () => {
    ctx = createTestContext();
    writeRgba(path.join(ctx.dirs.input, 'm.png'), 2, 1, [255, 0, 0, 255, 0, 0, 0, 0]);
    const red = (await loadMask.run({ image: 'm.png', channel: 'red' }, ctx))?.outputs[0] as Tensor;
    expect([...red.data]).toEqual([1, 0]);
    const alpha = (await loadMask.run({ image: 'm.png', channel: 'alpha' }, ctx))
      ?.outputs[0] as Tensor;
    expect([...alpha.data]).toEqual([0, 1]);
    writeFileSync(
      path.join(ctx.dirs.input, 'rgb.png'),
      encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(12) }),
    );
    const none = (await loadMask.run({ image: 'rgb.png', channel: 'alpha' }, ctx))
      ?.outputs[0] as Tensor;
    expect(none.shape).toEqual([1, 2, 2]);
    expect([...none.data]).toEqual([0, 0, 0, 0]);
  });
});
