import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelInputIndex } from '../comfy/model-input-index.js';
import type { ApiPrompt, InputSpec, NodeInfo, ObjectInfo } from '../comfy/protocol.js';
import type { RunningEmulator } from '../emulator/index.js';
import { startEmulator } from '../emulator/index.js';
import { InvalidPromptError } from './errors.js';
import { extractRequirements } from './requirements.js';
import type { InstanceCapabilities } from './types.js';

/** GET /object_info as recorded from a real ComfyUI 0.8.0 without model files. */
function recordedObjectInfo(): ObjectInfo {
  const file = fileURLToPath(
    new URL('../../../shared/comfyui-protocol/http_object_info.json', import.meta.url),
  );
  const rec = JSON.parse(readFileSync(file, 'utf8')) as {
    exchanges: { request: { path: string }; response: { body_json?: unknown } }[];
  };
  const full = rec.exchanges.find((e) => e.request.path === '/object_info');
  return full?.response.body_json as ObjectInfo;
}

const txt2imgLora: ApiPrompt = {
  '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sdxl.safetensors' } },
  '10': {
    class_type: 'LoraLoader',
    inputs: {
      model: ['4', 0],
      clip: ['4', 1],
      lora_name: 'style.safetensors',
      strength_model: 0.8,
      strength_clip: 0.8,
    },
  },
  '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a red fox', clip: ['10', 1] } },
  '7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['10', 1] } },
  '5': { class_type: 'EmptyLatentImage', inputs: { width: 1024, height: 1024, batch_size: 1 } },
  '3': {
    class_type: 'KSampler',
    inputs: {
      model: ['10', 0],
      seed: 42,
      steps: 20,
      cfg: 7,
      sampler_name: 'euler',
      scheduler: 'normal',
      positive: ['6', 0],
      negative: ['7', 0],
      latent_image: ['5', 0],
      denoise: 1,
    },
  },
  '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
  '11': { class_type: 'VAELoader', inputs: { vae_name: 'taesdxl' } },
  '9': { class_type: 'SaveImage', inputs: { images: ['8', 0], filename_prefix: 'ComfyUI' } },
};

describe('extractRequirements against the recorded object_info (no model files)', () => {
  const caps: InstanceCapabilities = { node_classes: recordedObjectInfo(), models: {} };
  const index = ModelInputIndex.fromCapabilities([caps]);

  it('finds a checkpoint of a stock loader even though its combo is empty there', () => {
    const info = caps.node_classes.CheckpointLoaderSimple as NodeInfo;
    expect(info.input.required?.ckpt_name?.[0]).toEqual([]);
    const req = extractRequirements(
      {
        '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'v1-5.safetensors' } },
        '2': {
          class_type: 'EmptyImage',
          inputs: { width: 64, height: 64, batch_size: 1, color: 0 },
        },
        '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'x' } },
      },
      index,
    );
    expect(req.node_classes).toEqual(['CheckpointLoaderSimple', 'EmptyImage', 'SaveImage']);
    expect(req.models).toEqual([{ folder: 'checkpoints', file: 'v1-5.safetensors' }]);
  });

  it('lists classes once, sorted, with the node ids that use them; models with their input', () => {
    const req = extractRequirements(txt2imgLora, index);
    expect(req.node_classes).toEqual([
      'CLIPTextEncode',
      'CheckpointLoaderSimple',
      'EmptyLatentImage',
      'KSampler',
      'LoraLoader',
      'SaveImage',
      'VAEDecode',
      'VAELoader',
    ]);
    expect(req.models).toEqual([
      { folder: 'checkpoints', file: 'sdxl.safetensors' },
      { folder: 'loras', file: 'style.safetensors' },
    ]);
    expect(req.origins.nodes.CLIPTextEncode).toEqual(['6', '7']);
    expect(req.origins.models).toEqual([
      { folder: 'checkpoints', file: 'sdxl.safetensors', node_id: '4', input: 'ckpt_name' },
      { folder: 'loras', file: 'style.safetensors', node_id: '10', input: 'lora_name' },
    ]);
  });

  it('does not take prompt text, file name prefixes, sampler names or taesd for models', () => {
    const req = extractRequirements(txt2imgLora, index);
    const files = req.models.map((m) => m.file);
    expect(files).not.toContain('taesdxl');
    expect(files).not.toContain('euler');
    expect(files).not.toContain('a red fox');
  });

  it('rejects what is not an API-format prompt with the node named', () => {
    expect(() => extractRequirements([] as unknown as ApiPrompt, index)).toThrow(
      InvalidPromptError,
    );
    expect(() =>
      extractRequirements({ '7': { inputs: {} } } as unknown as ApiPrompt, index),
    ).toThrow(/node "7" has no class_type/);
    expect(() =>
      extractRequirements({ '2': { class_type: 'X', inputs: [] } } as unknown as ApiPrompt, index),
    ).toThrow(/node "2" \(X\): inputs must be an object/);
  });
});

