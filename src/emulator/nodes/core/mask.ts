/**
 * Mask nodes (comfy_extras.nodes_mask, schema nodes): ImageToMask, MaskToImage, InvertMask,
 * ImageCompositeMasked.
 */
import {
  compositeMasked,
  imageToMask,
  invert,
  MASK_CHANNELS,
  maskToImage,
} from '../../images/index.js';
import { NodeInputs } from '../inputs.js';
import { COMFY_ROOT, PythonNodeError, tracebackFrame } from '../node-error.js';
import { defineNode, type EmulatedNodeDefinition, v3Combo } from '../node-spec.js';
import { asNodeError, finishWork, pixelOp } from '../timing.js';
import { MAX_RESOLUTION, pixelMs } from './image-basic.js';

const MODULE = 'comfy_extras.nodes_mask';

/** ComfyUI's ImageToMask ("Convert Image to Mask"). */
export function imageToMaskNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'ImageToMask',
    style: 'v3',
    displayName: 'Convert Image to Mask',
    category: 'mask',
    pythonModule: MODULE,
    required: [
      ['image', ['IMAGE', {}]],
      ['channel', v3Combo(MASK_CHANNELS)],
    ],
    outputs: ['MASK'],
    nominalMs: (v) => pixelMs(v.image),
    async run(values, ctx) {
      const inputs = new NodeInputs(values, 'ImageToMask.execute');
      const image = inputs.tensor('image');
      const channel = inputs.choice('channel', MASK_CHANNELS);
      let mask: ReturnType<typeof imageToMask>;
      try {
        mask = imageToMask(image, channel);
      } catch (err) {
        const e = asNodeError(err);
        if (e instanceof PythonNodeError) {
          throw new PythonNodeError(e.exceptionType, e.message, [
            tracebackFrame(
              `${COMFY_ROOT}/comfy_extras/nodes_mask.py`,
              141,
              'execute',
              'mask = image[:, :, :, channels.index(channel)]',
            ),
          ]);
        }
        throw e;
      }
      await finishWork(ctx, pixelMs(image));
      return { outputs: [mask] };
    },
  });
}

/** ComfyUI's MaskToImage ("Convert Mask to Image"). */
export function maskToImageNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'MaskToImage',
    style: 'v3',
    displayName: 'Convert Mask to Image',
    category: 'mask',
    pythonModule: MODULE,
    required: [['mask', ['MASK', {}]]],
    outputs: ['IMAGE'],
    nominalMs: () => 2,
    async run(values, ctx) {
      const mask = new NodeInputs(values, 'MaskToImage.execute').tensor('mask');
      const out = pixelOp(() => maskToImage(mask));
      await finishWork(ctx, pixelMs(out));
      return { outputs: [out] };
    },
  });
}

/** ComfyUI's InvertMask. */
export function invertMaskNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'InvertMask',
    style: 'v3',
    displayName: null,
    category: 'mask',
    pythonModule: MODULE,
    required: [['mask', ['MASK', {}]]],
    outputs: ['MASK'],
    nominalMs: () => 2,
    async run(values, ctx) {
      const mask = new NodeInputs(values, 'InvertMask.execute').tensor('mask');
      const out = pixelOp(() => invert(mask));
      await finishWork(ctx, 2);
      return { outputs: [out] };
    },
  });
}

/** ComfyUI's ImageCompositeMasked. */
export function imageCompositeMaskedNode(): EmulatedNodeDefinition {
  const coord: ['INT', Record<string, number>] = [
    'INT',
    { default: 0, min: 0, max: MAX_RESOLUTION, step: 1 },
  ];
  return defineNode({
    name: 'ImageCompositeMasked',
    style: 'v3',
    displayName: null,
    category: 'image',
    pythonModule: MODULE,
    required: [
      ['destination', ['IMAGE', {}]],
      ['source', ['IMAGE', {}]],
      ['x', coord],
      ['y', coord],
      ['resize_source', ['BOOLEAN', { default: false }]],
    ],
    optional: [['mask', ['MASK', { optional: true }]]],
    outputs: ['IMAGE'],
    nominalMs: (v) => pixelMs(v.destination),
    async run(values, ctx) {
      const inputs = new NodeInputs(values, 'ImageCompositeMasked.execute');
      const destination = inputs.tensor('destination');
      const out = pixelOp(() =>
        compositeMasked(
          destination,
          inputs.tensor('source'),
          inputs.int('x'),
          inputs.int('y'),
          inputs.bool('resize_source', false),
          inputs.optionalTensor('mask'),
        ),
      );
      await finishWork(ctx, pixelMs(out));
      return { outputs: [out] };
    },
  });
}
