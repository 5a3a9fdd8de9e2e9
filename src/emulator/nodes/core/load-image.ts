/**
 * LoadImage and LoadImageMask: read a file from the input directory (or an annotated output/temp
 * file) into IMAGE / MASK tensors exactly as ComfyUI does. The IMAGE is always RGB; LoadImage's
 * MASK is `1 - alpha`, or a 64x64 zero mask when the file has no alpha.
 */
import path from 'node:path';
import { channelToMask, pixelsToImage, Tensor } from '../../images/index.js';
import {
  annotatedPath,
  annotatedPathExists,
  fileSha256,
  listInputImages,
  splitAnnotation,
} from '../files.js';
import { readImageFile } from '../image-file.js';
import { NodeInputs } from '../inputs.js';
import { COMFY_ROOT, PythonNodeError, tracebackFrame } from '../node-error.js';
import { defineNode, type EmulatedNodeDefinition } from '../node-spec.js';
import type { EmulatorDirs, NodeEnvironment } from '../types.js';

const LOAD_MS = 5;

function resolveForRun(name: string, dirs: EmulatorDirs): string {
  const full = annotatedPath(name, dirs);
  if (full !== undefined) return full;
  const split = splitAnnotation(name, dirs);
  return path.join(split.baseDir ?? dirs.input, split.name);
}

function validateImage(inputs: Record<string, unknown>, env: NodeEnvironment): true | string {
  const image = inputs.image;
  if (typeof image !== 'string' || !annotatedPathExists(image, env.dirs)) {
    return `Invalid image file: ${typeof image === 'string' ? image : String(image)}`;
  }
  return true;
}

function isChanged(inputs: Record<string, unknown>, env: NodeEnvironment): string | number {
  const image = inputs.image;
  if (typeof image !== 'string') return Number.NaN;
  const full = annotatedPath(image, env.dirs);
  return full === undefined ? Number.NaN : fileSha256(full);
}

function withFrame(err: unknown, frame: string): unknown {
  if (err instanceof PythonNodeError)
    return new PythonNodeError(err.exceptionType, err.message, [frame]);
  return err;
}

/** ComfyUI's LoadImage. */
export function loadImageNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'LoadImage',
    style: 'classic',
    displayName: 'Load Image',
    category: 'image',
    pythonModule: 'nodes',
    required: [['image', (env) => [listInputImages(env.dirs.input), { image_upload: true }]]],
    outputs: ['IMAGE', 'MASK'],
    validateInputs: validateImage,
    customValidatedInputs: ['image'],
    isChanged,
    nominalMs: () => LOAD_MS,
    async run(values, ctx) {
      const inputs = new NodeInputs(values, 'LoadImage.load_image');
      const file = resolveForRun(inputs.string('image'), ctx.dirs);
      const decoded = await readForNode(
        file,
        1664,
        'img = node_helpers.pillow(Image.open, image_path)',
      );
      const first = decoded.frames[0];
      if (!first) throw new PythonNodeError('IndexError', 'list index out of range');
      // Frames of another size than the first are skipped, as ComfyUI does.
      const frames = decoded.frames.filter(
        (f) => f.width === first.width && f.height === first.height,
      );
      const images: Tensor[] = [];
      const masks: Tensor[] = [];
      for (const f of frames) {
        images.push(pixelsToImage(f.rgba, f.width, f.height, 4, 3));
        masks.push(
          decoded.hasAlpha
            ? channelToMask(f.rgba, f.width, f.height, 4, 3, true)
            : new Tensor([1, 64, 64]),
        );
      }
      await ctx.work(LOAD_MS);
      return { outputs: [concat(images), concat(masks)] };
    },
  });
}

/**
 * Reads an input image; a failure carries the frame of ComfyUI's nodes.py `load_image` where
 * the real node opens the file (its line and code differ between LoadImage and LoadImageMask).
 */
async function readForNode(
  file: string,
  line: number,
  code: string,
): Promise<Awaited<ReturnType<typeof readImageFile>>> {
  try {
    return await readImageFile(file);
  } catch (err) {
    throw withFrame(err, tracebackFrame(`${COMFY_ROOT}/nodes.py`, line, 'load_image', code));
  }
}

const MASK_CHANNEL_NAMES = ['alpha', 'red', 'green', 'blue'] as const;

/** ComfyUI's LoadImageMask. */
export function loadImageMaskNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'LoadImageMask',
    style: 'classic',
    displayName: 'Load Image (as Mask)',
    category: 'mask',
    pythonModule: 'nodes',
    required: [
      ['image', (env) => [listInputImages(env.dirs.input), { image_upload: true }]],
      ['channel', [[...MASK_CHANNEL_NAMES]]],
    ],
    outputs: ['MASK'],
    validateInputs: validateImage,
    customValidatedInputs: ['image'],
    isChanged,
    nominalMs: () => LOAD_MS,
    async run(values, ctx) {
      const inputs = new NodeInputs(values, 'LoadImageMask.load_image');
      const file = resolveForRun(inputs.string('image'), ctx.dirs);
      const channel = inputs.choice('channel', MASK_CHANNEL_NAMES);
      const decoded = await readForNode(
        file,
        1721,
        'i = node_helpers.pillow(Image.open, image_path)',
      );
      const f = decoded.frames[0];
      if (!f) throw new PythonNodeError('IndexError', 'list index out of range');
      // The file is converted to RGBA first, so every channel exists; alpha is inverted.
      const index = channel === 'alpha' ? 3 : MASK_CHANNEL_NAMES.indexOf(channel) - 1;
      const rgba = decoded.hasAlpha ? f.rgba : opaque(f.rgba);
      await ctx.work(LOAD_MS);
      return { outputs: [channelToMask(rgba, f.width, f.height, 4, index, channel === 'alpha')] };
    },
  });
}

function opaque(rgba: Uint8Array): Uint8Array {
  const out = rgba.slice();
  for (let i = 3; i < out.length; i += 4) out[i] = 255;
  return out;
}

function concat(parts: Tensor[]): Tensor {
  const first = parts[0];
  if (!first) throw new PythonNodeError('IndexError', 'list index out of range');
  if (parts.length === 1) return first;
  const rest = first.shape.slice(1);
  const data = new Float32Array(parts.reduce((n, t) => n + t.size, 0));
  let o = 0;
  for (const t of parts) {
    data.set(t.data, o);
    o += t.size;
  }
  return new Tensor([parts.length, ...rest], data);
}
