/**
 * Model-free image nodes from ComfyUI's nodes.py and comfy_extras.nodes_images: EmptyImage,
 * ImageScale, ImageScaleBy, ImageInvert, ImagePadForOutpaint, ImageCrop.
 */
import {
  cropImage,
  imageDims,
  invert,
  padForOutpaint,
  pyRound,
  resizeImage,
  solidImage,
  type Tensor,
  UPSCALE_METHODS,
} from '../../images/index.js';
import { NodeInputs } from '../inputs.js';
import { defineNode, type EmulatedNodeDefinition } from '../node-spec.js';
import { finishWork, pixelOp } from '../timing.js';

/** ComfyUI's MAX_RESOLUTION. */
export const MAX_RESOLUTION = 16384;

/** Nominal ms of a simple per-pixel node: 2 ms plus 1 ms per megapixel of the batch. */
export function pixelMs(value: unknown): number {
  const shape = (value as { shape?: readonly number[] } | undefined)?.shape;
  if (!Array.isArray(shape)) return 2;
  const px = shape.slice(0, 3).reduce((a, b) => a * b, 1);
  return 2 + px / 1e6;
}

/** ComfyUI's EmptyImage. */
export function emptyImageNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'EmptyImage',
    style: 'classic',
    category: 'image',
    pythonModule: 'nodes',
    required: [
      ['width', ['INT', { default: 512, min: 1, max: MAX_RESOLUTION, step: 1 }]],
      ['height', ['INT', { default: 512, min: 1, max: MAX_RESOLUTION, step: 1 }]],
      ['batch_size', ['INT', { default: 1, min: 1, max: 4096 }]],
      ['color', ['INT', { default: 0, min: 0, max: 0xffffff, step: 1, display: 'color' }]],
    ],
    outputs: ['IMAGE'],
    nominalMs: () => 2,
    async run(values, ctx) {
      const inputs = new NodeInputs(values, 'EmptyImage.generate');
      const image = solidImage(
        inputs.int('width'),
        inputs.int('height'),
        inputs.int('batch_size', 1),
        inputs.int('color', 0),
      );
      await finishWork(ctx, 2);
      return { outputs: [image] };
    },
  });
}

/** ComfyUI's ImageScale ("Upscale Image"). */
export function imageScaleNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'ImageScale',
    style: 'classic',
    displayName: 'Upscale Image',
    category: 'image/upscaling',
    pythonModule: 'nodes',
    required: [
      ['image', ['IMAGE']],
      ['upscale_method', [[...UPSCALE_METHODS]]],
      ['width', ['INT', { default: 512, min: 0, max: MAX_RESOLUTION, step: 1 }]],
      ['height', ['INT', { default: 512, min: 0, max: MAX_RESOLUTION, step: 1 }]],
      ['crop', [['disabled', 'center']]],
    ],
    outputs: ['IMAGE'],
    nominalMs: (v) => pixelMs(v.image),
    async run(values, ctx) {
      const inputs = new NodeInputs(values, 'ImageScale.upscale');
      const image = inputs.tensor('image');
      const method = inputs.choice('upscale_method', UPSCALE_METHODS);
      let width = inputs.int('width');
      let height = inputs.int('height');
      const crop = inputs.choice('crop', ['disabled', 'center'] as const);
      let out: Tensor = image;
      if (width !== 0 || height !== 0) {
        const dims = imageDims(image);
        if (width === 0) width = Math.max(1, pyRound((dims.width * height) / dims.height));
        else if (height === 0) height = Math.max(1, pyRound((dims.height * width) / dims.width));
        out = pixelOp(() => resizeImage(image, width, height, method, crop));
      }
      await finishWork(ctx, pixelMs(out));
      return { outputs: [out] };
    },
  });
}

