/**
 * Which node inputs name model files, read from `/object_info` alone. Two sources: the loaders of a
 * stock ComfyUI (their combos are empty on an instance without models, so they cannot be
 * recognised from their values), and inference from any node's combo options compared with the
 * instance's model lists (custom nodes; see {@link ModelInputIndex}).
 */
import type { InputSpec, JsonValue, NodeInfo } from './protocol.js';

/**
 * Stock loaders: class → input → model folder (ComfyUI's folder names).
 *
 * @example
 * KNOWN_MODEL_INPUTS.LoraLoader?.lora_name; // 'loras'
 */
export const KNOWN_MODEL_INPUTS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  CheckpointLoaderSimple: { ckpt_name: 'checkpoints' },
  CheckpointLoader: { ckpt_name: 'checkpoints', config_name: 'configs' },
  ImageOnlyCheckpointLoader: { ckpt_name: 'checkpoints' },
  unCLIPCheckpointLoader: { ckpt_name: 'checkpoints' },
  VAELoader: { vae_name: 'vae' },
  LoraLoader: { lora_name: 'loras' },
  LoraLoaderModelOnly: { lora_name: 'loras' },
  UpscaleModelLoader: { model_name: 'upscale_models' },
  ControlNetLoader: { control_net_name: 'controlnet' },
  DiffControlNetLoader: { control_net_name: 'controlnet' },
  UNETLoader: { unet_name: 'diffusion_models' },
  CLIPLoader: { clip_name: 'text_encoders' },
  DualCLIPLoader: { clip_name1: 'text_encoders', clip_name2: 'text_encoders' },
  TripleCLIPLoader: {
    clip_name1: 'text_encoders',
    clip_name2: 'text_encoders',
    clip_name3: 'text_encoders',
  },
  QuadrupleCLIPLoader: {
    clip_name1: 'text_encoders',
    clip_name2: 'text_encoders',
    clip_name3: 'text_encoders',
    clip_name4: 'text_encoders',
  },
  CLIPVisionLoader: { clip_name: 'clip_vision' },
  StyleModelLoader: { style_model_name: 'style_models' },
  GLIGENLoader: { gligen_name: 'gligen' },
  HypernetworkLoader: { hypernetwork_name: 'hypernetworks' },
  PhotoMakerLoader: { photomaker_model_name: 'photomaker' },
  ModelPatchLoader: { name: 'model_patches' },
  AudioEncoderLoader: { audio_encoder_name: 'audio_encoders' },
};

/** Folders `/models` lists that hold no model files. */
const NOT_MODEL_FOLDERS = new Set(['custom_nodes']);

/**
 * True for a folder whose files are models a job may name.
 *
 * @example
 * isModelFolder('loras'); // true
 * isModelFolder('custom_nodes'); // false
 */
export function isModelFolder(folder: string): boolean {
  return !NOT_MODEL_FOLDERS.has(folder);
}

/**
 * True when a string looks like a file name with an extension (`x.safetensors`, `sub/x.pth`),
 * which model files have and combo choices such as `None`, `taesd` or `euler` do not.
 *
 * @example
 * looksLikeFile('sdxl.safetensors'); // true
 * looksLikeFile('taesd'); // false
 */
export function looksLikeFile(value: string): boolean {
  return /\.[A-Za-z0-9_]{1,12}$/.test(value) && !/^\.+$/.test(value);
}

/**
 * The options of a combo input spec, in both notations: `[[...options], {...}]` and the V3
 * `["COMBO", {"options": [...]}]`. Not a combo: null.
 *
 * @example
 * comboOptions([['a.pth', 'b.pth']]); // ['a.pth', 'b.pth']
 * comboOptions(['COMBO', { options: ['x'] }]); // ['x']
 * comboOptions(['INT', { min: 0 }]); // null
 */
export function comboOptions(spec: InputSpec | JsonValue | undefined): string[] | null {
  if (!Array.isArray(spec) || spec.length === 0) return null;
  const head = spec[0];
  if (Array.isArray(head))
    return (head as unknown[]).filter((v): v is string => typeof v === 'string');
  if (head === 'COMBO') {
    const opts = spec[1];
    if (opts !== null && typeof opts === 'object' && !Array.isArray(opts)) {
      const list = (opts as Record<string, JsonValue>).options;
      if (Array.isArray(list)) return list.filter((v): v is string => typeof v === 'string');
    }
    return [];
  }
  return null;
}

/**
 * Every input of a node (required and optional) with its spec.
 *
 * @example
 * nodeInputs(objectInfo.LoraLoader).map(([name]) => name); // ['model', 'clip', 'lora_name', ...]
 */
export function nodeInputs(info: NodeInfo): [string, InputSpec][] {
  const out: [string, InputSpec][] = [];
  for (const group of [info.input?.required, info.input?.optional]) {
    if (group === undefined || group === null || typeof group !== 'object') continue;
    for (const [name, spec] of Object.entries(group)) out.push([name, spec]);
  }
  return out;
}
