import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComfyClient } from '../../../comfy/index.js';
import { type RunningEmulator, startEmulator } from '../../../emulator/index.js';
import { OutputStore } from '../../../jobs/index.js';
import { PromptExtras, type StatusMessage, tempEntriesOf } from './prompt-extras.js';

let emu: RunningEmulator;
let client: ComfyClient;
let dir: string;

/** Runs a PreviewImage prompt on the emulator; resolves with its history outputs. */
async function preview(promptId: string, color: number): Promise<Record<string, unknown>> {
  await client.queuePrompt({
    prompt_id: promptId,
    prompt: {
      '1': { class_type: 'EmptyImage', inputs: { width: 4, height: 4, batch_size: 1, color } },
      '2': { class_type: 'PreviewImage', inputs: { images: ['1', 0] } },
    },
  });
  for (let i = 0; i < 500; i++) {
    const rec = await client.getHistoryItem(promptId);
    if (rec) return rec.outputs as Record<string, unknown>;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('prompt did not finish');
}

beforeAll(async () => {
  emu = await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY });
  client = new ComfyClient({ baseUrl: emu.url });
  dir = await mkdtemp(path.join(tmpdir(), 'cc-extras-'));
});

afterAll(async () => {
  client?.close();
  await emu?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('PromptExtras', () => {
  it('picks the temp entries of a UI output only', () => {
    expect(
      tempEntriesOf('5', {
        images: [
          { filename: 'a.png', subfolder: '', type: 'output' },
          { filename: 't.png', subfolder: 's', type: 'temp' },
        ],
        text: ['x'],
      }),
    ).toEqual([{ node_id: '5', output_key: 'images', filename: 't.png', subfolder: 's' }]);
  });

  it('copies what was announced live, and what only the instance history names when live messages were missed', async () => {
    const store = new OutputStore(path.join(dir, 'outputs'));
    const extras = new PromptExtras({ store, sourceFor: () => client });

    const live = randomUUID();
    const outputs = await preview(live, 1);
    extras.capture(live, 'i1', '2', outputs['2']);
    await extras.finish(live, 'i1', true, [['execution_start', { prompt_id: live, timestamp: 1 }]]);
    const [entry] = (await extras.read(live)).temps;
    expect(entry).toMatchObject({ node_id: '2', output_key: 'images', subfolder: '' });
    const original = await readFile(path.join(emu.dirs.temp, entry?.filename ?? ''));
    const copy = await extras.file(live, '', entry?.filename ?? '');
    expect(copy).toBeDefined();
    expect((await readFile(copy ?? '')).equals(original)).toBe(true);

    const missed = randomUUID();
    await preview(missed, 2);
    await extras.finish(missed, 'i1', false);
    const found = await extras.read(missed);
    expect(found.temps).toHaveLength(1);
    expect(found.temps[0]?.stored_path).not.toBeNull();
    // The instance's status messages come with them (its cached list, its timestamps).
    expect(found.messages?.map((m) => m[0])).toEqual([
      'execution_start',
      'execution_cached',
      'execution_success',
    ]);

    // A fresh instance of the class (a restarted gateway) reads the manifest.
    const again = new PromptExtras({ store, sourceFor: () => undefined });
    expect(await again.read(live)).toEqual({
      temps: [entry],
      messages: [['execution_start', { prompt_id: live, timestamp: 1 }]],
    });
    expect(await again.file(live, '', 'nope.png')).toBeUndefined();
    expect(await again.read(randomUUID())).toEqual({ temps: [], messages: null });
  });

  it('hands the record over before writing it; the written record is what a restarted gateway reads', async () => {
    const store = new OutputStore(path.join(dir, 'outputs3'));
    const extras = new PromptExtras({ store, sourceFor: () => client });
    const id = randomUUID();
    const outputs = await preview(id, 4);
    extras.capture(id, 'i1', '2', outputs['2']);
    const messages: StatusMessage[] = [['execution_start', { prompt_id: id, timestamp: 7 }]];
    const record = await extras.settle(id, 'i1', true, messages);
    expect(record?.messages).toEqual(messages);
    expect(record?.temps[0]?.stored_path).not.toBeNull();
    expect(await extras.read(id)).toEqual(record);
    const again = new PromptExtras({ store, sourceFor: () => undefined });
    let seen = await again.read(id);
    for (let i = 0; i < 100 && seen.messages === null; i++) {
      await new Promise((r) => setTimeout(r, 10));
      seen = await again.read(id);
    }
    expect(seen).toEqual(record);
    // Nothing to record (no temps, no messages): null, and reads give the empty record.
    const none = randomUUID();
    expect(await extras.settle(none, 'i1', true, null)).toBeNull();
    expect(await extras.read(none)).toEqual({ temps: [], messages: null });
  });

  it('forgets an attempt that went back to the queue', async () => {
    const store = new OutputStore(path.join(dir, 'outputs2'));
    const extras = new PromptExtras({ store, sourceFor: () => client });
    const id = randomUUID();
    const outputs = await preview(id, 3);
    extras.capture(id, 'i1', '2', outputs['2']);
    extras.forget(id);
    await extras.finish(id, 'i1', true);
    expect((await extras.read(id)).temps).toEqual([]);
  });
});
