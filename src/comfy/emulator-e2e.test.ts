/**
 * End to end: the client and the event stream against the emulated ComfyUI (src/emulator).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator } from '../emulator/index.js';
import type { EmulatorOptions, RunningEmulator } from '../emulator/options.js';
import { ComfyClient } from './comfy-client.js';
import { ComfyEventStream } from './comfy-event-stream.js';
import { ComfyTimeoutError, ComfyValidationError } from './errors.js';
import type { ApiPrompt, OutputFile } from './protocol.js';
import { runPrompt, waitForPrompt } from './run-prompt.js';
import type { ConnectionStateChange, WatchEvent } from './stream-events.js';
import { until } from './testing/fake-server.js';
import { loadWorkflow } from './testing/recordings.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

interface Setup {
  emu: RunningEmulator;
  client: ComfyClient;
  stream: ComfyEventStream;
  states: ConnectionStateChange[];
}

async function setup(options: EmulatorOptions = {}): Promise<Setup> {
  const emu = await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY, ...options });
  cleanups.push(() => emu.close());
  const client = new ComfyClient({ baseUrl: emu.url, timeoutMs: 5_000 });
  cleanups.push(() => client.close());
  const stream = new ComfyEventStream({
    client,
    reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    pingIntervalMs: 1_000,
  });
  cleanups.push(() => stream.close());
  const states: ConnectionStateChange[] = [];
  stream.on('state', (s) => states.push(s));
  await stream.whenConnected({ timeoutMs: 5_000 });
  return { emu, client, stream, states };
}

function workflow(name: string): ApiPrompt {
  return loadWorkflow(name) as ApiPrompt;
}

/** Slow enough to cancel or drop the socket mid-run: six 80 ms inverts on a tiny image. */
const SLOW = { speed: 1, nodeDurations: { ImageInvert: 80 } };

function slowWorkflow(): ApiPrompt {
  const prompt: ApiPrompt = {
    '1': { class_type: 'EmptyImage', inputs: { width: 16, height: 16, batch_size: 1, color: 0 } },
  };
  for (let i = 2; i <= 7; i++) {
    prompt[String(i)] = { class_type: 'ImageInvert', inputs: { image: [String(i - 1), 0] } };
  }
  prompt['8'] = { class_type: 'SaveImage', inputs: { images: ['7', 0], filename_prefix: 'slow' } };
  return prompt;
}

function firstImage(outputs: Record<string, Record<string, unknown[]>>): OutputFile {
  for (const node of Object.values(outputs)) {
    const images = node.images as OutputFile[] | undefined;
    if (images?.[0]) return images[0];
  }
  throw new Error('no image output');
}

