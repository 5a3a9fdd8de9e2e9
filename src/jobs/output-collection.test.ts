/**
 * Inputs and outputs against a real emulated ComfyUI: submit with a file, upload it before
 * dispatch, run the prompt, collect every output into the output store and record it once.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ComfyClient, ComfyEventStream, type HistoryRecord, runPrompt } from '../comfy/index.js';
import { startEmulator } from '../emulator/index.js';
import type { RunningEmulator } from '../emulator/options.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/store.js';
import {
  applyPathMap,
  GATEWAY_INPUT_SUBFOLDER,
  prepareInputsForInstance,
  uploadInputs,
} from './input-planning.js';
import { InputRepository } from './input-repository.js';
import { InputStore } from './input-store.js';
import { type JobLease, JobRepository } from './job-repository.js';
import { submitJob } from './job-submission.js';
import { collectAndComplete, collectOutputs, downloadOutputs } from './output-collection.js';
import { OutputStore } from './output-store.js';
import { runRetention } from './retention.js';
import { TemplateRepository } from './template-repository.js';

let emu: RunningEmulator;
let client: ComfyClient;
let stream: ComfyEventStream;
let dir: string;
let store: Store;
let jobs: JobRepository;
let inputs: InputRepository;
let inputStore: InputStore;
let outputStore: OutputStore;

beforeAll(async () => {
  emu = await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY });
  client = new ComfyClient({ baseUrl: emu.url, timeoutMs: 5_000 });
  stream = new ComfyEventStream({ client, reconnect: { initialDelayMs: 20, maxDelayMs: 100 } });
  stream.start();
  await stream.whenConnected({ timeoutMs: 5_000 });
});
afterAll(async () => {
  await stream.close();
  client.close();
  await emu.close();
});

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cc-collect-'));
  store = await openStore({ kind: 'sqlite', file: path.join(dir, 'cc.db') });
  jobs = new JobRepository(store.db);
  inputs = new InputRepository(store.db);
  inputStore = new InputStore(path.join(dir, 'inputs'));
  outputStore = new OutputStore(path.join(dir, 'outputs'));
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function png(seed: number): Buffer {
  const img = new PNG({ width: 8, height: 6 });
  for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 7 + seed) % 256;
  return PNG.sync.write(img);
}

/** LoadImage → invert → SaveImage, a temp preview, a FLAC and a text value. */
function workflow(prefix: string): Record<string, unknown> {
  return {
    '1': { class_type: 'LoadImage', inputs: { image: 'photo.png' } },
    '2': { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
    '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: prefix } },
    '4': { class_type: 'PreviewImage', inputs: { images: ['2', 0] } },
    '5': { class_type: 'EmptyAudio', inputs: { duration: 0.05, sample_rate: 8000, channels: 1 } },
    '6': {
      class_type: 'SaveAudio',
      inputs: { audio: ['5', 0], filename_prefix: `${prefix}/audio` },
    },
    '7': { class_type: 'PreviewAny', inputs: { source: prefix } },
  };
}

async function submitted(prefix: string, bytes: Buffer) {
  const acc = await submitJob(
    { workflow: workflow(prefix), inputs: [{ name: 'photo.png', data: bytes }] },
    { jobs, inputs, inputStore, templates: new TemplateRepository(store.db) },
  );
  return acc.job;
}

/** What a runner does up to the finished prompt: claim, upload, dispatch, wait. */
async function dispatch(
  jobId: string,
): Promise<{ lease: JobLease; record: HistoryRecord; uploads: number }> {
  const lease = (await jobs.claim(jobId, 'emu')) as JobLease;
  const job = await jobs.getOrThrow(jobId);
  const bound = await jobs.inputs(jobId);
  const have = await inputs.uploadedTo(
    'emu',
    bound.map((i) => i.hash),
  );
  const plan = prepareInputsForInstance(
    { workflow: job.workflow, inputs: bound },
    { id: 'emu' },
    have,
  );
  const names = await uploadInputs(client, plan, { inputStore, inputs, instanceId: 'emu' });
  const run = await runPrompt(stream, { prompt: plan.rewrite(names), prompt_id: jobId });
  expect(run.outcome).toBe('success');
  return { lease, record: run.history as HistoryRecord, uploads: plan.uploads.length };
}

async function viewBytes(file: {
  filename: string;
  subfolder: string;
  type: string;
}): Promise<Buffer> {
  const view = await client.view(file);
  const chunks: Buffer[] = [];
  for await (const c of view.body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('inputs before dispatch', () => {
  it('uploads each input once per instance into the gateway subfolder and rewrites LoadImage', async () => {
    const bytes = png(1);
    const job = await submitted('collect-a', bytes);
    const bound = await jobs.inputs(job.id);
    const hash = bound[0]?.hash as string;
    const plan = prepareInputsForInstance(
      { workflow: job.workflow, inputs: bound },
      { id: 'emu' },
      new Map(),
    );
    expect(plan.uploads).toEqual([
      {
        hash,
        filename: `${hash}.png`,
        subfolder: GATEWAY_INPUT_SUBFOLDER,
        mime: 'image/png',
        size: bytes.length,
      },
    ]);
    expect(plan.workflow['1']?.inputs.image).toBe(`${GATEWAY_INPUT_SUBFOLDER}/${hash}.png`);
    const names = await uploadInputs(client, plan, { inputStore, inputs, instanceId: 'emu' });
    expect(
      await readFile(path.join(emu.dirs.input, GATEWAY_INPUT_SUBFOLDER, `${hash}.png`)),
    ).toEqual(bytes);
    expect(names.get(hash)).toEqual({ name: `${hash}.png`, subfolder: GATEWAY_INPUT_SUBFOLDER });

    // Known now: a second job with the same bytes uploads nothing to this instance.
    const again = await submitted('collect-b', bytes);
    const b2 = await jobs.inputs(again.id);
    const have = await inputs.uploadedTo(
      'emu',
      b2.map((i) => i.hash),
    );
    const plan2 = prepareInputsForInstance(
      { workflow: again.workflow, inputs: b2 },
      { id: 'emu' },
      have,
    );
    expect(plan2.uploads).toEqual([]);
    expect(plan2.reused.get(hash)).toEqual({
      name: `${hash}.png`,
      subfolder: GATEWAY_INPUT_SUBFOLDER,
    });
    // Another instance has nothing yet.
    expect((await inputs.uploadedTo('other', [hash])).size).toBe(0);
    // The name the server answers wins over the planned one.
    const renamed = plan2.rewrite(
      new Map([[hash, { name: 'x (1).png', subfolder: 'comfy-cluster' }]]),
    );
    expect(renamed['1']?.inputs.image).toBe('comfy-cluster/x (1).png');
  });

  it('applies the instance path_map to string inputs only', () => {
    const w = {
      '1': {
        class_type: 'LoadImageFromPath',
        inputs: { path: 'U:\\shots\\a.exr', n: 3, link: ['2', 0] },
      },
      '2': { class_type: 'X', inputs: { dir: 'U:/shots/renders', other: '/keep/me' } },
    };
    const out = applyPathMap(w, [
      { local: 'U:/', remote: '/mnt/projects/' },
      { local: 'U:/shots/renders', remote: '/fast/renders' },
    ]);
    expect(out['1']?.inputs).toEqual({ path: '/mnt/projects/shots/a.exr', n: 3, link: ['2', 0] });
    expect(out['2']?.inputs).toEqual({ dir: '/fast/renders', other: '/keep/me' });
    expect(w['1'].inputs.path).toBe('U:\\shots\\a.exr');
  });
});

describe('outputs', () => {
  it('lists every output file and text value of the history record, not temp previews', async () => {
    const job = await submitted('collect-c', png(2));
    const { record } = await dispatch(job.id);
    const entries = collectOutputs(record);
    expect(entries.map((e) => [e.node_id, e.output_key, e.kind])).toEqual([
      ['3', 'images', 'file'],
      ['6', 'audio', 'file'],
      ['7', 'text', 'value'],
    ]);
    expect(Object.keys(record.outputs)).toContain('4');
    expect(entries.find((e) => e.kind === 'value')).toMatchObject({ value: 'collect-c' });
  });

  it('copies the files byte for byte, records them once, and a repeat changes nothing', async () => {
    const job = await submitted('collect-d', png(3));
    const { lease, record } = await dispatch(job.id);
    const done = await collectAndComplete({ jobs, lease, client, record, outputs: outputStore });
    expect(done.ok).toBe(true);
    const outs = await jobs.outputs(job.id);
    expect(
      outs.map((o) => [o.index, o.kind, o.mime, o.stored_path?.split('/').slice(1).join('/')]),
    ).toEqual([
      [0, 'file', 'image/png', `1/0-${outs[0]?.filename}`],
      [1, 'file', 'audio/flac', `1/1-${outs[1]?.filename}`],
      [2, 'value', null, undefined],
    ]);
    for (const o of outs.filter((x) => x.kind === 'file')) {
      const served = await viewBytes({
        filename: o.filename as string,
        subfolder: o.subfolder as string,
        type: 'output',
      });
      const stored = await readFile(outputStore.absolute(o.stored_path as string));
      expect(stored).toEqual(served);
      expect(o.size).toBe(served.length);
      expect(o.sha256).toBe(createHash('sha256').update(served).digest('hex'));
    }
    expect(outs[1]?.subfolder).toBe('collect-d');
    expect(outs[2]?.value).toBe('collect-d');
    expect((await jobs.get(job.id))?.status).toBe('completed');

    // A recovered runner repeating the collection: refused, nothing duplicated, files kept.
    const again = await collectAndComplete({ jobs, lease, client, record, outputs: outputStore });
    expect(again.ok).toBe(false);
    expect(await jobs.outputs(job.id)).toEqual(outs);
    expect(await readdir(path.join(outputStore.root, job.id, '1'))).toHaveLength(2);
  });

  it('a cut-short collection resumes from the stored files', async () => {
    const job = await submitted('collect-e', png(4));
    const { lease, record } = await dispatch(job.id);
    const first = await downloadOutputs({ client, record, lease, outputs: outputStore });
    const before = emu.stats().requests['GET /view'] ?? 0;
    const second = await downloadOutputs({ client, record, lease, outputs: outputStore });
    expect(second).toEqual(first);
    expect(emu.stats().requests['GET /view'] ?? 0).toBe(before);
  });

  it('a stale attempt’s collection is refused and its files removed', async () => {
    const job = await submitted('collect-f', png(5));
    const { lease: stale, record } = await dispatch(job.id);
    await jobs.requeue(stale, { code: 'instance_unreachable', message: 'socket dropped' });
    const fresh = (await jobs.claim(job.id, 'emu-2')) as JobLease;
    // The stale runner had already downloaded its files when it tries to record them.
    const files = await downloadOutputs({ client, record, lease: stale, outputs: outputStore });
    expect(files).toHaveLength(3);
    await jobs.requeue(fresh, { code: 'instance_unreachable', message: 'x' }, { exclude: false });
    const third = (await jobs.claim(job.id, 'emu')) as JobLease;
    expect((await jobs.complete(stale, files)).ok).toBe(false);
    const refused = await collectAndComplete({
      jobs,
      lease: stale,
      client,
      record,
      outputs: outputStore,
    });
    expect(refused.ok).toBe(false);
    expect(await readdir(path.join(outputStore.root, job.id))).toEqual([]);
    const ok = await collectAndComplete({
      jobs,
      lease: third,
      client,
      record,
      outputs: outputStore,
    });
    expect(ok.ok).toBe(true);
    expect(await readdir(path.join(outputStore.root, job.id))).toEqual(['3']);
    const stored = (await jobs.outputs(job.id)).filter((o) => o.kind === 'file');
    expect(stored.map((o) => o.stored_path?.split('/')[1])).toEqual(['3', '3']);
  });

  it('refuses files over the size limit', async () => {
    const job = await submitted('collect-g', png(6));
    const { lease, record } = await dispatch(job.id);
    await expect(
      downloadOutputs({ client, record, lease, outputs: outputStore, maxBytes: 10 }),
    ).rejects.toMatchObject({ code: 'OUTPUT_TOO_LARGE' });
  });

  it('retention removes finished jobs with their output files and unused inputs', async () => {
    const job = await submitted('collect-h', png(7));
    const { lease, record } = await dispatch(job.id);
    await collectAndComplete({ jobs, lease, client, record, outputs: outputStore });
    const hash = (await jobs.inputs(job.id))[0]?.hash as string;
    const pending = await submitted('collect-i', png(8));
    const kept = await runRetention({ jobs, inputs, inputStore, outputStore, now: Date.now() });
    expect(kept).toMatchObject({ jobs_deleted: 0, inputs_deleted: 0 });
    const later = Date.now() + 8 * 24 * 3600 * 1000;
    const report = await runRetention({ jobs, inputs, inputStore, outputStore, now: later });
    expect(report).toMatchObject({ jobs_deleted: 1, inputs_deleted: 1, orphan_output_folders: 0 });
    expect(await jobs.get(job.id)).toBeUndefined();
    expect(await outputStore.listJobFolders()).toEqual([]);
    expect(await inputStore.has(hash)).toBe(false);
    expect((await jobs.get(pending.id))?.status).toBe('pending');
    expect((await jobs.inputs(pending.id))[0]?.hash).not.toBe(hash);
  });
});
