/**
 * The image output nodes: SaveImage (output directory, PNG with prompt metadata), PreviewImage
 * (temp directory, random suffix) and SaveImageWebsocket (sends each image as a PNG preview).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { JsonValue } from '../../../comfy/protocol.js';
import { imageDims, imageToPng, type Tensor } from '../../images/index.js';
import { NodeInputs } from '../inputs.js';
import { type NodeSetContext, pngMetadata } from '../node-set.js';
import { defineNode, type EmulatedNodeDefinition } from '../node-spec.js';
import type { NodeContext, NodeResult } from '../types.js';

const SAVE_MS_PER_IMAGE = 8;
const PREVIEW_MS_PER_IMAGE = 3;
const PROMPT_HIDDEN = { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' } as const;

interface SaveOptions {
  dir: (ctx: NodeContext) => string;
  type: 'output' | 'temp';
  compressLevel: number;
  prefixAppend: () => string;
  msPerImage: number;
}

async function saveImages(
  images: Tensor,
  prefix: string,
  ctx: NodeContext,
  shared: NodeSetContext,
  opts: SaveOptions,
): Promise<NodeResult> {
  const { batch, height, width } = imageDims(images);
  const dir = opts.dir(ctx);
  const fullPrefix = prefix + opts.prefixAppend();
  const now = new Date();
  let target = shared.savePaths.claim(dir, fullPrefix, width, height, batch, 'png', now);
  const text = pngMetadata(ctx, shared);
  const results: JsonValue[] = [];
  let counter = target.counter;
  for (let b = 0; b < batch; b++) {
    const png = imageToPng(images, b, { compressLevel: opts.compressLevel, text });
    let file = fileName(target.filename, b, counter);
    // Synchronous on purpose: one prompt runs at a time, and an async write would make the
    // executor wait a thread-pool round trip per image (measured: half the emulator's throughput).
    // Exclusive create instead of an existence check per save: only when something else wrote
    // the remembered name is the folder listed again (ComfyUI's counter = highest + 1).
    try {
      writeFileSync(path.join(target.folder, file), png, { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      target = shared.savePaths.rescan(dir, fullPrefix, width, height, batch - b, 'png', now);
      counter = target.counter;
      file = fileName(target.filename, b, counter);
      writeFileSync(path.join(target.folder, file), png);
    }
    results.push({ filename: file, subfolder: target.subfolder, type: opts.type });
    counter += 1;
    await ctx.work(opts.msPerImage);
  }
  return { outputs: [], ui: { images: results } };
}

function fileName(stem: string, b: number, counter: number): string {
  return `${stem.replaceAll('%batch_num%', String(b))}_${String(counter).padStart(5, '0')}_.png`;
}

/** ComfyUI's SaveImage. */
export function saveImageNode(shared: NodeSetContext): EmulatedNodeDefinition {
  return defineNode({
    name: 'SaveImage',
    style: 'classic',
    displayName: 'Save Image',
    description: 'Saves the input images to your ComfyUI output directory.',
    category: 'image',
    pythonModule: 'nodes',
    outputNode: true,
    required: [
      ['images', ['IMAGE', { tooltip: 'The images to save.' }]],
      [
        'filename_prefix',
        [
          'STRING',
          {
            default: 'ComfyUI',
            tooltip:
              'The prefix for the file to save. This may include formatting information such as %date:yyyy-MM-dd% or %Empty Latent Image.width% to include values from nodes.',
          },
        ],
      ],
    ],
    hidden: PROMPT_HIDDEN,
    outputs: [],
    nominalMs: (inputs) => SAVE_MS_PER_IMAGE * batchOf(inputs.images),
    run(values, ctx) {
      const inputs = new NodeInputs(values, 'SaveImage.save_images');
      return saveImages(
        inputs.tensor('images'),
        inputs.string('filename_prefix', 'ComfyUI'),
        ctx,
        shared,
        {
          dir: (c) => c.dirs.output,
          type: 'output',
          compressLevel: 4,
          prefixAppend: () => '',
          msPerImage: SAVE_MS_PER_IMAGE,
        },
      );
    },
  });
}

// The alphabet ComfyUI draws PreviewImage suffixes from (sic: "p" twice, no "w").
const SUFFIX_LETTERS = 'abcdefghijklmnopqrstupvxyz';

function randomSuffix(): string {
  let s = '_temp_';
  for (let i = 0; i < 5; i++)
    s += SUFFIX_LETTERS[Math.floor(Math.random() * SUFFIX_LETTERS.length)];
  return s;
}

/** ComfyUI's PreviewImage. */
export function previewImageNode(shared: NodeSetContext): EmulatedNodeDefinition {
  return defineNode({
    name: 'PreviewImage',
    style: 'classic',
    displayName: 'Preview Image',
    description: 'Saves the input images to your ComfyUI output directory.',
    category: 'image',
    pythonModule: 'nodes',
    outputNode: true,
    required: [['images', ['IMAGE']]],
    hidden: PROMPT_HIDDEN,
    outputs: [],
    nominalMs: (inputs) => PREVIEW_MS_PER_IMAGE * batchOf(inputs.images),
    run(values, ctx) {
      const inputs = new NodeInputs(values, 'PreviewImage.save_images');
      return saveImages(inputs.tensor('images'), 'ComfyUI', ctx, shared, {
        dir: (c) => c.dirs.temp,
        type: 'temp',
        compressLevel: 1,
        prefixAppend: randomSuffix,
        msPerImage: PREVIEW_MS_PER_IMAGE,
      });
    },
  });
}

/** The SaveImageWebsocket example node that ships in ComfyUI's custom_nodes folder. */
export function saveImageWebsocketNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'SaveImageWebsocket',
    style: 'classic',
    category: 'api/image',
    pythonModule: 'custom_nodes.websocket_image_save',
    outputNode: true,
    required: [['images', ['IMAGE']]],
    outputs: [],
    // Its IS_CHANGED returns the current time: it never comes from the cache.
    isChanged: () => Number.NaN,
    nominalMs: (inputs) => PREVIEW_MS_PER_IMAGE * batchOf(inputs.images),
    async run(values, ctx) {
      const images = new NodeInputs(values, 'SaveImageWebsocket.save_images').tensor('images');
      const { batch } = imageDims(images);
      for (let b = 0; b < batch; b++) {
        ctx.progress(b, batch);
        ctx.sendPreview(imageToPng(images, b, { compressLevel: 1 }), 'image/png');
        await ctx.work(PREVIEW_MS_PER_IMAGE);
      }
      return { outputs: [] };
    },
  });
}

/** Batch size of an IMAGE value, 1 for anything else (duration estimates). */
export function batchOf(value: unknown): number {
  const shape = (value as { shape?: readonly number[] } | undefined)?.shape;
  return Array.isArray(shape) && typeof shape[0] === 'number' ? shape[0] : 1;
}
