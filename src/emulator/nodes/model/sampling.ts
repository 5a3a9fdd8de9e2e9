/**
 * The text-to-image pipeline: CLIPTextEncode, EmptyLatentImage, KSampler, VAEDecode, VAEEncode.
 * Nothing is computed for real; durations are simulated (KSampler ~50 ms per step for a 512x512
 * image at speed 1), KSampler reports progress per step and, when a preview method is on, sends a
 * latent preview per step. VAEDecode draws a picture fully determined by the sampler settings.
 */
import type { InputSpec } from '../../../comfy/protocol.js';
import { cropImage, imageDims, type Tensor } from '../../images/index.js';
import { MAX_RESOLUTION } from '../core/image-basic.js';
import { NodeInputs } from '../inputs.js';
import { defineNode, type EmulatedNodeDefinition } from '../node-spec.js';
import { finishWork } from '../timing.js';
import { ClipHandle } from './clip-handle.js';
import { Conditioning } from './conditioning.js';
import { Latent } from './latent.js';
import { ModelHandle } from './model-handle.js';
import { encodePreview, previewMethod } from './preview.js';
import { decodeLatent, previewPixels } from './pseudo-image.js';
import { VaeHandle } from './vae-handle.js';

/** Sampler names of ComfyUI 0.8.0 (KSampler.SAMPLERS). */
export const SAMPLERS = [
  'euler',
  'euler_cfg_pp',
  'euler_ancestral',
  'euler_ancestral_cfg_pp',
  'heun',
  'heunpp2',
  'dpm_2',
  'dpm_2_ancestral',
  'lms',
  'dpm_fast',
  'dpm_adaptive',
  'dpmpp_2s_ancestral',
  'dpmpp_2s_ancestral_cfg_pp',
  'dpmpp_sde',
  'dpmpp_sde_gpu',
  'dpmpp_2m',
  'dpmpp_2m_cfg_pp',
  'dpmpp_2m_sde',
  'dpmpp_2m_sde_gpu',
  'dpmpp_2m_sde_heun',
  'dpmpp_2m_sde_heun_gpu',
  'dpmpp_3m_sde',
  'dpmpp_3m_sde_gpu',
  'ddpm',
  'lcm',
  'ipndm',
  'ipndm_v',
  'deis',
  'res_multistep',
  'res_multistep_cfg_pp',
  'res_multistep_ancestral',
  'res_multistep_ancestral_cfg_pp',
  'gradient_estimation',
  'gradient_estimation_cfg_pp',
  'er_sde',
  'seeds_2',
  'seeds_3',
  'sa_solver',
  'sa_solver_pece',
  'ddim',
  'uni_pc',
  'uni_pc_bh2',
] as const;

/** Scheduler names of ComfyUI 0.8.0 (KSampler.SCHEDULERS). */
export const SCHEDULERS = [
  'simple',
  'sgm_uniform',
  'karras',
  'exponential',
  'ddim_uniform',
  'beta',
  'normal',
  'linear_quadratic',
  'kl_optimal',
] as const;

/** Samplers that evaluate the model twice per step (and take twice as long). */
const TWO_PASS = new Set([
  'heun',
  'heunpp2',
  'dpm_2',
  'dpm_2_ancestral',
  'dpmpp_2s_ancestral',
  'dpmpp_sde',
  'dpmpp_sde_gpu',
]);

const STEP_MS = 50;
const ENCODE_TEXT_MS = 15;
const VAE_DECODE_MS = 120;
const VAE_ENCODE_MS = 100;

/** ms per sampler step: 50 ms for one 512x512 image, proportional to pixels and batch. */
export function stepMs(latent: Latent, sampler: string): number {
  const px = (latent.width * latent.height * latent.batch) / (512 * 512);
  return STEP_MS * Math.max(0.25, px) * (TWO_PASS.has(sampler) ? 2 : 1);
}

