import { describe, expect, it } from 'vitest';
import {
  fileInputs,
  fileInputValidation,
  PromptValidationCrash,
  type PromptValidationResult,
  validateApiPrompt,
} from './prompt-validation.js';
import type { ApiPrompt, JsonValue, NodeInfo } from './protocol.js';
import { loadRecording, loadWorkflow } from './testing/recordings.js';

/** The /object_info entries recorded from ComfyUI 0.8.0 (11 nodes kept by the recorder). */
const recorded = loadRecording('http_object_info.json').exchanges[0]?.response.body_json as Record<
  string,
  NodeInfo
>;

/** Model nodes as a stock ComfyUI 0.8.0 describes them, on an instance with a few models. */
const modelNodes: Record<string, NodeInfo> = {
  CheckpointLoaderSimple: {
    ...(recorded.CheckpointLoaderSimple as NodeInfo),
    input: {
      required: {
        ckpt_name: [
          ['sd_xl_base_1.0.safetensors', 'v1-5-pruned-emaonly.safetensors'],
          { tooltip: 'The name of the checkpoint (model) to load.' },
        ],
      },
    },
  },
  UpscaleModelLoader: {
    input: {
      required: {
        model_name: ['COMBO', { multiselect: false, options: ['RealESRGAN_x4plus.pth'] }],
      },
    },
    input_order: { required: ['model_name'] },
    output: ['UPSCALE_MODEL'],
    output_is_list: [false],
    output_name: ['UPSCALE_MODEL'],
    name: 'UpscaleModelLoader',
    display_name: 'Load Upscale Model',
    description: '',
    python_module: 'comfy_extras.nodes_upscale_model',
    category: 'loaders',
    output_node: false,
  },
  ImageUpscaleWithModel: {
    input: { required: { upscale_model: ['UPSCALE_MODEL', {}], image: ['IMAGE', {}] } },
    input_order: { required: ['upscale_model', 'image'] },
    output: ['IMAGE'],
    output_is_list: [false],
    output_name: ['IMAGE'],
    name: 'ImageUpscaleWithModel',
    display_name: 'Upscale Image (using Model)',
    description: '',
    python_module: 'comfy_extras.nodes_upscale_model',
    category: 'image/upscaling',
    output_node: false,
  },
  EmptyLatentImage: {
    input: {
      required: {
        width: ['INT', { default: 512, min: 16, max: 16384, step: 8 }],
        height: ['INT', { default: 512, min: 16, max: 16384, step: 8 }],
        batch_size: ['INT', { default: 1, min: 1, max: 4096 }],
      },
    },
    input_order: { required: ['width', 'height', 'batch_size'] },
    output: ['LATENT'],
    output_is_list: [false],
    output_name: ['LATENT'],
    name: 'EmptyLatentImage',
    display_name: 'Empty Latent Image',
    description: '',
    python_module: 'nodes',
    category: 'latent',
    output_node: false,
  },
  VAEDecode: {
    input: { required: { samples: ['LATENT'], vae: ['VAE'] } },
    input_order: { required: ['samples', 'vae'] },
    output: ['IMAGE'],
    output_is_list: [false],
    output_name: ['IMAGE'],
    name: 'VAEDecode',
    display_name: 'VAE Decode',
    description: '',
    python_module: 'nodes',
    category: 'latent',
    output_node: false,
  },
};

const objectInfo: Record<string, NodeInfo> = { ...recorded, ...modelNodes };

/** The files the recorded instance had in its input folder (LoadImage's combo). */
const inputFiles = fileInputs(recorded.LoadImage as NodeInfo)[0]?.options ?? [];

function body(v: PromptValidationResult): unknown {
  const out = v.ok ? { node_errors: v.nodeErrors } : { error: v.error, node_errors: v.nodeErrors };
  return JSON.parse(JSON.stringify(out));
}

const options = {
  nodes: objectInfo,
  customValidation: fileInputValidation((value) => inputFiles.includes(value)),
};

