/**
 * The built-in templates run on an emulated ComfyUI that has the remove-background node pack and
 * an upscale model: submitted as jobs, inputs uploaded, outputs collected.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComfyClient, ComfyEventStream, type HistoryRecord, runPrompt } from '../comfy/index.js';
import { startEmulator } from '../emulator/index.js';
import type { RunningEmulator } from '../emulator/options.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/store.js';
import { prepareInputsForInstance, uploadInputs } from './input-planning.js';
import type { JobLease } from './job-repository.js';
import { createJobServices, type JobServices } from './job-services.js';
import { submitJob } from './job-submission.js';
import type { FleetCapabilitiesView } from './job-validation.js';
import { collectAndComplete } from './output-collection.js';
import { installTemplates } from './template-loader.js';

let emu: RunningEmulator;
let client: ComfyClient;
let stream: ComfyEventStream;
let dir: string;
let store: Store;
let services: JobServices;
let fleet: FleetCapabilitiesView;

beforeAll(async () => {
  emu = await startEmulator({
    port: 0,
    speed: Number.POSITIVE_INFINITY,
    nodePacks: ['remove-background'],
    models: { upscale_models: ['RealESRGAN_x4plus.pth'] },
  });
  client = new ComfyClient({ baseUrl: emu.url, timeoutMs: 5_000 });
  stream = new ComfyEventStream({ client });
  stream.start();
  await stream.whenConnected({ timeoutMs: 5_000 });
  const capabilities = {
    node_classes: await client.getObjectInfo(),
    models: { upscale_models: (await client.listModels('upscale_models')) ?? [] },
  };
  fleet = { listCapabilities: () => [{ instance_id: 'emu', tags: [], capabilities }] };
  dir = await mkdtemp(path.join(os.tmpdir(), 'cc-builtin-'));
  store = await openStore({ kind: 'sqlite', file: path.join(dir, 'cc.db') });
  services = createJobServices(store, { dataDir: dir });
  await installTemplates(services.templates);
});

afterAll(async () => {
  await stream.close();
  client.close();
  await emu.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** An 8x6 image: a dark square on a light background. */
function photo(): string {
  const img = new PNG({ width: 8, height: 6 });
  for (let y = 0; y < 6; y++) {
    for (let x = 0; x < 8; x++) {
      const o = (y * 8 + x) * 4;
      const inside = x >= 2 && x < 6 && y >= 1 && y < 5;
      img.data.fill(inside ? 20 : 235, o, o + 3);
      img.data[o + 3] = 255;
    }
  }
  return `data:image/png;base64,${PNG.sync.write(img).toString('base64')}`;
}

/** Runs a template job to completion; returns the stored output image. */
async function run(template: string, params: Record<string, unknown>): Promise<Buffer> {
  const { job } = await submitJob(
    { template, params: { image: photo(), ...params } },
    { ...services, fleet },
  );
  const lease = (await services.jobs.claim(job.id, 'emu')) as JobLease;
  const bound = await services.jobs.inputs(job.id);
  const have = await services.inputs.uploadedTo(
    'emu',
    bound.map((i) => i.hash),
  );
  const plan = prepareInputsForInstance(
    { workflow: job.workflow, inputs: bound },
    { id: 'emu' },
    have,
  );
  const names = await uploadInputs(client, plan, { ...services, instanceId: 'emu' });
  const result = await runPrompt(stream, { prompt: plan.rewrite(names), prompt_id: job.id });
  expect(result.outcome).toBe('success');
  const done = await collectAndComplete({
    jobs: services.jobs,
    lease,
    client,
    record: result.history as HistoryRecord,
    outputs: services.outputStore,
  });
  expect(done.ok).toBe(true);
  const file = (await services.jobs.outputs(job.id)).find((o) => o.kind === 'file');
  return readFile(services.outputStore.absolute(file?.stored_path as string));
}

function header(png: Buffer): { width: number; height: number; colorType: number } {
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20), colorType: png[25] ?? -1 };
}

describe('built-in templates', () => {
  it('upscale-image scales by the factor, model-free', async () => {
    expect(header(await run('upscale-image', { scale: 2 }))).toMatchObject({
      width: 16,
      height: 12,
    });
  });

  it('upscale-image with a model upscales at the model’s factor', async () => {
    const out = await run('upscale-image', { model: 'RealESRGAN_x4plus.pth' });
    expect(header(out)).toMatchObject({ width: 32, height: 24 });
  });

  it('remove-background makes the background transparent, soft or with a threshold', async () => {
    for (const params of [{}, { threshold: 0.5 }]) {
      const out = await run('remove-background', params);
      expect(header(out)).toEqual({ width: 8, height: 6, colorType: 6 });
      const img = PNG.sync.read(out);
      expect(img.data[3]).toBe(0); // corner: background
      expect(img.data[(3 * 8 + 4) * 4 + 3]).toBe(255); // centre: the square
    }
  });
});
