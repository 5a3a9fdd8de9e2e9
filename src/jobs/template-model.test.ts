import { describe, expect, it } from 'vitest';
import {
  BUILTIN_TEMPLATES,
  REMOVE_BACKGROUND_TEMPLATE,
  UPSCALE_IMAGE_TEMPLATE,
} from './builtin-templates.js';
import type { JobError } from './errors.js';
import { bindTemplate, type TemplateDefinition, templateProblems } from './template-model.js';

function bindError(t: TemplateDefinition, params: Record<string, unknown>): JobError {
  try {
    bindTemplate(t, params);
  } catch (err) {
    return err as JobError;
  }
  throw new Error('expected bindTemplate to throw');
}

const inputsOf = (w: Record<string, unknown>, id: string) =>
  (w[id] as { inputs: Record<string, unknown> }).inputs;

describe('bindTemplate', () => {
  it('writes parameters into their node inputs, converting form strings and filling defaults', () => {
    const b = bindTemplate(UPSCALE_IMAGE_TEMPLATE, { image: 'photo.png', scale: '3' });
    expect(b.variant).toBeNull();
    expect(inputsOf(b.workflow, '1')).toEqual({ image: 'photo.png' });
    expect(inputsOf(b.workflow, '2')).toMatchObject({ scale_by: 3, upscale_method: 'lanczos' });
    expect(b.params).toEqual({ image: 'photo.png', scale: 3, method: 'lanczos' });
    expect(b.files).toEqual([{ param: 'image', node: '1', input: 'image', value: 'photo.png' }]);
    // The stored template is not changed.
    expect(inputsOf(UPSCALE_IMAGE_TEMPLATE.workflow, '1')).toEqual({ image: 'image.png' });
  });

  it('switches to the variant when its parameter is given, and names what it ignores', () => {
    const b = bindTemplate(UPSCALE_IMAGE_TEMPLATE, {
      image: 'p.png',
      model: 'RealESRGAN_x4plus.pth',
      scale: 4,
    });
    expect(b.variant).toBe('model');
    expect(Object.keys(b.workflow).sort()).toEqual(['1', '3', '4', '5']);
    expect(inputsOf(b.workflow, '4')).toEqual({ model_name: 'RealESRGAN_x4plus.pth' });
    expect(b.ignored).toEqual(['scale']);
    const rb = bindTemplate(REMOVE_BACKGROUND_TEMPLATE, { image: 'p.png', threshold: 0.3 });
    expect((rb.workflow['2'] as { class_type: string }).class_type).toBe('InspyrenetRembgAdvanced');
    expect(inputsOf(rb.workflow, '2')).toMatchObject({ threshold: 0.3 });
    expect(
      (
        bindTemplate(REMOVE_BACKGROUND_TEMPLATE, { image: 'p.png' }).workflow['2'] as {
          class_type: string;
        }
      ).class_type,
    ).toBe('InspyrenetRembg');
  });

  it('reports every problem at once: unknown (with a suggestion), wrong type, range, missing', () => {
    const e = bindError(UPSCALE_IMAGE_TEMPLATE, { scael: 2, scale: 'big', method: 'cubic' });
    expect(e.code).toBe('TEMPLATE_PARAMS_INVALID');
    expect(e.details.errors).toEqual([
      { path: 'scael', message: 'unknown parameter; did you mean "scale"?' },
      { path: 'image', message: 'is required' },
      { path: 'scale', message: 'must be a number, got "big"' },
      {
        path: 'method',
        message:
          'must be one of "nearest-exact", "bilinear", "area", "bicubic", "lanczos", got "cubic"',
      },
    ]);
    expect(e.message).toBe(
      'template upscale-image: parameter scael unknown parameter; did you mean "scale"? (and 3 more)',
    );
    expect(bindError(UPSCALE_IMAGE_TEMPLATE, { image: 'a.png', scale: 9 }).details.errors).toEqual([
      { path: 'scale', message: 'must be at most 8, got 9' },
    ]);
    expect(bindError(UPSCALE_IMAGE_TEMPLATE, { image: '' }).details.errors).toEqual([
      { path: 'image', message: 'must be a non-empty string, got ""' },
    ]);
    expect(bindError(UPSCALE_IMAGE_TEMPLATE, { image: 'a.png', zzzzzz: 1 }).message).toContain(
      'upscale-image takes image, scale, method, model',
    );
  });

  it('checks integers and booleans', () => {
    const t: TemplateDefinition = {
      name: 't',
      description: '',
      workflow: { '1': { class_type: 'X', inputs: {} } },
      parameters: {
        steps: { node: '1', input: 'steps', type: 'integer', default: 20, min: 1 },
        hires: { node: '1', input: 'hires', type: 'boolean', default: false },
      },
      variants: [],
    };
    expect(bindTemplate(t, { steps: '30', hires: 'true' }).params).toEqual({
      steps: 30,
      hires: true,
    });
    expect(bindError(t, { steps: 2.5, hires: 1 }).details.errors).toEqual([
      { path: 'steps', message: 'must be an integer, got 2.5' },
      { path: 'hires', message: 'must be true or false, got 1' },
    ]);
  });
});

describe('templateProblems', () => {
  it('accepts the built-in templates', () => {
    for (const t of BUILTIN_TEMPLATES) expect(templateProblems(t)).toEqual([]);
  });

  it('finds unusable definitions', () => {
    const bad = {
      name: 'Bad Name',
      description: '',
      workflow: {},
      parameters: {},
      variants: [],
    };
    expect(templateProblems(bad)[0]?.path).toBe('name');
    const t = {
      name: 'x',
      description: '',
      workflow: { '1': { class_type: 'LoadImage', inputs: {} }, '2': { inputs: {} } },
      parameters: {
        a: { node: '9', input: 'image', type: 'image' },
        b: { node: '1', input: 'c', type: 'choice' },
        n: { node: '1', input: 'n', type: 'number', min: 5, max: 1, default: 'x' },
      },
      variants: [{ when: 'n', workflow: { '1': { class_type: 'X', inputs: {} } } }],
    };
    expect(templateProblems(t)).toEqual([
      { path: 'workflow.2', message: 'must be a node with a class_type' },
      {
        path: 'variants[0].when',
        message:
          'parameter "n" is always given (required or defaulted), so the base workflow would never run',
      },
      { path: 'parameters.a.node', message: 'node "9" is in no workflow of the template' },
      { path: 'parameters.b.choices', message: 'a choice parameter needs its choices' },
      { path: 'parameters.n.min', message: 'must not be larger than max' },
      { path: 'parameters.n.default', message: 'must be a number, got "x"' },
    ]);
  });
});
