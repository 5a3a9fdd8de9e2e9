import { afterEach, describe, expect, it } from 'vitest';
import { imageDims, solidImage, type Tensor } from '../../images/index.js';
import { createNodeRegistry, InterruptedError, PythonNodeError } from '../index.js';
import { createTestContext, type TestContext } from '../testing/test-context.js';
import { scaleFromName } from './loaders.js';
import { tileCount } from './upscale-with-model.js';

const registry = createNodeRegistry();
function node(name: string) {
  const def = registry.get(name);
  if (!def) throw new Error(`no ${name}`);
  return def;
}

const models = {
  checkpoints: ['sd15.safetensors', 'sdxl.safetensors'],
  loras: ['style.safetensors'],
  upscale_models: ['4x-UltraSharp.pth', 'RealESRGAN_x2plus.pth'],
  vae: ['vae-ft-mse.safetensors'],
};

let ctx: TestContext | undefined;
afterEach(() => ctx?.cleanup());

async function txt2img(c: TestContext, seed: number, text = 'a cat', steps = 4): Promise<Tensor> {
  const [model, clip, vae] = (
    await node('CheckpointLoaderSimple').run({ ckpt_name: 'sd15.safetensors' }, c)
  ).outputs;
  const [pos] = (await node('CLIPTextEncode').run({ text, clip }, c)).outputs;
  const [neg] = (await node('CLIPTextEncode').run({ text: '', clip }, c)).outputs;
  const [latent] = (await node('EmptyLatentImage').run({ width: 64, height: 48, batch_size: 2 }, c))
    .outputs;
  const [sampled] = (
    await node('KSampler').run(
      {
        model,
        seed,
        steps,
        cfg: 7,
        sampler_name: 'euler',
        scheduler: 'normal',
        positive: pos,
        negative: neg,
        latent_image: latent,
        denoise: 1,
      },
      c,
    )
  ).outputs;
  const [image] = (await node('VAEDecode').run({ samples: sampled, vae }, c)).outputs;
  return image as Tensor;
}

describe('text to image', () => {
  it('reports progress once per step and decodes a deterministic picture of the right size', async () => {
    ctx = createTestContext({ models });
    const a = await txt2img(ctx, 42);
    expect(ctx.progressCalls).toEqual([
      [1, 4],
      [2, 4],
      [3, 4],
      [4, 4],
    ]);
    expect(a.shape).toEqual([2, 48, 64, 3]);
    const again = await txt2img(ctx, 42);
    expect(again.data).toEqual(a.data);
    const other = await txt2img(ctx, 43);
    expect(other.data).not.toEqual(a.data);
    const prompt = await txt2img(ctx, 42, 'a dog');
    expect(prompt.data).not.toEqual(a.data);
    // The two images of the batch differ.
    const plane = 48 * 64 * 3;
    expect(a.data.subarray(0, plane)).not.toEqual(a.data.subarray(plane));
  });

  it('simulates about 50 ms per step at 512x512 and sends no previews by default', async () => {
    ctx = createTestContext({ models });
    await txt2img(ctx, 1);
    const def = node('KSampler');
    expect(ctx.previews).toHaveLength(0);
    const latent = (
      await node('EmptyLatentImage').run({ width: 512, height: 512, batch_size: 1 }, ctx)
    ).outputs[0];
    expect(def.nominalMs?.({ latent_image: latent, steps: 20, sampler_name: 'euler' })).toBe(1000);
  });

  it('sends a JPEG latent preview per step when a preview method is set', async () => {
    ctx = createTestContext({ models, extraData: { preview_method: 'auto' } });
    await txt2img(ctx, 1, 'x', 3);
    expect(ctx.previews).toHaveLength(3);
    expect(ctx.previews[0]?.mime).toBe('image/jpeg');
    expect([...(ctx.previews[0]?.image.subarray(0, 2) ?? [])]).toEqual([0xff, 0xd8]);
  });

  it('stops at the next step when interrupted', async () => {
    ctx = createTestContext({ models });
    const c = ctx;
    const origProgress = c.progress.bind(c);
    c.progress = (v, m) => {
      origProgress(v, m);
      if (v === 2) c.interrupt();
    };
    await expect(txt2img(c, 5, 'x', 10)).rejects.toBeInstanceOf(InterruptedError);
    expect(c.progressCalls.map(([v]) => v)).toEqual([1, 2]);
  });

  it('fails like ComfyUI when the checkpoint is gone at run time', async () => {
    ctx = createTestContext({ models: { checkpoints: [] } });
    await expect(
      node('CheckpointLoaderSimple').run({ ckpt_name: 'x.safetensors' }, ctx),
    ).rejects.toMatchObject({
      exceptionType: 'FileNotFoundError',
      message: "Model in folder 'checkpoints' with filename 'x.safetensors' not found.",
    });
  });

  it('keeps the source image with img2img at low denoise', async () => {
    ctx = createTestContext({ models });
    const [model, clip, vae] = (
      await node('CheckpointLoaderSimple').run({ ckpt_name: 'sd15.safetensors' }, ctx)
    ).outputs;
    const [cond] = (await node('CLIPTextEncode').run({ text: 'x', clip }, ctx)).outputs;
    const source = solidImage(20, 16, 1, 0xff0000);
    const [latent] = (await node('VAEEncode').run({ pixels: source, vae }, ctx)).outputs;
    const [sampled] = (
      await node('KSampler').run(
        {
          model,
          seed: 1,
          steps: 1,
          cfg: 1,
          sampler_name: 'euler',
          scheduler: 'normal',
          positive: cond,
          negative: cond,
          latent_image: latent,
          denoise: 0,
        },
        ctx,
      )
    ).outputs;
    const [image] = (await node('VAEDecode').run({ samples: sampled, vae }, ctx)).outputs as [
      Tensor,
    ];
    expect(image.shape).toEqual([1, 16, 16, 3]);
    expect([...image.data.subarray(0, 3)]).toEqual([1, 0, 0]);
  });

  it('applies a LoRA, which changes the picture', async () => {
    ctx = createTestContext({ models });
    const [model, clip] = (
      await node('CheckpointLoaderSimple').run({ ckpt_name: 'sd15.safetensors' }, ctx)
    ).outputs;
    const [m2, c2] = (
      await node('LoraLoader').run(
        { model, clip, lora_name: 'style.safetensors', strength_model: 0.8, strength_clip: 1 },
        ctx,
      )
    ).outputs;
    expect(String(m2)).toMatch(/^<comfy\.model_patcher\.ModelPatcher object at 0x7f[0-9a-f]{10}>$/);
    expect(String(m2)).not.toBe(String(model));
    expect(c2).not.toBe(clip);
  });
});

