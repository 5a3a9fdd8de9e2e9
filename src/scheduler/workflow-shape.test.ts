import { describe, expect, it } from 'vitest';
import { ModelInputIndex } from '../comfy/model-input-index.js';
import type { ApiPrompt } from '../comfy/protocol.js';
import { workflowShape } from './workflow-shape.js';

function txt2img(o: {
  ids?: [string, string, string, string, string, string];
  seed?: number;
  text?: string;
  steps?: number;
  size?: number;
  ckpt?: string;
  prefix?: string;
}): ApiPrompt {
  const [a, b, c, d, e, f] = o.ids ?? ['1', '2', '3', '4', '5', '6'];
  return {
    [a]: {
      class_type: 'CheckpointLoaderSimple',
      inputs: { ckpt_name: o.ckpt ?? 'sd15.safetensors' },
    },
    [b]: { class_type: 'CLIPTextEncode', inputs: { text: o.text ?? 'a cat', clip: [a, 1] } },
    [c]: {
      class_type: 'EmptyLatentImage',
      inputs: { width: o.size ?? 512, height: o.size ?? 512, batch_size: 1 },
    },
    [d]: {
      class_type: 'KSampler',
      inputs: {
        model: [a, 0],
        seed: o.seed ?? 1,
        steps: o.steps ?? 20,
        cfg: 7,
        sampler_name: 'euler',
        scheduler: 'normal',
        positive: [b, 0],
        negative: [b, 0],
        latent_image: [c, 0],
        denoise: 1,
      },
    },
    [e]: { class_type: 'VAEDecode', inputs: { samples: [d, 0], vae: [a, 2] } },
    [f]: {
      class_type: 'SaveImage',
      inputs: { images: [e, 0], filename_prefix: o.prefix ?? 'out' },
    },
  };
}

describe('workflowShape', () => {
  it('ignores seeds, prompt text, file name prefixes and node ids', () => {
    const base = workflowShape(txt2img({}));
    expect(workflowShape(txt2img({ seed: 99, text: 'a dog', prefix: 'shots/x' }))).toBe(base);
    expect(workflowShape(txt2img({ ids: ['40', '41', '7', '9', '12', '100'], seed: 5 }))).toBe(
      base,
    );
    expect(base).toMatch(/^[0-9a-f]{16}$/);
  });

  it('changes with what drives run time: steps, size, model file, structure', () => {
    const base = workflowShape(txt2img({}));
    const variants = [
      workflowShape(txt2img({ steps: 30 })),
      workflowShape(txt2img({ size: 1024 })),
      workflowShape(txt2img({ ckpt: 'sdxl.safetensors' })),
      workflowShape({
        ...txt2img({}),
        '7': { class_type: 'ImageInvert', inputs: { image: ['5', 0] } },
      }),
    ];
    expect(new Set([base, ...variants]).size).toBe(5);
  });

  it('with a model index, counts a custom node model input even without a _name suffix', () => {
    const index = ModelInputIndex.fromCapabilities([
      {
        node_classes: {
          SAMLoader: {
            input: { required: { model: [['sam_b.pth', 'sam_l.pth']] } },
            input_order: { required: ['model'] },
            output: ['SAM'],
            output_is_list: [false],
            output_name: ['SAM'],
            name: 'SAMLoader',
            display_name: 'SAMLoader',
            description: '',
            python_module: 'custom_nodes.x',
            category: 'x',
            output_node: false,
          },
        },
        models: { sams: ['sam_b.pth', 'sam_l.pth'] },
      },
    ]);
    const shape = (m: string) =>
      workflowShape({ '1': { class_type: 'SAMLoader', inputs: { model: m } } }, index);
    expect(shape('sam_b.pth')).not.toBe(shape('sam_l.pth'));
  });

  it('survives broken prompts (dangling links, cycles) without throwing', () => {
    expect(() =>
      workflowShape({
        '1': { class_type: 'A', inputs: { x: ['2', 0] } },
        '2': { class_type: 'B', inputs: { y: ['1', 0] } },
        '3': { class_type: 'C', inputs: { z: ['404', 0] } },
      }),
    ).not.toThrow();
  });
});