/** ComfyUI's ImageScaleBy ("Upscale Image By"). */
export function imageScaleByNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'ImageScaleBy',
    style: 'classic',
    displayName: 'Upscale Image By',
    category: 'image/upscaling',
    pythonModule: 'nodes',
    required: [
      ['image', ['IMAGE']],
      ['upscale_method', [[...UPSCALE_METHODS]]],
      ['scale_by', ['FLOAT', { default: 1.0, min: 0.01, max: 8.0, step: 0.01 }]],
    ],
    outputs: ['IMAGE'],
    nominalMs: (v) => pixelMs(v.image),
    async run(values, ctx) {
      const inputs = new NodeInputs(values, 'ImageScaleBy.upscale');
      const image = inputs.tensor('image');
      const method = inputs.choice('upscale_method', UPSCALE_METHODS);
      const scale = inputs.float('scale_by');
      const dims = imageDims(image);
      const out = pixelOp(() =>
        resizeImage(image, pyRound(dims.width * scale), pyRound(dims.height * scale), method),
      );
      await finishWork(ctx, pixelMs(out));
      return { outputs: [out] };
    },
  });
}

/** ComfyUI's ImageInvert ("Invert Image"). */
export function imageInvertNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'ImageInvert',
    style: 'classic',
    displayName: 'Invert Image',
    category: 'image',
    pythonModule: 'nodes',
    required: [['image', ['IMAGE']]],
    outputs: ['IMAGE'],
    nominalMs: (v) => pixelMs(v.image),
    async run(values, ctx) {
      const image = new NodeInputs(values, 'ImageInvert.invert').tensor('image');
      const out = pixelOp(() => invert(image));
      await finishWork(ctx, pixelMs(out));
      return { outputs: [out] };
    },
  });
}

/** ComfyUI's ImagePadForOutpaint ("Pad Image for Outpainting"). */
export function imagePadForOutpaintNode(): EmulatedNodeDefinition {
  const side = (): ['INT', { default: number; min: number; max: number; step: number }] => [
    'INT',
    { default: 0, min: 0, max: MAX_RESOLUTION, step: 8 },
  ];
  return defineNode({
    name: 'ImagePadForOutpaint',
    style: 'classic',
    displayName: 'Pad Image for Outpainting',
    category: 'image',
    pythonModule: 'nodes',
    required: [
      ['image', ['IMAGE']],
      ['left', side()],
      ['top', side()],
      ['right', side()],
      ['bottom', side()],
      ['feathering', ['INT', { default: 40, min: 0, max: MAX_RESOLUTION, step: 1 }]],
    ],
    outputs: ['IMAGE', 'MASK'],
    nominalMs: (v) => pixelMs(v.image),
    async run(values, ctx) {
      const inputs = new NodeInputs(values, 'ImagePadForOutpaint.expand_image');
      const image = inputs.tensor('image');
      const { image: out, mask } = pixelOp(() =>
        padForOutpaint(
          image,
          inputs.int('left'),
          inputs.int('top'),
          inputs.int('right'),
          inputs.int('bottom'),
          inputs.int('feathering'),
        ),
      );
      await finishWork(ctx, pixelMs(out));
      return { outputs: [out, mask] };
    },
  });
}

/** ComfyUI's ImageCrop (comfy_extras, schema node). */
export function imageCropNode(): EmulatedNodeDefinition {
  const dim = (def: number, min: number): ['INT', Record<string, number>] => [
    'INT',
    { default: def, min, max: MAX_RESOLUTION, step: 1 },
  ];
  return defineNode({
    name: 'ImageCrop',
    style: 'v3',
    displayName: 'Image Crop',
    category: 'image/transform',
    pythonModule: 'comfy_extras.nodes_images',
    required: [
      ['image', ['IMAGE', {}]],
      ['width', dim(512, 1)],
      ['height', dim(512, 1)],
      ['x', dim(0, 0)],
      ['y', dim(0, 0)],
    ],
    outputs: ['IMAGE'],
    nominalMs: (v) => pixelMs(v.image),
    async run(values, ctx) {
      const inputs = new NodeInputs(values, 'ImageCrop.execute');
      const image = inputs.tensor('image');
      const out = pixelOp(() =>
        cropImage(
          image,
          inputs.int('width'),
          inputs.int('height'),
          inputs.int('x'),
          inputs.int('y'),
        ),
      );
      await finishWork(ctx, pixelMs(out));
      return { outputs: [out] };
    },
  });
}