function vaeMs(base: number, pixels: number): number {
  return base * Math.max(0.25, pixels / (512 * 512));
}

/** ComfyUI's CLIPTextEncode ("CLIP Text Encode (Prompt)"). */
export function clipTextEncodeNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'CLIPTextEncode',
    style: 'classic',
    displayName: 'CLIP Text Encode (Prompt)',
    description: 'Encodes a text prompt with a CLIP model into conditioning for the sampler.',
    category: 'conditioning',
    pythonModule: 'nodes',
    required: [
      ['text', ['STRING', { multiline: true, dynamicPrompts: true }]],
      ['clip', ['CLIP']],
    ],
    outputs: ['CONDITIONING'],
    nominalMs: () => ENCODE_TEXT_MS,
    async run(values, ctx) {
      const inputs = new NodeInputs(values, 'CLIPTextEncode.encode');
      const clip = inputs.object('clip', ClipHandle, 'tokenize');
      const text = inputs.string('text');
      await finishWork(ctx, ENCODE_TEXT_MS);
      return { outputs: [new Conditioning(text, clip)] };
    },
  });
}

/** ComfyUI's EmptyLatentImage ("Empty Latent Image"). */
export function emptyLatentImageNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'EmptyLatentImage',
    style: 'classic',
    displayName: 'Empty Latent Image',
    description: 'Creates a batch of empty latent images to be denoised by a sampler.',
    category: 'latent',
    pythonModule: 'nodes',
    required: [
      ['width', ['INT', { default: 512, min: 16, max: MAX_RESOLUTION, step: 8 }]],
      ['height', ['INT', { default: 512, min: 16, max: MAX_RESOLUTION, step: 8 }]],
      ['batch_size', ['INT', { default: 1, min: 1, max: 4096 }]],
    ],
    outputs: ['LATENT'],
    nominalMs: () => 1,
    async run(values, ctx) {
      const inputs = new NodeInputs(values, 'EmptyLatentImage.generate');
      const latent = new Latent(
        inputs.int('batch_size', 1),
        Math.floor(inputs.int('width') / 8),
        Math.floor(inputs.int('height') / 8),
      );
      await finishWork(ctx, 1);
      return { outputs: [latent] };
    },
  });
}

// ComfyUI's max is 0xffffffffffffffff, which a double cannot hold; 2 ** 64 is the same double.
const SEED_SPEC: InputSpec = [
  'INT',
  { default: 0, min: 0, max: 2 ** 64, control_after_generate: true },
];

/** ComfyUI's KSampler. */
export function kSamplerNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'KSampler',
    style: 'classic',
    description:
      'Denoises a latent image with a model, guided by positive and negative conditioning.',
    category: 'sampling',
    pythonModule: 'nodes',
    required: [
      ['model', ['MODEL']],
      ['seed', SEED_SPEC],
      ['steps', ['INT', { default: 20, min: 1, max: 10000 }]],
      ['cfg', ['FLOAT', { default: 8.0, min: 0.0, max: 100.0, step: 0.1, round: 0.01 }]],
      ['sampler_name', [[...SAMPLERS]]],
      ['scheduler', [[...SCHEDULERS]]],
      ['positive', ['CONDITIONING']],
      ['negative', ['CONDITIONING']],
      ['latent_image', ['LATENT']],
      ['denoise', ['FLOAT', { default: 1.0, min: 0.0, max: 1.0, step: 0.01 }]],
    ],
    outputs: ['LATENT'],
    outputTooltips: ['The denoised latent.'],
    nominalMs: (v) => {
      const latent = v.latent_image instanceof Latent ? v.latent_image : new Latent(1, 64, 64);
      const steps = typeof v.steps === 'number' ? v.steps : 20;
      return steps * stepMs(latent, String(v.sampler_name));
    },
    async run(values, ctx) {
      const inputs = new NodeInputs(values, 'KSampler.sample');
      const model = inputs.object('model', ModelHandle, 'model');
      const seed = inputs.int('seed');
      const steps = inputs.int('steps');
      const cfg = inputs.float('cfg');
      const sampler = inputs.choice('sampler_name', SAMPLERS);
      const scheduler = inputs.choice('scheduler', SCHEDULERS);
      const positive = inputs.object('positive', Conditioning, 'copy');
      const negative = inputs.object('negative', Conditioning, 'copy');
      const latent = inputs.object('latent_image', Latent, 'copy');
      const denoise = inputs.float('denoise', 1);
      const result = new Latent(
        latent.batch,
        latent.latentWidth,
        latent.latentHeight,
        latent.source,
        {
          seed,
          steps,
          cfg,
          sampler,
          scheduler,
          denoise,
          model: model.identity,
          positive: positive.text,
          negative: negative.text,
        },
      );
      const perStep = stepMs(latent, sampler);
      const previews = previewMethod(ctx) !== 'none';
      for (let step = 1; step <= steps; step++) {
        // The sampler checks for an interrupt at every step.
        await ctx.work(perStep);
        ctx.progress(step, steps);
        if (previews) {
          const px = previewPixels(result, step, steps);
          const { image, mime } = await encodePreview(px, result.latentWidth, result.latentHeight);
          ctx.sendPreview(image, mime);
        }
      }
      return { outputs: [result] };
    },
  });
}