describe('validateApiPrompt against the recorded ComfyUI 0.8.0 answers', () => {
  const cases = loadRecording('http_post_prompt_invalid.json').exchanges.filter((e) => {
    const b = e.request.body_json;
    return typeof b === 'object' && b !== null && !Array.isArray(b) && 'prompt' in b;
  });

  it('covers every recorded case that carries a prompt', () => {
    expect(cases.length).toBeGreaterThanOrEqual(14);
    expect(inputFiles).toContain('gw_upload.png');
  });

  for (const e of cases) {
    it(`${e.name} → ${e.response.status}`, () => {
      const { prompt } = e.request.body_json as { prompt: unknown };
      const result = validateApiPrompt(prompt, options);
      const answer = e.response.body_json as Record<string, JsonValue>;
      if (e.response.status === 200) {
        expect(result.ok).toBe(true);
        expect(body(result)).toEqual({ node_errors: answer.node_errors });
      } else {
        expect(result.ok).toBe(false);
        // Same JSON, same key order.
        expect(JSON.stringify(body(result))).toBe(JSON.stringify(answer));
      }
    });
  }
});

describe('validateApiPrompt details', () => {
  const save = (images: JsonValue = ['1', 0]) => ({
    class_type: 'SaveImage',
    inputs: { images, filename_prefix: 'x' },
  });
  const empty = (inputs: Record<string, JsonValue> = {}) => ({
    class_type: 'EmptyImage',
    inputs: { width: 8, height: 8, batch_size: 1, color: 0, ...inputs },
  });

  it('accepts a recorded workflow and converts numeric strings without touching the input', () => {
    const prompt = loadWorkflow('load_scale_invert_save.json') as ApiPrompt;
    (prompt['2'] as { inputs: Record<string, JsonValue> }).inputs.scale_by = '1.5';
    const v = validateApiPrompt(prompt, options);
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.outputs).toEqual(['4']);
    expect(v.prompt['2']?.inputs.scale_by).toBe(1.5);
    expect(prompt['2']?.inputs.scale_by).toBe('1.5');
  });

  it('names a model file missing from the instance list (V3 COMBO and classic combos)', () => {
    const v = validateApiPrompt(
      {
        '1': { class_type: 'LoadImage', inputs: { image: 'gw_upload.png' } },
        '2': { class_type: 'UpscaleModelLoader', inputs: { model_name: '4x-UltraSharp.pth' } },
        '3': {
          class_type: 'ImageUpscaleWithModel',
          inputs: { upscale_model: ['2', 0], image: ['1', 0] },
        },
        '4': save(['3', 0]),
        '5': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'nope.safetensors' } },
        '6': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
        '7': { class_type: 'VAEDecode', inputs: { samples: ['6', 0], vae: ['5', 2] } },
        '8': save(['7', 0]),
      },
      options,
    );
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.nodeErrors['2']?.errors[0]).toEqual({
      type: 'value_not_in_list',
      message: 'Value not in list',
      details: "model_name: '4x-UltraSharp.pth' not in ['RealESRGAN_x4plus.pth']",
      extra_info: {
        input_name: 'model_name',
        input_config: ['COMBO', { multiselect: false, options: ['RealESRGAN_x4plus.pth'] }],
        received_value: '4x-UltraSharp.pth',
      },
    });
    // ComfyUI's quirk: a failed node collects every failing output checked after it.
    expect(v.nodeErrors['2']?.dependent_outputs).toEqual(['4', '8']);
    expect(v.nodeErrors['5']?.errors[0]?.details).toBe(
      "ckpt_name: 'nope.safetensors' not in ['sd_xl_base_1.0.safetensors', 'v1-5-pruned-emaonly.safetensors']",
    );
    expect(v.nodeErrors['5']?.dependent_outputs).toEqual(['8']);
  });

  it('takes node definitions from a lookup, asked once per class', () => {
    const asked: string[] = [];
    const v = validateApiPrompt(
      { '1': empty(), '2': empty(), '3': save(), '4': save(['2', 0]) },
      {
        nodes: (c) => {
          asked.push(c);
          return objectInfo[c];
        },
      },
    );
    expect(v.ok).toBe(true);
    expect(asked.sort()).toEqual(['EmptyImage', 'SaveImage']);
  });

  it('reports an unknown class the lookup does not know', () => {
    const v = validateApiPrompt(
      { '1': { class_type: 'Nope', inputs: {} } },
      { nodes: () => undefined },
    );
    expect(!v.ok && v.error.message).toBe('Cannot execute because node Nope does not exist.');
  });

  it('runs the custom hook with null for a linked custom input, and skips its combo check', () => {
    const seen: Array<Record<string, JsonValue>> = [];
    const v = validateApiPrompt(
      { '1': { class_type: 'LoadImage', inputs: { image: 'not-listed.png' } }, '2': save() },
      {
        nodes: objectInfo,
        customValidation: (classType) =>
          classType === 'LoadImage'
            ? {
                inputs: ['image'],
                validate: (given) => {
                  seen.push(given);
                  return true;
                },
              }
            : undefined,
      },
    );
    expect(v.ok).toBe(true);
    expect(seen).toEqual([{ image: 'not-listed.png' }]);
  });

  it('checks upload inputs against the combo by default', () => {
    const hook = fileInputValidation();
    const load = (image: string): ApiPrompt => ({
      '1': { class_type: 'LoadImage', inputs: { image } },
      '2': save(),
    });
    expect(
      validateApiPrompt(load('gw_upload.png'), { nodes: objectInfo, customValidation: hook }).ok,
    ).toBe(true);
    const v = validateApiPrompt(load('x.png'), { nodes: objectInfo, customValidation: hook });
    expect(!v.ok && v.nodeErrors['1']?.errors[0]?.details).toBe(
      'image - Invalid image file: x.png',
    );
  });

  it('finds upload inputs of any kind', () => {
    const info = {
      ...(objectInfo.LoadImage as NodeInfo),
      input: {
        required: { audio: [['a.flac'], { audio_upload: true }] },
        optional: { clip: ['COMBO', { options: ['c.mp4'], video_upload: true }] },
      },
    } as NodeInfo;
    expect(fileInputs(info)).toEqual([
      { input: 'audio', kind: 'audio', options: ['a.flac'] },
      { input: 'clip', kind: 'video', options: ['c.mp4'] },
    ]);
    expect(fileInputs(objectInfo.EmptyImage as NodeInfo)).toEqual([]);
  });

  it('uses the given install root in traceback frames', () => {
    const v = validateApiPrompt(
      { '1': empty(), '2': save(['42', 0]) },
      { nodes: objectInfo, tracebackRoot: 'C:/ComfyUI' },
    );
    expect(v.ok).toBe(false);
    if (v.ok) return;
    const tb = v.nodeErrors['2']?.errors[0]?.extra_info.traceback as string[];
    expect(tb[0]).toContain('File "C:/ComfyUI/execution.py", line 1043, in validate_prompt');
  });

  it('reports a dependency cycle', () => {
    const v = validateApiPrompt(
      {
        '1': { class_type: 'ImageInvert', inputs: { image: ['2', 0] } },
        '2': { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
        '3': save(['2', 0]),
      },
      options,
    );
    expect(v.ok).toBe(false);
    if (v.ok) return;
    const errors = Object.values(v.nodeErrors).flatMap((n) => n.errors);
    expect(errors.map((e) => e.type)).toEqual(['dependency_cycle']);
    expect(errors[0]?.details).toBe('2 (ImageInvert) -> 1 (ImageInvert) -> 2 (ImageInvert)');
  });

  it('answers 200 with node_errors when only some outputs fail; honours partial targets', () => {
    const prompt = { '1': empty(), '2': save(), '3': empty({ width: 0 }), '4': save(['3', 0]) };
    const v = validateApiPrompt(prompt, options);
    expect(v.ok && v.outputs).toEqual(['2']);
    expect(v.ok && Object.keys(v.nodeErrors)).toEqual(['3']);
    const only = validateApiPrompt(prompt, { ...options, partialExecutionTargets: ['4'] });
    expect(!only.ok && only.error.type).toBe('prompt_outputs_failed_validation');
  });

  it('prints floats like Python in min/max messages', () => {
    const v = validateApiPrompt(
      {
        '1': empty(),
        '2': {
          class_type: 'ImageScaleBy',
          inputs: { image: ['1', 0], upscale_method: 'area', scale_by: 0 },
        },
        '3': save(['2', 0]),
      },
      options,
    );
    expect(!v.ok && v.nodeErrors['2']?.errors[0]?.message).toBe(
      'Value 0.0 smaller than min of 0.01',
    );
  });

  it('throws PromptValidationCrash where Python would raise (500)', () => {
    expect(() => validateApiPrompt(null, options)).toThrow(PromptValidationCrash);
    expect(() => validateApiPrompt(5, options)).toThrow(PromptValidationCrash);
    expect(() => validateApiPrompt({ '1': 5 }, options)).toThrow(PromptValidationCrash);
    expect(() => validateApiPrompt({ '1': { class_type: ['x'] } }, options)).toThrow(
      "TypeError: unhashable type: 'list'",
    );
    const v = validateApiPrompt('', options);
    expect(!v.ok && v.error.type).toBe('prompt_no_outputs');
  });
});
