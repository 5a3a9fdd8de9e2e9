import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiPrompt, JsonValue } from '../../comfy/protocol.js';
import { createNodeRegistry } from '../nodes/index.js';
import { createTestContext, type TestContext } from '../nodes/testing/test-context.js';
import type { NodeEnvironment, PromptValidation } from '../nodes/types.js';
import { PromptValidationCrash, validatePrompt } from './index.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const recordings = path.resolve(repoRoot, '../shared/comfyui-protocol');

interface Exchange {
  name: string;
  request: { body_json?: unknown };
  response: { status: number; body_json?: unknown; body_binary?: { base64?: string } };
}

function load(file: string): Exchange[] {
  return (
    JSON.parse(readFileSync(path.join(recordings, file), 'utf8')) as { exchanges: Exchange[] }
  ).exchanges;
}

const registry = createNodeRegistry();
let ctx: TestContext;
let env: NodeEnvironment;

beforeAll(() => {
  ctx = createTestContext();
  env = { dirs: ctx.dirs, models: { checkpoints: ['v1-5-pruned-emaonly.safetensors'] } };
  // The input file the recorded prompts load (uploaded earlier in the recording session).
  const upload = load('http_upload_image.json').find((e) => e.name === 'upload new file');
  const request = upload?.request as
    | { body_multipart?: Array<{ file?: { base64?: string } }> }
    | undefined;
  const part = request?.body_multipart?.[0]?.file?.base64;
  writeFileSync(path.join(ctx.dirs.input, 'gw_upload.png'), Buffer.from(part ?? '', 'base64'));
});

afterAll(() => ctx.cleanup());

function asBody(v: PromptValidation): unknown {
  const body = v.ok ? { node_errors: v.nodeErrors } : { error: v.error, node_errors: v.nodeErrors };
  return JSON.parse(JSON.stringify(body));
}

describe('validatePrompt against the recorded ComfyUI 0.8.0 answers', () => {
  const cases = load('http_post_prompt_invalid.json').filter((e) => {
    const body = e.request.body_json;
    return typeof body === 'object' && body !== null && !Array.isArray(body) && 'prompt' in body;
  });

  it('covers every recorded case that carries a prompt', () => {
    expect(cases.length).toBeGreaterThanOrEqual(14);
  });

  for (const e of cases) {
    it(`${e.name} → ${e.response.status}`, () => {
      const body = e.request.body_json as { prompt: unknown };
      const result = validatePrompt(body.prompt, registry, env);
      const recorded = e.response.body_json as Record<string, JsonValue>;
      if (e.response.status === 200) {
        expect(result.ok).toBe(true);
        expect(asBody(result)).toEqual({ node_errors: recorded.node_errors });
      } else {
        expect(result.ok).toBe(false);
        // Same JSON, same key order.
        expect(JSON.stringify(asBody(result))).toBe(JSON.stringify(recorded));
      }
    });
  }
});

