import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ComfyClient } from '../comfy/index.js';
import { startEmulator } from '../emulator/index.js';
import type { RunningEmulator } from '../emulator/options.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/store.js';
import { SubmissionInvalidError, WorkflowRejectedError } from './errors.js';
import { InputRepository } from './input-repository.js';
import { InputStore } from './input-store.js';
import { JobRepository } from './job-repository.js';
import { type JobIntake, normalizeSubmission, submitJob } from './job-submission.js';
import type { FleetCapabilitiesView, InstanceCapabilities } from './job-validation.js';
import { installTemplates } from './template-loader.js';
import { TemplateRepository } from './template-repository.js';

let emu: RunningEmulator;
let caps: InstanceCapabilities;
let dir: string;
let store: Store;
let deps: JobIntake;

beforeAll(async () => {
  emu = await startEmulator({ port: 0 });
  const client = new ComfyClient({ baseUrl: emu.url, timeoutMs: 5_000 });
  caps = { node_classes: await client.getObjectInfo(), models: { checkpoints: [] } };
  client.close();
});
afterAll(async () => {
  await emu.close();
});

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cc-submit-'));
  store = await openStore({ kind: 'sqlite', file: path.join(dir, 'cc.db') });
  const templates = new TemplateRepository(store.db);
  await installTemplates(templates);
  const fleet: FleetCapabilitiesView = {
    listCapabilities: () => [{ instance_id: 'gpu-0', tags: [], capabilities: caps }],
  };
  deps = {
    jobs: new JobRepository(store.db),
    inputs: new InputRepository(store.db),
    inputStore: new InputStore(path.join(dir, 'inputs')),
    templates,
    fleet,
    estimateRunMs: 30_000,
  };
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function png(): Buffer {
  const img = new PNG({ width: 4, height: 4 });
  img.data.fill(128);
  return PNG.sync.write(img);
}
const dataUrl = (b: Buffer) => `data:image/png;base64,${b.toString('base64')}`;

const invertWorkflow = {
  '1': { class_type: 'LoadImage', inputs: { image: 'photo.png' } },
  '2': { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
  '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'inv' } },
};

function invalid(fn: () => unknown): SubmissionInvalidError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SubmissionInvalidError);
    return err as SubmissionInvalidError;
  }
  throw new Error('expected SubmissionInvalidError');
}

async function storedFiles(): Promise<number> {
  const root = path.join(dir, 'inputs');
  let n = 0;
  for (const d of await readdir(root).catch(() => [] as string[])) {
    if (!d.startsWith('.')) n += (await readdir(path.join(root, d))).length;
  }
  return n;
}

