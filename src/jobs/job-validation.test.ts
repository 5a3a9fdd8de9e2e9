import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComfyClient } from '../comfy/index.js';
import { startEmulator } from '../emulator/index.js';
import type { RunningEmulator } from '../emulator/options.js';
import { REMOVE_BACKGROUND_TEMPLATE } from './builtin-templates.js';
import { WorkflowRejectedError } from './errors.js';
import {
  type FleetCapabilitiesView,
  type FleetInstanceCapabilities,
  type InstanceCapabilities,
  modelUses,
  validateJobForFleet,
} from './job-validation.js';

const emulators: RunningEmulator[] = [];
let plain: InstanceCapabilities;
let rembg: InstanceCapabilities;

async function capabilitiesOf(emu: RunningEmulator): Promise<InstanceCapabilities> {
  const client = new ComfyClient({ baseUrl: emu.url, timeoutMs: 5_000 });
  try {
    const node_classes = await client.getObjectInfo();
    const models: Record<string, string[]> = {};
    for (const folder of await client.listModelFolders()) {
      models[folder] = (await client.listModels(folder)) ?? [];
    }
    return { node_classes, models };
  } finally {
    client.close();
  }
}

beforeAll(async () => {
  const a = await startEmulator({
    port: 0,
    models: {
      checkpoints: ['sd_xl_base_1.0.safetensors'],
      upscale_models: ['RealESRGAN_x4plus.pth'],
    },
  });
  emulators.push(a);
  const b = await startEmulator({
    port: 0,
    nodePacks: ['remove-background'],
    models: { checkpoints: ['other.safetensors'], upscale_models: [] },
  });
  emulators.push(b);
  plain = await capabilitiesOf(a);
  rembg = await capabilitiesOf(b);
});

afterAll(async () => {
  for (const e of emulators.splice(0)) await e.close();
});

function fleet(...instances: FleetInstanceCapabilities[]): FleetCapabilitiesView {
  return { listCapabilities: async () => instances };
}

const A = (): FleetInstanceCapabilities => ({
  instance_id: 'a',
  tags: ['cheap'],
  capabilities: plain,
  active: true,
});
const B = (): FleetInstanceCapabilities => ({
  instance_id: 'b',
  tags: ['rembg'],
  capabilities: rembg,
});

async function rejection(p: Promise<unknown>): Promise<WorkflowRejectedError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowRejectedError);
  return err as WorkflowRejectedError;
}

const save = (from: string) => ({
  class_type: 'SaveImage',
  inputs: { images: [from, 0], filename_prefix: 't' },
});
const load = (image: string) => ({ class_type: 'LoadImage', inputs: { image } });
const checkpoint = (name: string) => ({
  '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: name } },
  '2': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
  '3': { class_type: 'VAEDecode', inputs: { samples: ['2', 0], vae: ['1', 2] } },
  '4': save('3'),
});