describe('against the emulator', () => {
  it('runs a workflow: ordered events until executing null, history, /view of the PNG', async () => {
    const { client, stream } = await setup();
    const events: WatchEvent[] = [];
    const result = await runPrompt(
      stream,
      { prompt: workflow('empty_save.json') },
      { onEvent: (e) => events.push(e) },
    );
    expect(result.outcome).toBe('success');
    expect(result.via).toBe('events');
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('execution_start');
    expect(types[1]).toBe('execution_cached');
    expect(types).toContain('executed');
    expect(types.indexOf('execution_success')).toBeGreaterThan(types.indexOf('executed'));
    expect(events.at(-1)).toMatchObject({
      type: 'executing',
      data: { node: null, prompt_id: result.promptId },
    });

    const image = firstImage(result.outputs);
    const view = await client.view(image);
    expect(view.status).toBe(200);
    expect(view.contentType).toBe('image/png');
    const chunks: Buffer[] = [];
    for await (const chunk of view.body) chunks.push(chunk as Buffer);
    const png = Buffer.concat(chunks);
    expect(png.length).toBe(view.contentLength);
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(PNG.sync.read(png).width).toBe(64);

    const dir = await mkdtemp(path.join(tmpdir(), 'comfy-e2e-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const target = path.join(dir, 'out.png');
    expect((await client.downloadToFile(image, target)).bytes).toBe(png.length);
    expect(await readFile(target)).toEqual(png);
  });

  it('negotiates preview metadata: SaveImageWebsocket frames arrive as type 4 with the prompt id', async () => {
    const { stream } = await setup();
    const events: WatchEvent[] = [];
    const result = await runPrompt(
      stream,
      { prompt: workflow('save_image_websocket.json') },
      { onEvent: (e) => events.push(e) },
    );
    expect(result.outcome).toBe('success');
    expect(stream.serverFeatureFlags).toMatchObject({ supports_preview_metadata: true });
    const frames = events.flatMap((e) => (!e.unknown && e.type === 'binary' ? [e] : []));
    expect(frames).toHaveLength(2);
    for (const frame of frames) {
      expect(frame.promptId).toBe(result.promptId);
      expect(frame.frame).toMatchObject({
        kind: 'preview_with_metadata',
        mime: 'image/png',
        metadata: { prompt_id: result.promptId },
      });
    }
  });

  it('uploads an image and uses the returned name in LoadImage', async () => {
    const { client, stream } = await setup();
    const source = new PNG({ width: 12, height: 10 });
    source.data.fill(200);
    const bytes = PNG.sync.write(source);
    const uploaded = await client.uploadImage(bytes, {
      filename: 'gw_upload.png',
      subfolder: 'job-1',
    });
    expect(uploaded).toEqual({ name: 'gw_upload.png', subfolder: 'job-1', type: 'input' });
    const prompt = workflow('load_scale_invert_save.json');
    (prompt['1'] as { inputs: Record<string, unknown> }).inputs.image =
      `${uploaded.subfolder}/${uploaded.name}`;
    const result = await runPrompt(stream, { prompt });
    expect(result.outcome).toBe('success');
    const view = await client.view(firstImage(result.outputs));
    const chunks: Buffer[] = [];
    for await (const chunk of view.body) chunks.push(chunk as Buffer);
    const out = PNG.sync.read(Buffer.concat(chunks));
    expect([out.width, out.height]).toEqual([24, 20]);
  });

  it('reports a rejected workflow and a failing node', async () => {
    const { stream } = await setup();
    const rejected = await runPrompt(stream, { prompt: workflow('no_output_node.json') }).catch(
      (e: unknown) => e,
    );
    expect(rejected).toBeInstanceOf(ComfyValidationError);
    expect((rejected as ComfyValidationError).response.error.type).toBe('prompt_no_outputs');
    const failed = await runPrompt(stream, { prompt: workflow('runtime_error.json') });
    expect(failed.outcome).toBe('error');
    expect(failed.error).toMatchObject({ node_id: '2', exception_type: 'IndexError' });
    expect(stream.watchCount).toBe(0);
  });

  it.each([
    ['jobs API', '0.8.0'],
    ['fallback', '0.3.60'],
  ])('cancels a pending and a running prompt (%s)', async (_label, version) => {
    const { client, stream } = await setup({ ...SLOW, version });
    const running = runPrompt(stream, { prompt: slowWorkflow() });
    await until(() => stream.runningPromptId !== undefined, 5_000, 'first prompt running');
    const pendingId = crypto.randomUUID();
    const pendingWatch = stream.watch(pendingId);
    await client.queuePrompt({
      prompt: slowWorkflow(),
      prompt_id: pendingId,
      client_id: stream.clientId,
    });
    const queue = await client.getQueue();
    const runningId = queue.queue_running[0]?.[1] ?? '';
    expect(queue.queue_pending.map((item) => item[1])).toEqual([pendingId]);

    expect(await client.cancelJob(pendingId)).toEqual({ cancelled: true });
    expect(await client.getPromptState(pendingId)).toEqual({
      state: 'unknown',
      promptId: pendingId,
    });
    pendingWatch.close();
    expect(await client.cancelJob(runningId)).toEqual({ cancelled: true });
    const result = await running;
    expect(result.outcome).toBe('interrupted');
    expect(client.jobsApi).toBe(version === '0.8.0');
  });

  it('interrupts only the prompt named', async () => {
    const { client, stream } = await setup(SLOW);
    const done = runPrompt(stream, { prompt: slowWorkflow() });
    await until(() => stream.runningPromptId !== undefined, 5_000, 'prompt running');
    await client.interrupt(crypto.randomUUID());
    await client.interrupt(stream.runningPromptId);
    expect((await done).outcome).toBe('interrupted');
  });

  it('reconciles a prompt that finished while the socket was down', async () => {
    const { emu, stream, states } = await setup(SLOW);
    const reconciled: string[] = [];
    stream.on('reconciled', (r) => reconciled.push(r.state.state));
    const done = runPrompt(stream, { prompt: slowWorkflow() });
    await until(() => stream.runningPromptId !== undefined, 5_000, 'prompt running');
    emu.setFaults({ dropWebSockets: true });
    await until(() => !stream.connected, 5_000, 'socket dropped');
    await until(
      () => emu.stats().prompts.succeeded === 1,
      10_000,
      'prompt finished on the instance',
    );
    emu.setFaults({ dropWebSockets: false });
    const result = await done;
    expect(result).toMatchObject({ outcome: 'success', via: 'reconcile' });
    expect(result.history?.status.status_str).toBe('success');
    expect(reconciled).toContain('finished');
    expect(states.some((s) => s.state === 'reconnecting')).toBe(true);
    await until(() => stream.connected, 5_000, 'reconnected');
  });

  it('times out on a hung instance and reports injected 5xx answers', async () => {
    const { emu, client } = await setup();
    emu.setFaults({ httpErrors: { '/queue': 503 } });
    await expect(client.getQueue()).rejects.toMatchObject({ code: 'HTTP_ERROR', status: 503 });
    emu.setFaults({ hang: true });
    const error = await client.getSystemStats({ timeoutMs: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ComfyTimeoutError);
    emu.clearFaults();
  });

  it('waits for a prompt submitted by someone else', async () => {
    const { client, stream } = await setup(SLOW);
    const id = crypto.randomUUID();
    await client.queuePrompt({
      prompt: slowWorkflow(),
      prompt_id: id,
      client_id: stream.clientId,
    });
    const result = await waitForPrompt(stream, id, { timeoutMs: 20_000 });
    expect(result).toMatchObject({ promptId: id, outcome: 'success' });
  });
});