describe('upscale with model', () => {
  it('reads the factor from the model name', () => {
    expect(scaleFromName('4x-UltraSharp.pth')).toBe(4);
    expect(scaleFromName('RealESRGAN_x2plus.pth')).toBe(2);
    expect(scaleFromName('8xNMKD-Superscale.pth')).toBe(8);
    expect(scaleFromName('mystery.pth')).toBe(4);
  });

  it('scales the image and reports progress per tile', async () => {
    ctx = createTestContext({ models });
    const [model] = (
      await node('UpscaleModelLoader').run({ model_name: 'RealESRGAN_x2plus.pth' }, ctx)
    ).outputs;
    const image = solidImage(500, 20, 1, 0x336699);
    const [out] = (await node('ImageUpscaleWithModel').run({ upscale_model: model, image }, ctx))
      .outputs as [Tensor];
    expect(imageDims(out)).toMatchObject({ width: 1000, height: 40 });
    expect(tileCount(500, 20)).toBe(2);
    expect(ctx.progressCalls).toEqual([
      [1, 2],
      [2, 2],
    ]);
    expect(out.data.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('caps huge outputs at 4096x4096 pixels', async () => {
    ctx = createTestContext({ models });
    const [model] = (await node('UpscaleModelLoader').run({ model_name: '4x-UltraSharp.pth' }, ctx))
      .outputs;
    const image = solidImage(2048, 8, 1, 0);
    const [out] = (await node('ImageUpscaleWithModel').run({ upscale_model: model, image }, ctx))
      .outputs as [Tensor];
    const { width, height } = imageDims(out);
    expect(width * height).toBeLessThanOrEqual(4096 * 4096);
    expect(width).toBe(8192);
  });

  it('rejects a constant where a model is expected with a Python-like error', async () => {
    ctx = createTestContext({ models });
    const err = await node('ImageUpscaleWithModel')
      .run({ upscale_model: 'x', image: solidImage(1, 1, 1, 0) }, ctx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PythonNodeError);
    expect((err as PythonNodeError).exceptionType).toBe('AttributeError');
  });
});