describe('validateJobForFleet', () => {
  it('refuses a malformed workflow before asking any instance', async () => {
    const e = await rejection(
      validateJobForFleet({ workflow: { '1': { inputs: {} }, '2': save('9') } }, fleet(A())),
    );
    expect(e.code).toBe('WORKFLOW_INVALID');
    expect(e.comfyError.type).toBe('invalid_prompt');
    expect(e.comfyError.details).toBe(
      'node 1: has no class_type\nnode 2 input images: links to node "9", which is not in the workflow',
    );
    expect(e.nodeErrors['2']?.errors[0]).toEqual({
      type: 'invalid_structure',
      message: 'links to node "9", which is not in the workflow',
      details: 'images',
      extra_info: { input_name: 'images' },
    });
  });

  it('accepts on the instances that can run it; the job’s files satisfy LoadImage', async () => {
    const rb = REMOVE_BACKGROUND_TEMPLATE.workflow;
    const r = await validateJobForFleet(
      { workflow: rb, input_names: ['image.png'] },
      fleet(A(), B()),
    );
    expect(r).toEqual({ capable: ['b'], unverified: [] });
    const simple = { '1': load('photo.png'), '2': save('1') };
    expect(
      await validateJobForFleet({ workflow: simple, input_names: ['photo.png'] }, fleet(A(), B())),
    ).toEqual({ capable: ['a', 'b'], unverified: [] });
  });

  it('instances with equal capabilities (separate objects) get the same answer; others their own', async () => {
    const twin = (id: string, caps: typeof plain): FleetInstanceCapabilities => ({
      instance_id: id,
      tags: [],
      capabilities: structuredClone(caps),
    });
    const rb = REMOVE_BACKGROUND_TEMPLATE.workflow;
    const many = [twin('a1', plain), twin('b1', rembg), twin('a2', plain), twin('b2', rembg)];
    expect(
      await validateJobForFleet({ workflow: rb, input_names: ['image.png'] }, fleet(...many)),
    ).toEqual({ capable: ['b1', 'b2'], unverified: [] });
    const e = await rejection(
      validateJobForFleet({ workflow: rb, input_names: ['image.png'] }, fleet(many[0]!, many[2]!)),
    );
    expect(e.code).toBe('NO_CAPABLE_INSTANCE');
  });

  it('a missing input file is a workflow error, in ComfyUI’s words', async () => {
    const e = await rejection(
      validateJobForFleet({ workflow: { '1': load('photo.png'), '2': save('1') } }, fleet(A())),
    );
    expect(e.code).toBe('WORKFLOW_INVALID');
    expect(e.nodeErrors['1']?.errors[0]).toEqual({
      type: 'custom_validation_failed',
      message: 'Custom validation failed for node',
      details: 'image - Invalid image file: photo.png',
      extra_info: { input_name: 'image' },
    });
    expect(e.message).toBe(
      'workflow is invalid: Prompt outputs failed validation (Custom validation failed for node: image - Invalid image file: photo.png)',
    );
  });

  it('names a node class no eligible instance has', async () => {
    const e = await rejection(
      validateJobForFleet(
        {
          workflow: REMOVE_BACKGROUND_TEMPLATE.workflow,
          tags: ['cheap'],
          input_names: ['image.png'],
        },
        fleet(A(), B()),
      ),
    );
    expect(e.code).toBe('NO_CAPABLE_INSTANCE');
    expect(e.missing).toEqual({ node_classes: ['InspyrenetRembg'], models: [] });
    expect(e.message).toBe(
      'no instance can run this job: node class InspyrenetRembg is on no eligible instance',
    );
    expect(e.comfyError).toEqual({
      type: 'invalid_prompt',
      message: 'Cannot execute because node InspyrenetRembg does not exist.',
      details: "Node ID '#2'",
      extra_info: {},
    });
    expect(e.closestInstance).toBe('a');
  });

  it('names a model file no instance has, with ComfyUI’s node_errors', async () => {
    const e = await rejection(
      validateJobForFleet({ workflow: checkpoint('nope.safetensors') }, fleet(A(), B())),
    );
    expect(e.code).toBe('NO_CAPABLE_INSTANCE');
    expect(e.missing).toEqual({
      node_classes: [],
      models: [{ folder: 'checkpoints', file: 'nope.safetensors' }],
    });
    expect(e.message).toBe(
      'no instance can run this job: model file checkpoints/nope.safetensors is on no eligible instance',
    );
    expect(e.nodeErrors['1']?.errors[0]).toMatchObject({
      type: 'value_not_in_list',
      details: "ckpt_name: 'nope.safetensors' not in ['sd_xl_base_1.0.safetensors']",
    });
    expect(
      await validateJobForFleet({ workflow: checkpoint('other.safetensors') }, fleet(A(), B())),
    ).toEqual({ capable: ['b'], unverified: [] });
  });

  it('says which instance lacks what when no single one has everything', async () => {
    const workflow = {
      '1': load('image.png'),
      '2': {
        class_type: 'InspyrenetRembg',
        inputs: { image: ['1', 0], torchscript_jit: 'default' },
      },
      '3': { class_type: 'UpscaleModelLoader', inputs: { model_name: 'RealESRGAN_x4plus.pth' } },
      '4': {
        class_type: 'ImageUpscaleWithModel',
        inputs: { upscale_model: ['3', 0], image: ['2', 0] },
      },
      '5': save('4'),
    };
    expect(modelUses(workflow, plain)).toEqual([
      {
        node_id: '3',
        input: 'model_name',
        folder: 'upscale_models',
        file: 'RealESRGAN_x4plus.pth',
      },
    ]);
    const e = await rejection(
      validateJobForFleet({ workflow, input_names: ['image.png'] }, fleet(A(), B())),
    );
    expect(e.code).toBe('NO_CAPABLE_INSTANCE');
    expect(e.missing).toEqual({ node_classes: [], models: [] });
    expect(e.message).toBe(
      'no single instance can run this job: a lacks node class InspyrenetRembg; b lacks model file upscale_models/RealESRGAN_x4plus.pth',
    );
  });

  it('a value out of range is the workflow’s fault, answered from an instance that has everything', async () => {
    const workflow = {
      '1': { class_type: 'EmptyImage', inputs: { width: 0, height: 8, batch_size: 1, color: 0 } },
      '2': save('1'),
    };
    const e = await rejection(validateJobForFleet({ workflow }, fleet(A(), B())));
    expect(e.code).toBe('WORKFLOW_INVALID');
    expect(e.nodeErrors['1']?.errors[0]).toMatchObject({
      type: 'value_smaller_than_min',
      message: 'Value 0 smaller than min of 1',
    });
  });

  it('honours pin (an id or "active") and tags, and says why nothing matched', async () => {
    const w = {
      '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
      '2': save('1'),
    };
    expect((await validateJobForFleet({ workflow: w, pin: 'b' }, fleet(A(), B()))).capable).toEqual(
      ['b'],
    );
    expect(
      (await validateJobForFleet({ workflow: w, pin: 'active' }, fleet(A(), B()))).capable,
    ).toEqual(['a']);
    const pinned = await rejection(
      validateJobForFleet({ workflow: w, pin: 'zz', tags: ['gpu'] }, fleet(A(), B())),
    );
    expect(pinned.code).toBe('NO_CAPABLE_INSTANCE');
    expect(pinned.message).toBe('no instance has id "zz" and carries tag gpu');
    const none = await rejection(validateJobForFleet({ workflow: w }, fleet()));
    expect(none.message).toBe('no instance is configured');
  });

  it('accepts when an eligible instance’s capabilities are not known yet', async () => {
    const unknown: FleetInstanceCapabilities = { instance_id: 'c', tags: [], capabilities: null };
    expect(
      await validateJobForFleet({ workflow: checkpoint('nope.safetensors') }, fleet(A(), unknown)),
    ).toEqual({ capable: [], unverified: ['c'] });
  });
});