/** ComfyUI's VAEDecode ("VAE Decode"). */
export function vaeDecodeNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'VAEDecode',
    style: 'classic',
    displayName: 'VAE Decode',
    description: 'Decodes latent images back into pixel space images.',
    category: 'latent',
    pythonModule: 'nodes',
    required: [
      ['samples', ['LATENT']],
      ['vae', ['VAE']],
    ],
    outputs: ['IMAGE'],
    nominalMs: (v) =>
      v.samples instanceof Latent
        ? vaeMs(VAE_DECODE_MS, v.samples.width * v.samples.height * v.samples.batch)
        : VAE_DECODE_MS,
    async run(values, ctx) {
      const inputs = new NodeInputs(values, 'VAEDecode.decode');
      const latent = inputs.object('samples', Latent, 'samples');
      inputs.object('vae', VaeHandle, 'decode');
      await finishWork(ctx, vaeMs(VAE_DECODE_MS, latent.width * latent.height * latent.batch));
      return { outputs: [decodeLatent(latent)] };
    },
  });
}

/** ComfyUI's VAEEncode ("VAE Encode"). */
export function vaeEncodeNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'VAEEncode',
    style: 'classic',
    displayName: 'VAE Encode',
    category: 'latent',
    pythonModule: 'nodes',
    required: [
      ['pixels', ['IMAGE']],
      ['vae', ['VAE']],
    ],
    outputs: ['LATENT'],
    nominalMs: () => VAE_ENCODE_MS,
    async run(values, ctx) {
      const inputs = new NodeInputs(values, 'VAEEncode.encode');
      const pixels = inputs.tensor('pixels');
      inputs.object('vae', VaeHandle, 'encode');
      const { batch, width, height } = imageDims(pixels);
      const source: Tensor = cropToMultipleOf8(pixels);
      await finishWork(ctx, vaeMs(VAE_ENCODE_MS, width * height * batch));
      return {
        outputs: [new Latent(batch, Math.floor(width / 8), Math.floor(height / 8), source)],
      };
    },
  });
}

/** Center crop to multiples of 8, as ComfyUI's VAE does before encoding. */
function cropToMultipleOf8(image: Tensor): Tensor {
  const { width, height } = imageDims(image);
  const w = Math.floor(width / 8) * 8;
  const h = Math.floor(height / 8) * 8;
  if (w === width && h === height) return image;
  return cropImage(image, w, h, Math.floor((width % 8) / 2), Math.floor((height % 8) / 2));
}
