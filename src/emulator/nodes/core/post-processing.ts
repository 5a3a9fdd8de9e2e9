/**
 * ImageBlur and ImageSharpen (comfy_extras.nodes_post_processing, schema nodes).
 */
import { blurImage, sharpenImage } from '../../images/index.js';
import { NodeInputs } from '../inputs.js';
import { defineNode, type EmulatedNodeDefinition } from '../node-spec.js';
import { finishWork, pixelOp } from '../timing.js';
import { pixelMs } from './image-basic.js';

function blurMs(image: unknown, radius: unknown): number {
  const r = typeof radius === 'number' ? radius : 1;
  return pixelMs(image) * (1 + r / 4);
}

/** ComfyUI's ImageBlur. Its display_name is null on a real 0.8.0 server. */
export function imageBlurNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'ImageBlur',
    style: 'v3',
    displayName: null,
    category: 'image/postprocessing',
    pythonModule: 'comfy_extras.nodes_post_processing',
    required: [
      ['image', ['IMAGE', {}]],
      ['blur_radius', ['INT', { default: 1, min: 1, max: 31, step: 1 }]],
      ['sigma', ['FLOAT', { default: 1.0, min: 0.1, max: 10.0, step: 0.1 }]],
    ],
    outputs: ['IMAGE'],
    nominalMs: (v) => blurMs(v.image, v.blur_radius),
    async run(values, ctx) {
      const inputs = new NodeInputs(values, 'Blur.execute');
      const image = inputs.tensor('image');
      const radius = inputs.int('blur_radius');
      const out = pixelOp(() => blurImage(image, radius, inputs.float('sigma')));
      await finishWork(ctx, blurMs(image, radius));
      return { outputs: [out] };
    },
  });
}

/** ComfyUI's ImageSharpen. */
export function imageSharpenNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'ImageSharpen',
    style: 'v3',
    displayName: null,
    category: 'image/postprocessing',
    pythonModule: 'comfy_extras.nodes_post_processing',
    required: [
      ['image', ['IMAGE', {}]],
      ['sharpen_radius', ['INT', { default: 1, min: 1, max: 31, step: 1 }]],
      ['sigma', ['FLOAT', { default: 1.0, min: 0.1, max: 10.0, step: 0.01 }]],
      ['alpha', ['FLOAT', { default: 1.0, min: 0.0, max: 5.0, step: 0.01 }]],
    ],
    outputs: ['IMAGE'],
    nominalMs: (v) => blurMs(v.image, v.sharpen_radius),
    async run(values, ctx) {
      const inputs = new NodeInputs(values, 'Sharpen.execute');
      const image = inputs.tensor('image');
      const radius = inputs.int('sharpen_radius');
      const out = pixelOp(() =>
        sharpenImage(image, radius, inputs.float('sigma'), inputs.float('alpha')),
      );
      await finishWork(ctx, blurMs(image, radius));
      return { outputs: [out] };
    },
  });
}