describe('validatePrompt details', () => {
  const save = (images: JsonValue = ['1', 0]) => ({
    class_type: 'SaveImage',
    inputs: { images, filename_prefix: 'x' },
  });
  const empty = (inputs: Record<string, JsonValue> = {}) => ({
    class_type: 'EmptyImage',
    inputs: { width: 8, height: 8, batch_size: 1, color: 0, ...inputs },
  });

  it('converts numeric strings and returns the converted prompt', () => {
    const v = validatePrompt(
      { '1': empty({ width: '64', height: ' 1_0 ' }), '2': save() },
      registry,
      env,
    );
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.prompt['1']?.inputs.width).toBe(64);
    expect(v.prompt['1']?.inputs.height).toBe(10);
    expect(v.outputs).toEqual(['2']);
  });

  it('does not mutate the caller’s prompt', () => {
    const prompt = { '1': empty({ width: '64' }), '2': save() };
    validatePrompt(prompt, registry, env);
    expect(prompt['1'].inputs.width).toBe('64');
  });

  it('prints floats like Python in min/max messages', () => {
    const v = validatePrompt(
      {
        '1': empty(),
        '2': {
          class_type: 'ImageScaleBy',
          inputs: { image: ['1', 0], upscale_method: 'area', scale_by: 0 },
        },
        '3': save(['2', 0]),
      },
      registry,
      env,
    );
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.nodeErrors['2']?.errors[0]?.message).toBe('Value 0.0 smaller than min of 0.01');
  });

  it('leaves long combo lists out of the error (input_config null)', () => {
    const models = Array.from({ length: 25 }, (_, i) => `m${i}.safetensors`);
    const noModels = { ...env, models: { checkpoints: models } };
    const r = createNodeRegistry();
    const v = validatePrompt(
      {
        '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'x.safetensors' } },
        '2': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['1', 2] } },
        '3': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
        '4': save(['2', 0]),
      },
      r,
      noModels,
    );
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.nodeErrors['1']?.errors[0]).toEqual({
      type: 'value_not_in_list',
      message: 'Value not in list',
      details: "ckpt_name: 'x.safetensors' not in (list of length 25)",
      extra_info: { input_name: 'ckpt_name', input_config: null, received_value: 'x.safetensors' },
    });
    expect(v.error.details).toBe('');
  });

  it('answers 200 with node_errors when only some outputs fail', () => {
    const v = validatePrompt(
      { '1': empty(), '2': save(), '3': empty({ width: 0 }), '4': save(['3', 0]) },
      registry,
      env,
    );
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.outputs).toEqual(['2']);
    expect(Object.keys(v.nodeErrors)).toEqual(['3']);
    expect(v.nodeErrors['3']?.dependent_outputs).toEqual(['4']);
  });

  it('joins the failing outputs’ own errors in details', () => {
    const v = validatePrompt(
      {
        '1': empty(),
        '2': { class_type: 'ImageToMask', inputs: { image: ['1', 0], channel: 'red' } },
        '3': save(['2', 0]),
        '4': { class_type: 'SaveImage', inputs: { images: ['1', 0] } },
      },
      registry,
      env,
    );
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.error.details).toBe(
      'Return type mismatch between linked nodes: images, received_type(MASK) mismatch input_type(IMAGE)\nRequired input is missing: filename_prefix',
    );
  });

  it('reports a dependency cycle', () => {
    const v = validatePrompt(
      {
        '1': { class_type: 'ImageInvert', inputs: { image: ['2', 0] } },
        '2': { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
        '3': save(['2', 0]),
      },
      registry,
      env,
    );
    expect(v.ok).toBe(false);
    if (v.ok) return;
    const errors = Object.values(v.nodeErrors).flatMap((n) => n.errors);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.type).toBe('dependency_cycle');
    expect(errors[0]?.details).toBe('2 (ImageInvert) -> 1 (ImageInvert) -> 2 (ImageInvert)');
    expect(errors[0]?.extra_info).toEqual({ node_id: '2', cycle_nodes: ['2', '1'] });
  });

  it('reports a bad link upstream as an inner-validation exception on that node', () => {
    const v = validatePrompt(
      {
        '1': { class_type: 'ImageInvert', inputs: { image: ['9', 0] } },
        '2': save(),
      },
      registry,
      env,
    );
    expect(v.ok).toBe(false);
    if (v.ok) return;
    const err = v.nodeErrors['1']?.errors[0];
    expect(err?.type).toBe('exception_during_inner_validation');
    expect(err?.details).toBe("'9'");
    expect(err?.extra_info.input_name).toBe('images');
    expect(err?.extra_info.exception_type).toBe('KeyError');
  });

  it('adds every later failing output to dependent_outputs of earlier failures (ComfyUI quirk)', () => {
    const v = validatePrompt(
      { '1': empty({ width: 0 }), '2': save(), '3': empty({ height: 0 }), '4': save(['3', 0]) },
      registry,
      env,
    );
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.nodeErrors['1']?.dependent_outputs).toEqual(['2', '4']);
    expect(v.nodeErrors['3']?.dependent_outputs).toEqual(['4']);
  });

  it('reports a link with a non-string node id as Python’s KeyError', () => {
    const v = validatePrompt({ '1': empty(), '2': save([1, 0]) }, registry, env);
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.nodeErrors['2']?.errors[0]).toMatchObject({
      type: 'exception_during_validation',
      details: '1',
      extra_info: { exception_type: 'KeyError' },
    });
  });

  it('flags a link that is not a pair', () => {
    const v = validatePrompt({ '1': empty(), '2': save(['1', 0, 1]) }, registry, env);
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.nodeErrors['2']?.errors[0]?.type).toBe('bad_linked_input');
  });

  it('honours partial_execution_targets', () => {
    const prompt = { '1': empty(), '2': save(), '3': save() };
    const v = validatePrompt(prompt, registry, env, ['3']);
    expect(v.ok && v.outputs).toEqual(['3']);
    const none = validatePrompt(prompt, registry, env, ['1']);
    expect(!none.ok && none.error.type).toBe('prompt_no_outputs');
  });

  it('unwraps {"__value__": x}', () => {
    const v = validatePrompt(
      { '1': empty({ width: { __value__: 16 } }), '2': save() },
      registry,
      env,
    );
    expect(v.ok && v.prompt['1']?.inputs.width).toBe(16);
  });

  it('throws PromptValidationCrash where Python would raise (500)', () => {
    expect(() => validatePrompt(null, registry, env)).toThrow(PromptValidationCrash);
    expect(() => validatePrompt(5, registry, env)).toThrow(PromptValidationCrash);
    expect(() => validatePrompt({ '1': 5 }, registry, env)).toThrow(PromptValidationCrash);
    expect(() => validatePrompt([{ class_type: 'SaveImage' }], registry, env)).toThrow(
      PromptValidationCrash,
    );
    const v = validatePrompt('', registry, env);
    expect(!v.ok && v.error.type).toBe('prompt_no_outputs');
  });

  it('names a class_type that is not a string like Python would', () => {
    const v = validatePrompt({ '1': { class_type: null, inputs: {} } }, registry, env);
    expect(!v.ok && v.error.message).toBe('Cannot execute because node None does not exist.');
  });

  it('runs LoadImage’s custom validation for subfolders and annotations', () => {
    const load = (image: string): ApiPrompt => ({
      '1': { class_type: 'LoadImage', inputs: { image } },
      '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'x' } },
    });
    expect(validatePrompt(load('gw_upload.png'), registry, env).ok).toBe(true);
    expect(validatePrompt(load('gw_upload.png [input]'), registry, env).ok).toBe(true);
    expect(validatePrompt(load('gw_upload.png [output]'), registry, env).ok).toBe(false);
    expect(validatePrompt(load('../input/gw_upload.png'), registry, env).ok).toBe(true);
    expect(validatePrompt(load('../../etc/passwd'), registry, env).ok).toBe(false);
  });
});
