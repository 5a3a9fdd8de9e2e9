/** API-format prompts the emulator runs, for the dispatch tests and benchmarks. */
import type { ApiPrompt } from '../../../comfy/index.js';

/** Default checkpoint of an emulated instance. */
export const DEFAULT_CHECKPOINT = 'v1-5-pruned-emaonly.safetensors';

/**
 * txt2img: checkpoint → text → sampler (progress events, interruptible) → decode → SaveImage.
 *
 * @example
 * txt2img({ ckpt: 'sdxl.safetensors', steps: 4, prefix: 'job-1' });
 */
export function txt2img(
  options: { ckpt?: string; steps?: number; size?: number; prefix?: string; seed?: number } = {},
): ApiPrompt {
  const size = options.size ?? 64;
  return {
    '1': {
      class_type: 'CheckpointLoaderSimple',
      inputs: { ckpt_name: options.ckpt ?? DEFAULT_CHECKPOINT },
    },
    '2': { class_type: 'CLIPTextEncode', inputs: { text: 'a lighthouse', clip: ['1', 1] } },
    '3': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['1', 1] } },
    '4': {
      class_type: 'EmptyLatentImage',
      inputs: { width: size, height: size, batch_size: 1 },
    },
    '5': {
      class_type: 'KSampler',
      inputs: {
        model: ['1', 0],
        positive: ['2', 0],
        negative: ['3', 0],
        latent_image: ['4', 0],
        seed: options.seed ?? 1,
        steps: options.steps ?? 4,
        cfg: 7,
        sampler_name: 'euler',
        scheduler: 'normal',
        denoise: 1,
      },
    },
    '6': { class_type: 'VAEDecode', inputs: { samples: ['5', 0], vae: ['1', 2] } },
    '7': {
      class_type: 'SaveImage',
      inputs: { images: ['6', 0], filename_prefix: options.prefix ?? 'cc' },
    },
  };
}

/**
 * The smallest prompt with a file output: EmptyImage → SaveImage.
 *
 * @example
 * emptySave({ prefix: 'a', color: 0xff0000 });
 */
export function emptySave(
  options: { prefix?: string; color?: number; size?: number } = {},
): ApiPrompt {
  const size = options.size ?? 16;
  return {
    '1': {
      class_type: 'EmptyImage',
      inputs: { width: size, height: size, batch_size: 1, color: options.color ?? 0x336699 },
    },
    '2': {
      class_type: 'SaveImage',
      inputs: { images: ['1', 0], filename_prefix: options.prefix ?? 'cc' },
    },
  };
}
