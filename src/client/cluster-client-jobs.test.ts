import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { txt2img } from '../scheduler/dispatch/testing/workflows.js';
import { ClusterClient } from './cluster-client.js';
import { ClusterError, ClusterTimeoutError } from './errors.js';
import { type LiveGateway, liveGateway } from './testing/live-gateway.js';
import type { JobEvent, JobProgressUpdate } from './types.js';

let gw: LiveGateway;
let client: ClusterClient;
let dir: string;

const emulator = () => {
  const e = gw.emulators[0];
  if (!e) throw new Error('no emulator');
  return e;
};

/** Instant nodes, but this many ms per sampler step (at 512×512). */
function slow(on: boolean) {
  emulator().setSpeed(on ? 1 : Number.POSITIVE_INFINITY);
}

function png(width: number, height: number): Uint8Array {
  const image = new PNG({ width, height });
  image.data.fill(200);
  return PNG.sync.write(image);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of stream as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
  return Buffer.concat(chunks);
}

const quick = (prefix = 'sdk') => ({
  '1': {
    class_type: 'EmptyImage',
    inputs: { width: 16, height: 16, batch_size: 1, color: 0x2288ff },
  },
  '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: prefix } },
});

beforeAll(async () => {
  gw = await liveGateway({ emulators: 1 });
  client = new ClusterClient({ url: gw.url });
  dir = await mkdtemp(path.join(tmpdir(), 'cc-sdk-'));
});

afterEach(() => {
  slow(false);
  emulator().clearFaults();
});

