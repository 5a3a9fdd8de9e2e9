/**
 * Model loaders: CheckpointLoaderSimple, VAELoader, LoraLoader, UpscaleModelLoader. Their combo
 * lists are the instance's model lists; loading takes simulated time and yields handles.
 */
import type { InputSpec } from '../../../comfy/protocol.js';
import { NodeInputs } from '../inputs.js';
import { PythonNodeError } from '../node-error.js';
import { defineNode, type EmulatedNodeDefinition, v3Combo } from '../node-spec.js';
import { finishWork } from '../timing.js';
import type { NodeContext, NodeEnvironment } from '../types.js';
import { ClipHandle } from './clip-handle.js';
import { ModelHandle } from './model-handle.js';
import { UpscaleModel } from './upscale-model.js';
import { VaeHandle } from './vae-handle.js';

const CHECKPOINT_MS = 800;
const VAE_MS = 120;
const LORA_MS = 150;
const UPSCALE_LOAD_MS = 200;

function list(env: NodeEnvironment, folder: string): string[] {
  return [...(env.models[folder] ?? [])];
}

/** The file must (still) be in the folder's list, as folder_paths.get_full_path_or_raise checks. */
function requireModel(ctx: NodeContext, folder: string, name: string): void {
  if (!(ctx.models[folder] ?? []).includes(name)) {
    throw new PythonNodeError(
      'FileNotFoundError',
      `Model in folder '${folder}' with filename '${name}' not found.`,
    );
  }
}

/** ComfyUI's CheckpointLoaderSimple ("Load Checkpoint"). */
export function checkpointLoaderSimpleNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'CheckpointLoaderSimple',
    style: 'classic',
    displayName: 'Load Checkpoint',
    description:
      'Loads a diffusion model checkpoint, diffusion models are used to denoise latents.',
    category: 'loaders',
    pythonModule: 'nodes',
    required: [
      [
        'ckpt_name',
        (env): InputSpec => [
          list(env, 'checkpoints'),
          { tooltip: 'The name of the checkpoint (model) to load.' },
        ],
      ],
    ],
    outputs: ['MODEL', 'CLIP', 'VAE'],
    outputTooltips: [
      'The model used for denoising latents.',
      'The CLIP model used for encoding text prompts.',
      'The VAE model used for encoding and decoding images to and from latent space.',
    ],
    nominalMs: () => CHECKPOINT_MS,
    async run(values, ctx) {
      const name = new NodeInputs(values, 'CheckpointLoaderSimple.load_checkpoint').string(
        'ckpt_name',
      );
      requireModel(ctx, 'checkpoints', name);
      await finishWork(ctx, CHECKPOINT_MS);
      return { outputs: [new ModelHandle(name), new ClipHandle(name), new VaeHandle(name)] };
    },
  });
}

/** ComfyUI's VAELoader ("Load VAE"). */
export function vaeLoaderNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'VAELoader',
    style: 'classic',
    displayName: 'Load VAE',
    category: 'loaders',
    pythonModule: 'nodes',
    required: [['vae_name', (env): InputSpec => [list(env, 'vae')]]],
    outputs: ['VAE'],
    nominalMs: () => VAE_MS,
    async run(values, ctx) {
      const name = new NodeInputs(values, 'VAELoader.load_vae').string('vae_name');
      requireModel(ctx, 'vae', name);
      await finishWork(ctx, VAE_MS);
      return { outputs: [new VaeHandle(name)] };
    },
  });
}

const STRENGTH: InputSpec = ['FLOAT', { default: 1.0, min: -100.0, max: 100.0, step: 0.01 }];

/** ComfyUI's LoraLoader ("Load LoRA"). */
export function loraLoaderNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'LoraLoader',
    style: 'classic',
    displayName: 'Load LoRA',
    description: 'Applies a LoRA to a diffusion model and its CLIP; LoRA loaders can be chained.',
    category: 'loaders',
    pythonModule: 'nodes',
    required: [
      ['model', ['MODEL']],
      ['clip', ['CLIP']],
      ['lora_name', (env): InputSpec => [list(env, 'loras')]],
      ['strength_model', STRENGTH],
      ['strength_clip', STRENGTH],
    ],
    outputs: ['MODEL', 'CLIP'],
    nominalMs: () => LORA_MS,
    async run(values, ctx) {
      const inputs = new NodeInputs(values, 'LoraLoader.load_lora');
      const model = inputs.object('model', ModelHandle, 'clone');
      const clip = inputs.object('clip', ClipHandle, 'clone');
      const name = inputs.string('lora_name');
      const sm = inputs.float('strength_model');
      const sc = inputs.float('strength_clip');
      if (sm === 0 && sc === 0) return { outputs: [model, clip] };
      requireModel(ctx, 'loras', name);
      await finishWork(ctx, LORA_MS);
      return {
        outputs: [
          sm === 0
            ? model
            : new ModelHandle(model.checkpoint, [...model.loras, { name, strength: sm }]),
          sc === 0
            ? clip
            : new ClipHandle(clip.checkpoint, [...clip.loras, { name, strength: sc }]),
        ],
      };
    },
  });
}

/** The scale factor an upscale model's name announces ("4x-UltraSharp", "RealESRGAN_x2"), else 4. */
export function scaleFromName(name: string): number {
  const m = /(\d+)x|x(\d+)/i.exec(name);
  const n = Number(m?.[1] ?? m?.[2]);
  return n >= 1 && n <= 16 ? n : 4;
}

/** ComfyUI's UpscaleModelLoader ("Load Upscale Model"). */
export function upscaleModelLoaderNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'UpscaleModelLoader',
    style: 'v3',
    displayName: 'Load Upscale Model',
    category: 'loaders',
    pythonModule: 'comfy_extras.nodes_upscale_model',
    required: [['model_name', (env) => v3Combo(list(env, 'upscale_models'))]],
    outputs: ['UPSCALE_MODEL'],
    nominalMs: () => UPSCALE_LOAD_MS,
    async run(values, ctx) {
      const name = new NodeInputs(values, 'UpscaleModelLoader.execute').string('model_name');
      requireModel(ctx, 'upscale_models', name);
      await finishWork(ctx, UPSCALE_LOAD_MS);
      return { outputs: [new UpscaleModel(name, scaleFromName(name))] };
    },
  });
}
