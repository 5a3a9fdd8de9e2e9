import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodePng, encodePng, solidImage, type Tensor } from '../../images/index.js';
import { createNodeRegistry, InterruptedError, PythonNodeError } from '../index.js';
import { createTestContext, type TestContext } from '../testing/test-context.js';
import { previewText } from './utility.js';

const registry = createNodeRegistry();
function node(name: string) {
  const def = registry.get(name);
  if (!def) throw new Error(`no ${name}`);
  return def;
}

let ctx: TestContext | undefined;
afterEach(() => ctx?.cleanup());

describe('image nodes', () => {
  it('LoadImage -> ImageScaleBy(bilinear 2x) -> ImageInvert -> SaveImage transforms real pixels', async () => {
    ctx = createTestContext();
    writeFileSync(
      path.join(ctx.dirs.input, 'in.png'),
      encodePng({ width: 2, height: 1, channels: 3, data: Uint8Array.of(0, 0, 0, 255, 255, 255) }),
    );
    const [image] = (await node('LoadImage').run({ image: 'in.png' }, ctx)).outputs;
    const [scaled] = (
      await node('ImageScaleBy').run({ image, upscale_method: 'bilinear', scale_by: 2 }, ctx)
    ).outputs;
    const [inverted] = (await node('ImageInvert').run({ image: scaled }, ctx)).outputs;
    await node('SaveImage').run({ images: inverted, filename_prefix: 'lsi' }, ctx);
    const png = decodePng(readFileSync(path.join(ctx.dirs.output, 'lsi_00001_.png')));
    expect([png.width, png.height]).toEqual([4, 2]);
    const reds = [0, 1, 2, 3].map((x) => png.rgba[x * 4]);
    // Bilinear [0, 1] -> [0, .25, .75, 1], inverted and truncated to 8 bits.
    expect(reds).toEqual([255, 191, 63, 0]);
  });

  it('ImageScaleBy rounds the size like Python', async () => {
    ctx = createTestContext();
    const [out] = (
      await node('ImageScaleBy').run(
        { image: solidImage(5, 3, 1, 0), upscale_method: 'nearest-exact', scale_by: 0.5 },
        ctx,
      )
    ).outputs as [Tensor];
    expect(out.shape).toEqual([1, 2, 2, 3]);
  });

  it('ImageScale keeps the aspect ratio when one side is 0', async () => {
    ctx = createTestContext();
    const [out] = (
      await node('ImageScale').run(
        {
          image: solidImage(40, 20, 1, 0),
          upscale_method: 'area',
          width: 10,
          height: 0,
          crop: 'disabled',
        },
        ctx,
      )
    ).outputs as [Tensor];
    expect(out.shape).toEqual([1, 5, 10, 3]);
  });

  it('ImageToMask(alpha) on RGB fails with the recorded IndexError', async () => {
    ctx = createTestContext();
    const err = await node('ImageToMask')
      .run({ image: solidImage(32, 32, 1, 0), channel: 'alpha' }, ctx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PythonNodeError);
    expect(err).toMatchObject({
      exceptionType: 'IndexError',
      message: 'index 3 is out of bounds for dimension 3 with size 3',
    });
  });

  it('ImageBlur with a radius larger than the image fails as RuntimeError', async () => {
    ctx = createTestContext();
    await expect(
      node('ImageBlur').run({ image: solidImage(4, 4, 1, 0), blur_radius: 10, sigma: 1 }, ctx),
    ).rejects.toMatchObject({ exceptionType: 'RuntimeError' });
  });

  it('an image node finishes even when interrupted (the interrupt lands on the next node)', async () => {
    ctx = createTestContext();
    ctx.interrupt();
    const [out] = (await node('ImageInvert').run({ image: solidImage(2, 2, 1, 0) }, ctx)).outputs;
    expect(out).toBeDefined();
    expect(() => ctx?.checkInterrupt()).toThrow(InterruptedError);
  });

  it('declares a nominal duration and calls ctx.work', async () => {
    ctx = createTestContext();
    const image = solidImage(1000, 1000, 1, 0);
    await node('ImageInvert').run({ image }, ctx);
    expect(ctx.workCalls).toEqual([3]);
    expect(node('ImageInvert').nominalMs?.({ image })).toBe(3);
  });

  it('ImagePadForOutpaint and ImageCompositeMasked work on real pixels', async () => {
    ctx = createTestContext();
    const [padded, mask] = (
      await node('ImagePadForOutpaint').run(
        {
          image: solidImage(4, 4, 1, 0xffffff),
          left: 2,
          top: 0,
          right: 0,
          bottom: 0,
          feathering: 0,
        },
        ctx,
      )
    ).outputs as [Tensor, Tensor];
    expect(padded.shape).toEqual([1, 4, 6, 3]);
    expect([...mask.data.subarray(0, 6)]).toEqual([1, 1, 0, 0, 0, 0]);
    const [merged] = (
      await node('ImageCompositeMasked').run(
        {
          destination: solidImage(4, 4, 1, 0),
          source: solidImage(2, 2, 1, 0xffffff),
          x: 1,
          y: 1,
          resize_source: false,
        },
        ctx,
      )
    ).outputs as [Tensor];
    expect(merged.data[(1 * 4 + 1) * 3]).toBe(1);
    expect(merged.data[0]).toBe(0);
  });
});

describe('PreviewAny', () => {
  it('shows values as text in the UI', async () => {
    ctx = createTestContext();
    const r = await node('PreviewAny').run({ source: { a: [1, 2.5] } }, ctx);
    expect(r.ui).toEqual({ text: ['{"a": [1, 2.5]}'] });
    expect(previewText(true)).toBe('True');
    expect(previewText(null)).toBe('None');
    expect(previewText('x')).toBe('x');
    expect(previewText(solidImage(1, 1, 1, 0))).toBe('tensor([[[[0., 0., 0.]]]])');
  });
});
