/**
 * ImageUpscaleWithModel: scales by the model's factor (taken from its file name), reporting
 * progress per 512x512 tile with 32 px overlap as ComfyUI's tiled upscale does. Pixels are a
 * bicubic resize clamped to 0..1. Outputs are capped at 4096x4096 pixels per image (the scale is
 * reduced beyond that) so tests and benchmarks cannot exhaust memory.
 */
import { imageDims, pyRound, resizeImage } from '../../images/index.js';
import { NodeInputs } from '../inputs.js';
import { defineNode, type EmulatedNodeDefinition } from '../node-spec.js';
import { pixelOp } from '../timing.js';
import { UpscaleModel } from './upscale-model.js';

const TILE = 512;
const OVERLAP = 32;
const TILE_MS = 40;
const MAX_OUTPUT_PIXELS = 4096 * 4096;

/** Number of tiles ComfyUI's tiled_scale processes for one image. */
export function tileCount(width: number, height: number): number {
  return Math.ceil(height / (TILE - OVERLAP)) * Math.ceil(width / (TILE - OVERLAP));
}

/** Output size for an input size and scale, within the pixel cap. */
export function upscaledSize(width: number, height: number, scale: number): [number, number] {
  if (width * height * scale * scale <= MAX_OUTPUT_PIXELS) {
    return [pyRound(width * scale), pyRound(height * scale)];
  }
  const s = Math.sqrt(MAX_OUTPUT_PIXELS / (width * height));
  return [Math.max(1, Math.floor(width * s)), Math.max(1, Math.floor(height * s))];
}

/** ComfyUI's ImageUpscaleWithModel ("Upscale Image (using Model)"). */
export function imageUpscaleWithModelNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'ImageUpscaleWithModel',
    style: 'v3',
    displayName: 'Upscale Image (using Model)',
    category: 'image/upscaling',
    pythonModule: 'comfy_extras.nodes_upscale_model',
    required: [
      ['upscale_model', ['UPSCALE_MODEL', {}]],
      ['image', ['IMAGE', {}]],
    ],
    outputs: ['IMAGE'],
    nominalMs: (v) => {
      const shape = (v.image as { shape?: number[] } | undefined)?.shape;
      if (!shape) return TILE_MS;
      return TILE_MS * (shape[0] ?? 1) * tileCount(shape[2] ?? 1, shape[1] ?? 1);
    },
    async run(values, ctx) {
      const inputs = new NodeInputs(values, 'ImageUpscaleWithModel.execute');
      const model = inputs.object('upscale_model', UpscaleModel, 'scale');
      const image = inputs.tensor('image');
      const { batch, width, height } = imageDims(image);
      const total = batch * tileCount(width, height);
      for (let i = 1; i <= total; i++) {
        // Tiles are processed inside one node call; ComfyUI checks for an interrupt per tile.
        await ctx.work(TILE_MS);
        ctx.progress(i, total);
      }
      const [ow, oh] = upscaledSize(width, height, model.scale);
      const out = pixelOp(() => resizeImage(image, ow, oh, 'bicubic'));
      for (let i = 0; i < out.data.length; i++) {
        out.data[i] = Math.min(Math.max(out.data[i] ?? 0, 0), 1);
      }
      return { outputs: [out] };
    },
  });
}