describe('normalizeSubmission', () => {
  it('fills defaults and hashes the request canonically', () => {
    const a = normalizeSubmission(
      { workflow: invertWorkflow, metadata: { b: 1, a: 2 } },
      { timeout_ms: 9000 },
    );
    expect(a).toMatchObject({
      priority: 0,
      tags: [],
      inputs: [],
      timeout_ms: 9000,
      max_attempts: 3,
    });
    const b = normalizeSubmission(
      { metadata: { a: 2, b: 1 }, workflow: invertWorkflow },
      { timeout_ms: 9000 },
    );
    expect(b.request_hash).toBe(a.request_hash);
    const c = normalizeSubmission({ workflow: invertWorkflow, priority: 1 });
    expect(c.request_hash).not.toBe(a.request_hash);
    expect(normalizeSubmission({ workflow: invertWorkflow }).timeout_ms).toBe(300_000);
  });

  it('reports every rule broken, with field paths', () => {
    const e = invalid(() =>
      normalizeSubmission({
        workflow: invertWorkflow,
        template: 'upscale-image',
        inputs: [
          { name: 'a.png' },
          { name: 'b.png', data: 'aGk=', hash: 'c'.repeat(64) },
          { name: '../x.png', data: 'aGk=', node: '1' },
          { name: 'a.png', hash: 'd'.repeat(64) },
        ],
      }),
    );
    expect(e.errors).toEqual([
      { path: 'template', message: 'cannot be combined with workflow: give one of them' },
      {
        path: 'inputs[0]',
        message: 'needs data (bytes, base64 or a data URL) or the hash of an input stored earlier',
      },
      { path: 'inputs[1]', message: 'give data or hash, not both' },
      { path: 'inputs[2].name', message: 'must be a plain file name, without directories' },
      { path: 'inputs[2]', message: 'node and input go together' },
      { path: 'inputs[3].name', message: '"a.png" is given twice' },
    ]);
    expect(e.code).toBe('SUBMISSION_INVALID');
    expect(invalid(() => normalizeSubmission({ priorty: 2, workflow: {} })).errors).toEqual([
      { path: 'priorty', message: "unknown field; did you mean 'priority'?" },
    ]);
    expect(invalid(() => normalizeSubmission({ params: {} })).errors.map((x) => x.path)).toEqual([
      'workflow',
      'params',
    ]);
    expect(invalid(() => normalizeSubmission([])).errors[0]?.message).toBe(
      'a job must be a JSON object',
    );
  });

  it('takes raw bytes as input data', () => {
    const s = normalizeSubmission({
      workflow: invertWorkflow,
      inputs: [{ name: 'photo.png', data: png() }],
    });
    expect(s.inputs[0]?.data).toBeInstanceOf(Uint8Array);
  });
});

