/**
 * Recording: ws_same_clientid_replace.json — two sockets with one clientId: the newer one gets
 * everything, the older nothing; once the older one closes, the server forgets the clientId and the
 * newer socket, still open, gets nothing at all.
 */
import { describe } from 'vitest';
import type { JsonValue } from '../../src/comfy/protocol.js';
import {
  assertWsSequence,
  exchange,
  freshColor,
  itWhen,
  loadTranscript,
  numberLike,
  Problems,
  probeCapabilities,
  recordedPrompt,
  replay,
  sharedTarget,
  socket,
  WsCapture,
  waitForHistory,
  withColor,
} from '../support/index.js';

const transcript = loadTranscript('ws_same_clientid_replace');
const caps = await probeCapabilities();
const target = sharedTarget();

/** How long a socket that should hear nothing more is watched after its prompt is done. */
const QUIET_MS = 300;

describe('ws_same_clientid_replace: the newer socket replaces the older, closing the older silences both', () => {
  itWhen(caps, { nodes: ['EmptyImage', 'SaveImage'] })('replays both prompts', async () => {
    const t = target();
    const clientId = `gw-dup-${t.runId}`;
    const a = await WsCapture.open(`${t.wsUrl}/ws?clientId=${clientId}`);
    await a.waitForType('status');
    const b = await WsCapture.open(`${t.wsUrl}/ws?clientId=${clientId}`);
    await b.waitForType('status');
    const problems = new Problems();

    const post = async (name: string) => {
      const ex = exchange(transcript, name);
      const body = { prompt: withColor(recordedPrompt(ex), freshColor()), client_id: clientId };
      const reply = await replay(t, ex, { bodyJson: body as unknown as JsonValue });
      problems.check(reply, ex, { rules: [numberLike('$.number')] });
      const promptId = (reply.json() as { prompt_id: string }).prompt_id;
      t.track(promptId);
      return promptId;
    };

    const first = await post('POST /prompt #1 (A and B open)');
    await b.waitForPromptEnd(first);
    await a.close();
    // The server must have handled A's close before the next prompt, as the recorder's 1 s pause
    // ensured. The emulator says so; a real server gets a pause.
    if (t.emulator) {
      const emulator = t.emulator;
      const deadline = Date.now() + 5_000;
      while (emulator.stats().websockets.open > 1 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
    } else {
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const heard = b.messages.length;
    const second = await post('POST /prompt #2 (A closed, only B open)');
    await waitForHistory(t, second);
    await new Promise((r) => setTimeout(r, QUIET_MS));
    await problems.attempt('socket A', () =>
      assertWsSequence(a.messages, socket(transcript, 'socket A').messages, 'socket A'),
    );
    await problems.attempt('socket B', () =>
      assertWsSequence(b.messages, socket(transcript, 'socket B').messages, 'socket B'),
    );
    if (b.messages.length !== heard) {
      problems.add('socket B after A closed', `expected no message, got:\n${b.summary()}`);
    }
    await b.close();
    problems.assertNone();
  });
});