describe('extractRequirements for custom nodes (combo options matched to model lists)', () => {
  const models = {
    checkpoints: ['sd15.safetensors'],
    upscale_models: ['4x-UltraSharp.pth', 'RealESRGAN_x2plus.pth'],
    sams: ['sam_vit_b.pth'],
    custom_nodes: ['example_node.py.example'],
  };
  const customNode = (name: string, required: Record<string, InputSpec>): NodeInfo => ({
    input: { required },
    input_order: { required: Object.keys(required) },
    output: ['X'],
    output_is_list: [false],
    output_name: ['X'],
    name,
    display_name: name,
    description: '',
    python_module: 'custom_nodes.pack',
    category: 'pack',
    output_node: false,
  });
  const caps: InstanceCapabilities = {
    node_classes: {
      // A custom loader listing a folder ComfyUI does not know, in the classic notation.
      SAMLoader: customNode('SAMLoader', {
        model_name: [['sam_vit_b.pth']],
        device_mode: [['AUTO', 'Prefer GPU', 'CPU']],
      }),
      // V3 notation, the upscale list plus an extra choice.
      FancyUpscaler: customNode('FancyUpscaler', {
        upscaler: ['COMBO', { options: ['none', '4x-UltraSharp.pth', 'RealESRGAN_x2plus.pth'] }],
        method: [['lanczos', 'bicubic']],
      }),
    },
    models,
  };
  const index = ModelInputIndex.fromCapabilities([caps]);

  it('maps an input whose options are a model folder to that folder', () => {
    expect(index.foldersOf('SAMLoader', 'model_name')).toEqual(['sams']);
    expect(index.foldersOf('FancyUpscaler', 'upscaler')).toEqual(['upscale_models']);
    expect(index.foldersOf('FancyUpscaler', 'method')).toEqual([]);
    expect(index.foldersOf('SAMLoader', 'device_mode')).toEqual([]);
  });

  it('requires the named files, also ones missing from every instance, but not plain choices', () => {
    const req = extractRequirements(
      {
        '1': {
          class_type: 'SAMLoader',
          inputs: { model_name: 'sam_vit_b.pth', device_mode: 'AUTO' },
        },
        '2': {
          class_type: 'FancyUpscaler',
          inputs: { upscaler: '8x-missing.pth', method: 'lanczos' },
        },
        '3': { class_type: 'FancyUpscaler', inputs: { upscaler: 'none', method: 'bicubic' } },
      },
      index,
    );
    expect(req.models).toEqual([
      { folder: 'sams', file: 'sam_vit_b.pth' },
      { folder: 'upscale_models', file: '8x-missing.pth' },
    ]);
  });
});

describe('extractRequirements against a running emulator (object_info and /models as served)', () => {
  let emu: RunningEmulator | undefined;
  let caps: InstanceCapabilities;

  beforeAll(async () => {
    emu = await startEmulator({
      port: 0,
      speed: Number.POSITIVE_INFINITY,
      models: {
        checkpoints: ['sd15.safetensors', 'sdxl.safetensors'],
        loras: ['style.safetensors'],
        upscale_models: ['4x-UltraSharp.pth'],
        vae: ['vae-ft-mse.safetensors'],
      },
      nodePacks: ['remove-background'],
    });
    const objectInfo = (await (await fetch(`${emu.url}/object_info`)).json()) as ObjectInfo;
    const folders = (await (await fetch(`${emu.url}/models`)).json()) as string[];
    const models: Record<string, string[]> = {};
    for (const folder of folders) {
      models[folder] = (await (await fetch(`${emu.url}/models/${folder}`)).json()) as string[];
    }
    caps = { node_classes: objectInfo, models };
  });

  afterAll(async () => {
    await emu?.close();
  });

  it('finds checkpoint, LoRA, VAE and upscale model files and the custom node class', () => {
    const index = ModelInputIndex.fromCapabilities([caps]);
    const req = extractRequirements(
      {
        ...txt2imgLora,
        '11': { class_type: 'VAELoader', inputs: { vae_name: 'vae-ft-mse.safetensors' } },
        '20': { class_type: 'UpscaleModelLoader', inputs: { model_name: '4x-UltraSharp.pth' } },
        '21': {
          class_type: 'ImageUpscaleWithModel',
          inputs: { upscale_model: ['20', 0], image: ['8', 0] },
        },
        '22': {
          class_type: 'InspyrenetRembg',
          inputs: { image: ['21', 0], torchscript_jit: 'default' },
        },
      },
      index,
    );
    expect(req.models).toEqual([
      { folder: 'checkpoints', file: 'sdxl.safetensors' },
      { folder: 'loras', file: 'style.safetensors' },
      { folder: 'upscale_models', file: '4x-UltraSharp.pth' },
      { folder: 'vae', file: 'vae-ft-mse.safetensors' },
    ]);
    expect(req.node_classes).toContain('InspyrenetRembg');
    expect(Object.hasOwn(caps.node_classes, 'InspyrenetRembg')).toBe(true);
  });
});