describe('submitJob', () => {
  it('stores the input, binds it, validates on the fleet and commits a pending job', async () => {
    const bytes = png();
    await submitJob(
      { workflow: invertWorkflow, inputs: [{ name: 'photo.png', data: dataUrl(bytes) }] },
      deps,
    );
    const acc = await submitJob(
      { workflow: invertWorkflow, inputs: [{ name: 'photo.png', data: bytes }], owner: 'k1' },
      deps,
    );
    expect(acc).toMatchObject({
      created: true,
      queue_position: 1,
      estimated_completion_seconds: 60,
      capable_instances: ['gpu-0'],
      job: { status: 'pending', owner: 'k1' },
    });
    const inputs = await deps.jobs.inputs(acc.job.id);
    expect(inputs).toMatchObject([
      { name: 'photo.png', node_id: '1', input_name: 'image', mime: 'image/png' },
    ]);
    expect(await deps.inputStore.read(inputs[0]?.hash ?? '')).toEqual(bytes);
    expect(await storedFiles()).toBe(1);
    // A reference to the stored input works as well.
    const byHash = await submitJob(
      { workflow: invertWorkflow, inputs: [{ name: 'photo.png', hash: inputs[0]?.hash }] },
      deps,
    );
    expect(byHash.created).toBe(true);
  });

  it('replays an idempotency key without storing or validating again', async () => {
    const body = {
      workflow: invertWorkflow,
      inputs: [{ name: 'photo.png', data: dataUrl(png()) }],
      owner: 'k1',
      idempotency_key: 'upload-7',
    };
    const first = await submitJob(body, deps);
    const again = await submitJob(body, { ...deps, fleet: { listCapabilities: () => [] } });
    expect(again).toMatchObject({ created: false, same_request: true });
    expect(again.job.id).toBe(first.job.id);
    const changed = await submitJob({ ...body, priority: 5 }, deps);
    expect(changed).toMatchObject({ created: false, same_request: false });
    expect((await deps.jobs.list()).jobs).toHaveLength(1);
  });

  it('binds a template, storing a data URL parameter as the job’s input', async () => {
    const acc = await submitJob(
      { template: 'upscale-image', params: { image: dataUrl(png()), scale: '1.5' } },
      deps,
    );
    expect(acc.job.template).toEqual({
      name: 'upscale-image',
      params: { image: 'image.png', scale: 1.5, method: 'lanczos' },
    });
    expect(acc.job.workflow['1']).toEqual({
      class_type: 'LoadImage',
      inputs: { image: 'image.png' },
    });
    expect((acc.job.workflow['2'] as { inputs: { scale_by: number } }).inputs.scale_by).toBe(1.5);
    expect(await deps.jobs.inputs(acc.job.id)).toMatchObject([{ name: 'image.png', node_id: '1' }]);
    // The image may also be a file given with the job.
    const named = await submitJob(
      {
        template: 'upscale-image',
        params: { image: 'in.png' },
        inputs: [{ name: 'in.png', data: png() }],
      },
      deps,
    );
    expect(await deps.jobs.inputs(named.job.id)).toMatchObject([
      { name: 'in.png', node_id: '1', input_name: 'image' },
    ]);
  });

  it('refuses, committing nothing: unknown template, missing node class, unused input, unknown hash', async () => {
    await expect(submitJob({ template: 'nope' }, deps)).rejects.toMatchObject({
      code: 'TEMPLATE_NOT_FOUND',
    });
    const rb = submitJob(
      {
        template: 'remove-background',
        params: { image: 'x.png' },
        inputs: [{ name: 'x.png', data: png() }],
      },
      deps,
    );
    await expect(rb).rejects.toBeInstanceOf(WorkflowRejectedError);
    await expect(rb).rejects.toMatchObject({
      code: 'NO_CAPABLE_INSTANCE',
      missing: { node_classes: ['InspyrenetRembg'] },
    });
    await expect(
      submitJob({ workflow: invertWorkflow, inputs: [{ name: 'other.png', data: png() }] }, deps),
    ).rejects.toMatchObject({
      errors: [
        {
          path: 'inputs[0].name',
          message:
            'no node input uses "other.png": put the name in a LoadImage image, or give node and input',
        },
      ],
    });
    await expect(
      submitJob(
        { workflow: invertWorkflow, inputs: [{ name: 'photo.png', hash: 'e'.repeat(64) }] },
        deps,
      ),
    ).rejects.toMatchObject({
      errors: [{ path: 'inputs[0].hash', message: 'no stored input has this hash' }],
    });
    await expect(
      submitJob(
        {
          workflow: invertWorkflow,
          inputs: [{ name: 'photo.png', data: 'data:image/png;base64,@@' }],
        },
        deps,
      ),
    ).rejects.toMatchObject({ code: 'SUBMISSION_INVALID' });
    await expect(submitJob({ workflow: { '1': { class_type: 'X' } } }, deps)).rejects.toMatchObject(
      {
        code: 'WORKFLOW_INVALID',
      },
    );
    expect((await deps.jobs.list()).jobs).toEqual([]);
  });

  it('binds an input explicitly to a node input', async () => {
    const acc = await submitJob(
      {
        workflow: {
          ...invertWorkflow,
          '1': { class_type: 'LoadImage', inputs: { image: 'placeholder' } },
        },
        inputs: [{ name: 'shot.png', data: png(), node: '1', input: 'image' }],
      },
      deps,
    );
    expect(acc.job.workflow['1']).toEqual({
      class_type: 'LoadImage',
      inputs: { image: 'shot.png' },
    });
  });

  it('leaves the caller’s submission as given (no defaults or bindings written into it)', async () => {
    const body = {
      workflow: {
        ...invertWorkflow,
        '1': { class_type: 'LoadImage', inputs: { image: 'placeholder' } },
      },
      inputs: [{ name: 'shot.png', data: dataUrl(png()), node: '1', input: 'image' }],
    };
    const before = structuredClone(body);
    const acc = await submitJob(body, deps);
    expect(acc.job.workflow['1']).toEqual({
      class_type: 'LoadImage',
      inputs: { image: 'shot.png' },
    });
    expect(body).toEqual(before);
    const blank = {
      '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
      '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'blank' } },
    };
    const plain = { workflow: structuredClone(blank) };
    expect((await submitJob(plain, deps)).job.priority).toBe(0);
    expect(plain).toEqual({ workflow: blank });
  });
});
