import type { TemplateDefinition } from './template-model.js';

const SCALE_METHODS = ['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos'];

/**
 * `upscale-image` (the seed's POST /api/upscale-image): LoadImage → ImageScaleBy → SaveImage,
 * model-free. Given `model` (a file in the instance's `upscale_models`), it runs
 * UpscaleModelLoader + ImageUpscaleWithModel instead, at the model's own factor (`scale` and
 * `method` are then unused).
 */
export const UPSCALE_IMAGE_TEMPLATE: TemplateDefinition = {
  name: 'upscale-image',
  description:
    'Upscale an image by a factor (default 2, model-free); with `model`, by an upscale model at its own factor.',
  workflow: {
    '1': { class_type: 'LoadImage', inputs: { image: 'image.png' } },
    '2': {
      class_type: 'ImageScaleBy',
      inputs: { image: ['1', 0], upscale_method: 'lanczos', scale_by: 2 },
    },
    '3': {
      class_type: 'SaveImage',
      inputs: { images: ['2', 0], filename_prefix: 'upscale-image' },
    },
  },
  parameters: {
    image: { node: '1', input: 'image', type: 'image', description: 'the image to upscale' },
    scale: {
      node: '2',
      input: 'scale_by',
      type: 'number',
      default: 2,
      min: 0.01,
      max: 8,
      description: 'scale factor (model-free variant)',
    },
    method: {
      node: '2',
      input: 'upscale_method',
      type: 'choice',
      choices: SCALE_METHODS,
      default: 'lanczos',
      description: 'resampling method (model-free variant)',
    },
    model: {
      node: '4',
      input: 'model_name',
      type: 'string',
      required: false,
      description:
        'an upscale model file (e.g. RealESRGAN_x4plus.pth); switches to the model variant',
    },
  },
  variants: [
    {
      when: 'model',
      description: 'upscale with a model (UpscaleModelLoader + ImageUpscaleWithModel)',
      workflow: {
        '1': { class_type: 'LoadImage', inputs: { image: 'image.png' } },
        '4': { class_type: 'UpscaleModelLoader', inputs: { model_name: '' } },
        '5': {
          class_type: 'ImageUpscaleWithModel',
          inputs: { upscale_model: ['4', 0], image: ['1', 0] },
        },
        '3': {
          class_type: 'SaveImage',
          inputs: { images: ['5', 0], filename_prefix: 'upscale-image' },
        },
      },
    },
  ],
};

/**
 * `remove-background` (the seed's POST /api/remove-background): LoadImage → InspyrenetRembg (the
 * ComfyUI-Inspyrenet-Rembg custom node pack) → SaveImage, an RGBA PNG with the background
 * transparent. Given `threshold`, InspyrenetRembgAdvanced makes a hard mask at that confidence.
 */
export const REMOVE_BACKGROUND_TEMPLATE: TemplateDefinition = {
  name: 'remove-background',
  description:
    'Make the background of an image transparent (InspyrenetRembg custom nodes); `threshold` gives a hard edge.',
  workflow: {
    '1': { class_type: 'LoadImage', inputs: { image: 'image.png' } },
    '2': {
      class_type: 'InspyrenetRembg',
      inputs: { image: ['1', 0], torchscript_jit: 'default' },
    },
    '3': {
      class_type: 'SaveImage',
      inputs: { images: ['2', 0], filename_prefix: 'remove-background' },
    },
  },
  parameters: {
    image: { node: '1', input: 'image', type: 'image', description: 'the image to cut out' },
    threshold: {
      node: '2',
      input: 'threshold',
      type: 'number',
      required: false,
      min: 0,
      max: 1,
      description: 'hard mask above this confidence (InspyrenetRembgAdvanced)',
    },
  },
  variants: [
    {
      when: 'threshold',
      description: 'hard-edged mask (InspyrenetRembgAdvanced)',
      workflow: {
        '1': { class_type: 'LoadImage', inputs: { image: 'image.png' } },
        '2': {
          class_type: 'InspyrenetRembgAdvanced',
          inputs: { image: ['1', 0], threshold: 0.5, torchscript_jit: 'default' },
        },
        '3': {
          class_type: 'SaveImage',
          inputs: { images: ['2', 0], filename_prefix: 'remove-background' },
        },
      },
    },
  ],
};

/** The templates every gateway has (a file or API template of the same name replaces one). */
export const BUILTIN_TEMPLATES: readonly TemplateDefinition[] = [
  UPSCALE_IMAGE_TEMPLATE,
  REMOVE_BACKGROUND_TEMPLATE,
];
