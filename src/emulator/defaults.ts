/** What an emulated instance reports when its options leave something out. */
import type { ModelLists } from './nodes/types.js';
import type { DeviceProfile } from './options.js';

/** ComfyUI 0.8.0's model folder keys, in /models order. */
export const MODEL_FOLDERS: readonly string[] = [
  'checkpoints',
  'configs',
  'loras',
  'vae',
  'text_encoders',
  'diffusion_models',
  'clip_vision',
  'style_models',
  'embeddings',
  'diffusers',
  'vae_approx',
  'controlnet',
  'gligen',
  'upscale_models',
  'latent_upscale_models',
  'custom_nodes',
  'hypernetworks',
  'photomaker',
  'classifiers',
  'model_patches',
  'audio_encoders',
];

/** A small, plausible model set. */
export function defaultModels(): ModelLists {
  return {
    checkpoints: ['sd_xl_base_1.0.safetensors', 'v1-5-pruned-emaonly.safetensors'],
    loras: ['detail_tweaker_xl.safetensors'],
    vae: ['sdxl_vae.safetensors'],
    upscale_models: ['RealESRGAN_x4plus.pth'],
    embeddings: ['easynegative.safetensors'],
  };
}

const GIB = 1024 ** 3;

/** An RTX 4090 as ComfyUI names it. */
export const DEFAULT_CUDA_DEVICE: DeviceProfile = {
  name: 'cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync',
  type: 'cuda',
  vram_total: 24 * GIB - 402_653_184,
  vram_free: 22 * GIB,
};

/** The ComfyUI version emulated (the recordings' server). */
export const DEFAULT_VERSION = '0.8.0';

/** Fields of ComfyUI 0.8.0's /system_stats that the emulator does not vary. */
export const SYSTEM_CONSTANTS = {
  required_frontend_version: '1.35.9',
  installed_templates_version: null,
  required_templates_version: '0.7.67',
  python_version: '3.11.2 (main, Apr 28 2025, 14:11:48) [GCC 12.2.0]',
  embedded_python: false,
};

/** ComfyUI's MAXIMUM_HISTORY_SIZE. */
export const DEFAULT_MAX_HISTORY = 10_000;
/** ComfyUI's --max-upload-size default (MB). */
export const DEFAULT_MAX_UPLOAD_MB = 100;
