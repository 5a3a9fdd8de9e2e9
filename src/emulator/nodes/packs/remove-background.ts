/**
 * The "remove-background" pack: the two nodes of the popular ComfyUI-Inspyrenet-Rembg custom node
 * pack. Instead of a segmentation network, pixels close to the background colour (the median of the
 * four corners) become transparent; the output is RGBA and the MASK is its alpha. Deterministic.
 */
import { imageDims, Tensor } from '../../images/index.js';
import { NodeInputs } from '../inputs.js';
import { defineNode, type EmulatedNodeDefinition } from '../node-spec.js';
import type { NodePack } from '../packs.js';
import { finishWork } from '../timing.js';

const MODULE = 'custom_nodes.ComfyUI-Inspyrenet-Rembg';
/** Colour distance (max over channels) below which a pixel is background. */
const TOLERANCE = 0.08;
/** Width of the soft edge above the tolerance. */
const FEATHER = 0.08;

function median4(a: number, b: number, c: number, d: number): number {
  const s = [a, b, c, d].sort((x, y) => x - y);
  return ((s[1] ?? 0) + (s[2] ?? 0)) / 2;
}

/**
 * Makes the background of each image transparent. `threshold` undefined gives a soft alpha;
 * a number gives a binary alpha (`soft > threshold`), as the Advanced node does.
 *
 * @example
 * const { image, mask } = removeBackground(photo);
 */
export function removeBackground(
  input: Tensor,
  threshold?: number,
): { image: Tensor; mask: Tensor } {
  const { batch, height, width, channels } = imageDims(input);
  const image = new Tensor([batch, height, width, 4]);
  const mask = new Tensor([batch, height, width]);
  const plane = height * width;
  const at = (b: number, p: number, c: number) =>
    input.data[(b * plane + p) * channels + Math.min(c, channels - 1)] ?? 0;
  for (let b = 0; b < batch; b++) {
    const corners = [0, width - 1, (height - 1) * width, plane - 1];
    const bg = [0, 1, 2].map((c) =>
      median4(
        at(b, corners[0] ?? 0, c),
        at(b, corners[1] ?? 0, c),
        at(b, corners[2] ?? 0, c),
        at(b, corners[3] ?? 0, c),
      ),
    );
    for (let p = 0; p < plane; p++) {
      let d = 0;
      for (let c = 0; c < 3; c++) d = Math.max(d, Math.abs(at(b, p, c) - (bg[c] ?? 0)));
      const soft = Math.min(1, Math.max(0, (d - TOLERANCE) / FEATHER));
      const alpha = threshold === undefined ? soft : soft > threshold ? 1 : 0;
      const o = (b * plane + p) * 4;
      image.data[o] = at(b, p, 0);
      image.data[o + 1] = at(b, p, 1);
      image.data[o + 2] = at(b, p, 2);
      image.data[o + 3] = alpha;
      mask.data[b * plane + p] = alpha;
    }
  }
  return { image, mask };
}

function rembgMs(image: unknown): number {
  const shape = (image as { shape?: number[] } | undefined)?.shape;
  const mp = shape ? ((shape[0] ?? 1) * (shape[1] ?? 1) * (shape[2] ?? 1)) / 1e6 : 1;
  return 80 + 150 * mp;
}

function rembgNode(advanced: boolean): EmulatedNodeDefinition {
  const name = advanced ? 'InspyrenetRembgAdvanced' : 'InspyrenetRembg';
  return defineNode({
    name,
    style: 'classic',
    displayName: advanced ? 'Inspyrenet Rembg Advanced' : 'Inspyrenet Rembg',
    category: 'image',
    pythonModule: MODULE,
    required: advanced
      ? [
          ['image', ['IMAGE']],
          ['threshold', ['FLOAT', { default: 0.5, min: 0.0, max: 1.0, step: 0.01 }]],
          ['torchscript_jit', [['default', 'on']]],
        ]
      : [
          ['image', ['IMAGE']],
          ['torchscript_jit', [['default', 'on']]],
        ],
    outputs: ['IMAGE', 'MASK'],
    nominalMs: (v) => rembgMs(v.image),
    async run(values, ctx) {
      const inputs = new NodeInputs(values, `${name}.remove_background`);
      const image = inputs.tensor('image');
      const threshold = advanced ? inputs.float('threshold', 0.5) : undefined;
      const { batch } = imageDims(image);
      const per = rembgMs(image) / batch;
      for (let i = 1; i <= batch; i++) {
        await finishWork(ctx, per);
        ctx.progress(i, batch);
      }
      const out = removeBackground(image, threshold);
      return { outputs: [out.image, out.mask] };
    },
  });
}

export const removeBackgroundPack: NodePack = {
  name: 'remove-background',
  folder: 'ComfyUI-Inspyrenet-Rembg',
  description: 'Background removal (InspyrenetRembg, InspyrenetRembgAdvanced).',
  create: () => [rembgNode(false), rembgNode(true)],
};
