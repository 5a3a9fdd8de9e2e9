import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodePng, solidImage, type Tensor } from '../../images/index.js';
import { createNodeRegistry } from '../index.js';
import { createTestContext, type TestContext } from '../testing/test-context.js';

let ctx: TestContext | undefined;

function must<T>(v: T | undefined): T {
  if (v === undefined) throw new Error('missing node class');
  return v;
}
afterEach(() => ctx?.cleanup());

/** A white 8x8 image with a red 4x4 square in the middle. */
function sticker(): Tensor {
  const image = solidImage(8, 8, 1, 0xffffff);
  for (let y = 2; y < 6; y++) {
    for (let x = 2; x < 6; x++) {
      const o = (y * 8 + x) * 3;
      image.data[o + 1] = 0;
      image.data[o + 2] = 0;
    }
  }
  return image;
}

describe('remove-background pack', () => {
  it('is only there when asked for', () => {
    expect(createNodeRegistry().get('InspyrenetRembg')).toBeUndefined();
    const r = createNodeRegistry({ packs: ['remove-background'] });
    const info = r
      .get('InspyrenetRembg')
      ?.info({ dirs: { input: '', output: '', temp: '' }, models: {} });
    expect(info?.python_module).toBe('custom_nodes.ComfyUI-Inspyrenet-Rembg');
    expect(info?.output).toEqual(['IMAGE', 'MASK']);
    expect(r.names().slice(-2)).toEqual(['InspyrenetRembg', 'InspyrenetRembgAdvanced']);
  });

  it('makes the background transparent, keeps the subject, and saves an RGBA PNG', async () => {
    ctx = createTestContext();
    const r = createNodeRegistry({ packs: ['remove-background'] });
    const result = await must(r.get('InspyrenetRembg')).run(
      { image: sticker(), torchscript_jit: 'default' },
      ctx,
    );
    const [image, mask] = result.outputs as [Tensor, Tensor];
    expect(image.shape).toEqual([1, 8, 8, 4]);
    expect(mask.data[0]).toBe(0);
    expect(mask.data[3 * 8 + 3]).toBe(1);
    expect(image.data[(3 * 8 + 3) * 4 + 3]).toBe(1);
    expect(ctx.progressCalls).toEqual([[1, 1]]);
    await r.get('SaveImage')?.run({ images: image, filename_prefix: 'cut' }, ctx);
    const png = decodePng(readFileSync(path.join(ctx.dirs.output, 'cut_00001_.png')));
    expect(png.hasAlpha).toBe(true);
    expect([...png.rgba.subarray(0, 4)]).toEqual([255, 255, 255, 0]);
    const centre = (3 * 8 + 3) * 4;
    expect([...png.rgba.subarray(centre, centre + 4)]).toEqual([255, 0, 0, 255]);
  });

  it('the advanced node gives a binary mask from its threshold', async () => {
    ctx = createTestContext();
    const r = createNodeRegistry({ packs: ['remove-background'] });
    const image = solidImage(4, 4, 1, 0x000000);
    image.data[(1 * 4 + 1) * 3] = 0.11; // a faint pixel: soft alpha about 0.4
    const def = must(r.get('InspyrenetRembgAdvanced'));
    const run = async (threshold: number) => {
      const out = await def.run({ image, threshold, torchscript_jit: 'on' }, ctx as TestContext);
      return (out.outputs[1] as Tensor).data[5];
    };
    expect(await run(0.2)).toBe(1);
    expect(await run(0.6)).toBe(0);
  });
});