afterAll(async () => {
  await gw?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('ClusterClient: jobs', () => {
  it('runs a workflow: events in order, progress reported, final job with outputs', async () => {
    slow(true);
    const events: JobEvent[] = [];
    const progress: JobProgressUpdate[] = [];
    const job = await client.run(
      { workflow: txt2img({ steps: 20, size: 512, prefix: 'progress' }) },
      { onEvent: (e) => events.push(e), onProgress: (p) => progress.push(p) },
    );
    expect(job.status).toBe('completed');
    expect(job.outputs?.[0]).toMatchObject({ kind: 'file', mime: 'image/png' });
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('job.created');
    expect(events[1]).toMatchObject({ type: 'job.status', data: { status: 'processing' } });
    expect(events.at(-1)).toMatchObject({ type: 'job.status', data: { status: 'completed' } });
    expect(types.indexOf('job.progress')).toBeGreaterThan(1);
    const ids = events.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    expect(progress.length).toBe(types.filter((t) => t === 'job.progress').length);
    const percents = progress.map((p) => p.percent).filter((p): p is number => p !== null);
    expect(percents.length).toBeGreaterThan(0);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(progress.every((p) => p.job_id === job.id)).toBe(true);
  });

  it('downloads outputs byte-identical to what the instance served, and saves them safely', async () => {
    const accepted = await client.submit({ workflow: quick('bytes') }, { wait: true });
    expect(accepted.status).toBe('completed');
    const job = await client.getJob(accepted.job_id);
    const out = job.outputs?.[0];
    if (!out?.filename) throw new Error('no file output');
    const download = await client.downloadOutput(job.id, 0);
    const bytes = await bytesOf(download.stream);
    expect(download).toMatchObject({
      contentType: 'image/png',
      size: bytes.length,
      filename: out.filename,
    });
    expect(sha256(bytes)).toBe(out.sha256);
    const direct = new URL('/view', emulator().url);
    direct.search = new URLSearchParams({
      filename: out.filename,
      subfolder: out.subfolder ?? '',
      type: out.type ?? 'output',
    }).toString();
    const served = Buffer.from(await (await fetch(direct)).arrayBuffer());
    expect(bytes.equals(served)).toBe(true);

    const target = path.join(dir, 'saved');
    const first = await client.saveOutputs(job.id, target);
    const second = await client.saveOutputs(job.id, target);
    expect(first).toEqual([
      { index: 0, path: path.join(target, out.filename), size: bytes.length, sha256: out.sha256 },
    ]);
    // No clobbering: the second save gets a suffix, the first file is untouched.
    expect(second[0]?.path).toBe(path.join(target, out.filename.replace(/\.png$/, '-1.png')));
    expect((await readdir(target)).sort()).toHaveLength(2);
    expect((await readFile(first[0]?.path ?? '')).equals(served)).toBe(true);
  });

  it('runs a template with a local file and a workflow with in-memory bytes (multipart)', async () => {
    const file = path.join(dir, 'in.png');
    await writeFile(file, png(8, 6));
    const templated = await client.runTemplate(
      'upscale-image',
      { image: 'in.png', scale: 2 },
      { inputs: { 'in.png': { path: file } } },
    );
    const job = await client.wait(templated.job_id);
    expect(job).toMatchObject({ status: 'completed', template: { name: 'upscale-image' } });
    const up = PNG.sync.read(await bytesOf((await client.downloadOutput(job.id, 0)).stream));
    expect([up.width, up.height]).toEqual([16, 12]);

    const loaded = await client.run({
      workflow: {
        '1': { class_type: 'LoadImage', inputs: { image: 'mem.png' } },
        '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'mem' } },
      },
      inputs: { 'mem.png': { data: png(5, 4), filename: 'mem.png' } },
    });
    expect(loaded.status).toBe('completed');
    const echoed = PNG.sync.read(await bytesOf((await client.downloadOutput(loaded.id, 0)).stream));
    expect([echoed.width, echoed.height]).toEqual([5, 4]);
  });

  it('sends inline data URLs, stored-input hashes and explicit node bindings', async () => {
    const bytes = png(3, 2);
    const load = (name: string) => ({
      '1': { class_type: 'LoadImage', inputs: { image: name } },
      '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'inline' } },
    });
    const dataUrl = `data:image/png;base64,${Buffer.from(bytes).toString('base64')}`;
    const inline = await client.run({
      workflow: load('u.png'),
      inputs: { 'u.png': { data_url: dataUrl } },
    });
    expect(inline.status).toBe('completed');
    // The bytes are stored under their sha256: a later job names them by hash alone.
    const byHash = await client.run({
      workflow: load('h.png'),
      inputs: { 'h.png': { hash: sha256(bytes) } },
    });
    expect(byHash.status).toBe('completed');
    // Bound to node 1's `image` explicitly, whatever name the workflow had there.
    const bound = await client.run({
      workflow: load('placeholder.png'),
      inputs: { 'b.png': { data: bytes, node: '1', input: 'image' } },
    });
    expect(bound.status).toBe('completed');
    const out = PNG.sync.read(await bytesOf((await client.downloadOutput(bound.id, 0)).stream));
    expect([out.width, out.height]).toEqual([3, 2]);
  });

  it('answers a submit with wait once the job is done, or as it is when the wait runs out', async () => {
    slow(true);
    const cut = await client.submit(
      { workflow: txt2img({ steps: 400, size: 512 }) },
      { wait: true, waitTimeoutS: 1 },
    );
    expect(cut.status).toBe('processing');
    const aborted = new AbortController();
    const events = client.jobEvents(cut.job_id, { signal: aborted.signal });
    expect((await events.next()).value).toMatchObject({ type: 'job.created' });
    aborted.abort();
    await expect(events.next()).rejects.toMatchObject({ name: 'AbortError' });
    await client.cancel(cut.job_id);
    expect((await client.wait(cut.job_id)).status).toBe('cancelled');
  });

  it('refuses an input name with a folder, and a missing local file, before sending', async () => {
    await expect(
      client.submit({ workflow: quick(), inputs: { '../x.png': { data: png(1, 1) } } }),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(
      client.submit({
        workflow: quick(),
        inputs: { 'x.png': { path: path.join(dir, 'nope.png') } },
      }),
    ).rejects.toMatchObject({ code: 'input_unreadable' });
  });

  it('cancels a pending job, retries it as a new linked job', async () => {
    const id = gw.ids[0] ?? '';
    await client.instanceAction(id, 'pause');
    let retried: string;
    try {
      const pending = await client.submit({ workflow: quick('pending') });
      expect(pending.status).toBe('pending');
      const cancelled = await client.cancel(pending.job_id);
      expect(cancelled).toMatchObject({ job_id: pending.job_id, status: 'cancelled' });
      expect((await client.getJob(pending.job_id)).status).toBe('cancelled');
      const again = await client.retry(pending.job_id);
      expect(again).toMatchObject({ status: 'pending', retry_of: pending.job_id });
      expect(again.job_id).not.toBe(pending.job_id);
      retried = again.job_id;
    } finally {
      await client.instanceAction(id, 'resume');
    }
    const done = await client.wait(retried, { timeoutMs: 10_000 });
    expect(done).toMatchObject({ status: 'completed', retry_of: expect.any(String) });
    const finished = await client.cancel(retried).catch((e: unknown) => e);
    expect(finished).toMatchObject({ status: 409, code: 'invalid_state' });
  });

  it('cancels a running job (interrupted on its instance)', async () => {
    slow(true);
    const { job_id } = await client.submit({ workflow: txt2img({ steps: 400, size: 512 }) });
    for await (const e of client.jobEvents(job_id)) {
      if (e.type === 'job.progress' && (e.data.percent ?? 0) > 0) break;
    }
    const r = await client.cancel(job_id);
    expect(r.job_id).toBe(job_id);
    const job = await client.wait(job_id, { timeoutMs: 10_000 });
    expect(job.status).toBe('cancelled');
    expect(emulator().stats().prompts.interrupted).toBeGreaterThanOrEqual(1);
  });

  it('retries a failed job; the retry completes', async () => {
    emulator().setFaults({
      nodeErrors: {
        SaveImage: { exception_type: 'RuntimeError', exception_message: 'disk on fire' },
      },
    });
    const failed = await client.run({ workflow: quick('fail') });
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({
      node_class: 'SaveImage',
      exception_message: expect.stringContaining('disk on fire'),
    });
    emulator().clearFaults();
    const again = await client.retry(failed.id);
    const done = await client.wait(again.job_id);
    expect(done).toMatchObject({ status: 'completed', retry_of: failed.id });
  });

  it('resumes a dropped job event stream with Last-Event-ID, without duplicates', async () => {
    slow(true);
    const opened: string[] = [];
    const counting = new ClusterClient({
      url: gw.url,
      fetch: (input, init) => {
        const headers = new Headers(init?.headers);
        if (String(input).includes('/events')) opened.push(headers.get('last-event-id') ?? '');
        return fetch(input, init);
      },
    });
    const { job_id } = await counting.submit({ workflow: txt2img({ steps: 20, size: 512 }) });
    const events: JobEvent[] = [];
    let dropped = false;
    for await (const e of counting.jobEvents(job_id)) {
      events.push(e);
      if (!dropped && e.type === 'job.progress') {
        dropped = true;
        gw.dropConnections();
      }
    }
    expect(dropped).toBe(true);
    expect(opened.length).toBeGreaterThanOrEqual(2);
    expect(opened[0]).toBe('');
    expect(Number(opened[1])).toBeGreaterThan(0);
    // Every event of the job's log, once, in order: the same as a replay from the start.
    const replay: number[] = [];
    for await (const e of client.jobEvents(job_id)) replay.push(e.id);
    expect(events.map((e) => e.id)).toEqual(replay);
    const from = replay[2] ?? 0;
    const later: number[] = [];
    for await (const e of client.jobEvents(job_id, { lastEventId: from })) later.push(e.id);
    expect(later).toEqual(replay.filter((id) => id > from));
    expect(events.at(-1)).toMatchObject({ type: 'job.status', data: { status: 'completed' } });
  });

  it('gives up waiting after timeoutMs, and pages through the job list', async () => {
    slow(true);
    const { job_id } = await client.submit({ workflow: txt2img({ steps: 400, size: 512 }) });
    const err = await client.wait(job_id, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterTimeoutError);
    await client.cancel(job_id);
    await client.wait(job_id);

    const all = (await client.listJobs({ limit: 500 })).jobs.map((j) => j.id);
    const paged: string[] = [];
    for await (const j of client.iterateJobs({ limit: 2 })) paged.push(j.id);
    expect(paged).toEqual(all);
    const cancelled = await client.listJobs({ status: 'cancelled' });
    expect(cancelled.jobs.every((j) => j.status === 'cancelled')).toBe(true);
    expect(cancelled.jobs.map((j) => j.id)).toContain(job_id);
    await expect(client.getJob('no-such-job')).rejects.toBeInstanceOf(ClusterError);
  });
});
