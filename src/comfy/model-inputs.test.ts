import { describe, expect, it } from 'vitest';
import { ModelInputIndex } from './model-input-index.js';
import { comboOptions, isModelFolder, looksLikeFile, nodeInputs } from './model-inputs.js';
import type { InputSpec, NodeInfo } from './protocol.js';

function node(required: Record<string, InputSpec>, optional: Record<string, InputSpec> = {}) {
  return {
    input: { required, optional },
    output: [],
    output_is_list: [],
    output_name: [],
    name: 'X',
    display_name: 'X',
    description: '',
    category: 'test',
    python_module: 'custom_nodes.x',
    output_node: false,
  } as unknown as NodeInfo;
}

describe('model input recognition helpers', () => {
  it('reads combo options in both notations and nothing else', () => {
    expect(comboOptions([['a.pth', 'b.pth']])).toEqual(['a.pth', 'b.pth']);
    expect(comboOptions(['COMBO', { options: ['x', 3, 'y'] }])).toEqual(['x', 'y']);
    expect(comboOptions(['COMBO', {}])).toEqual([]);
    expect(comboOptions(['INT', { min: 0 }])).toBeNull();
    expect(comboOptions(undefined)).toBeNull();
  });

  it('tells file names from plain choices', () => {
    expect(looksLikeFile('sub/sdxl.safetensors')).toBe(true);
    expect(looksLikeFile('euler')).toBe(false);
    expect(looksLikeFile('..')).toBe(false);
    expect(isModelFolder('loras')).toBe(true);
    expect(isModelFolder('custom_nodes')).toBe(false);
  });

  it('lists required then optional inputs', () => {
    const info = node({ a: ['INT', {}] }, { b: ['STRING', {}] });
    expect(nodeInputs(info).map(([name]) => name)).toEqual(['a', 'b']);
  });
});

describe('ModelInputIndex', () => {
  it('knows stock loaders even when their combo is empty', () => {
    const index = ModelInputIndex.fromCapabilities([]);
    expect(index.folderFor('LoraLoader', 'lora_name', 'style.safetensors')).toBe('loras');
    expect(index.foldersOf('UpscaleModelLoader', 'model_name')).toEqual(['upscale_models']);
    expect(index.folderFor('KSampler', 'sampler_name', 'euler')).toBeNull();
  });

  it('learns a custom node whose combo lists most of a model folder', () => {
    const loras = [
      'a.safetensors',
      'b.safetensors',
      'c.safetensors',
      'd.safetensors',
      'e.safetensors',
    ];
    const index = ModelInputIndex.fromCapabilities([
      {
        node_classes: {
          MyLoader: node({ lora: [loras.slice(0, 4)], mode: [['fast', 'slow']] }),
          Sparse: node({ pick: [['a.safetensors', 'z.bin']] }),
        },
        models: { loras, custom_nodes: ['fast', 'slow'] },
      },
    ]);
    expect(index.folderFor('MyLoader', 'lora', 'b.safetensors')).toBe('loras');
    // A file the fleet does not have still names the folder the input takes files from.
    expect(index.folderFor('MyLoader', 'lora', 'new.safetensors')).toBe('loras');
    expect(index.folderFor('MyLoader', 'lora', 'None')).toBeNull();
    // custom_nodes holds no models; one shared file out of five is no folder list.
    expect(index.foldersOf('MyLoader', 'mode')).toEqual([]);
    expect(index.foldersOf('Sparse', 'pick')).toEqual([]);
  });
});
