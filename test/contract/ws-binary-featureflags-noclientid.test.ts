/**
 * Recording: ws_binary_featureflags_noclientid.json — SaveImageWebsocket previews as binary frames
 * (type 1 framing), the feature_flags handshake that switches them to type 4 with metadata JSON,
 * a socket without clientId (server-made sid), and prompts without client_id (only status,
 * progress, progress_state and previews reach anyone, by broadcast).
 *
 * Cache facts the recording shows and these tests reproduce: the second SaveImageWebsocket run
 * repeats the first one's EmptyImage (execution_cached ["1"]); the last one repeats it too but an
 * empty_save prompt ran in between, whose node "1" replaced it in the cache, so it runs again.
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
  type ShapeRule,
  sharedTarget,
  socket,
  submit,
  WsCapture,
  waitForHistory,
  withColor,
} from '../support/index.js';

const transcript = loadTranscript('ws_binary_featureflags_noclientid');
const caps = await probeCapabilities();
const target = sharedTarget();
const NEEDS = { nodes: ['EmptyImage', 'SaveImageWebsocket', 'SaveImage'] };

const SIW = exchange(transcript, 'POST /prompt SaveImageWebsocket (no feature flags)');

/**
 * Runs a SaveImageWebsocket prompt on a socket of its own, so `color` is in the node cache; returns
 * after its last message (`executing` null comes after the final status broadcast).
 */
async function warmCache(color: number): Promise<void> {
  const t = target();
  const clientId = `gw-warm-${t.runId}`;
  const ws = await WsCapture.open(`${t.wsUrl}/ws?clientId=${clientId}`);
  try {
    const { prompt_id } = await submit(t, {
      prompt: withColor(recordedPrompt(SIW), color),
      client_id: clientId,
    });
    await ws.waitForPromptEnd(prompt_id);
  } finally {
    await ws.close();
  }
}

/** POSTs a recorded prompt with the colour and client id given; checks the answer. */
async function post(
  problems: Problems,
  name: string,
  color: number,
  clientId: string | undefined,
): Promise<string> {
  const t = target();
  const ex = exchange(transcript, name);
  const body: Record<string, unknown> = { prompt: withColor(recordedPrompt(ex), color) };
  if (clientId !== undefined) body.client_id = clientId;
  const reply = await replay(t, ex, { bodyJson: body as JsonValue });
  problems.check(reply, ex, { rules: [numberLike('$.number')] });
  const promptId = (reply.json() as { prompt_id: string }).prompt_id;
  t.track(promptId);
  return promptId;
}

describe('ws_binary_featureflags_noclientid: binary previews, feature flags, no client id', () => {
  itWhen(caps, NEEDS)('type-1 preview frames for a socket without feature flags', async () => {
    const t = target();
    const clientId = `gw-bin-${t.runId}`;
    const ws = await WsCapture.open(`${t.wsUrl}/ws?clientId=${clientId}`);
    const problems = new Problems();
    const promptId = await post(problems, SIW.name, freshColor(), clientId);
    await ws.waitForPromptEnd(promptId);
    await problems.attempt('socket', () =>
      assertWsSequence(
        ws.messages,
        socket(transcript, 'no feature_flags sent').messages,
        'no flags',
      ),
    );
    await ws.close();
    problems.assertNone();
  });

  itWhen(caps, NEEDS)(
    'feature_flags first: the server answers its flags, previews become type 4',
    async () => {
      const t = target();
      const color = freshColor();
      await warmCache(color);
      const clientId = `gw-binflags-${t.runId}`;
      const recorded = socket(transcript, 'client sends feature_flags first');
      const first = recorded.messages[0];
      if (first?.kind !== 'text')
        throw new Error('the recording does not start with the client message');
      const ws = await WsCapture.open(`${t.wsUrl}/ws?clientId=${clientId}`, {
        firstMessage: first.json as JsonValue,
      });
      const problems = new Problems();
      const promptId = await post(
        problems,
        'POST /prompt SaveImageWebsocket (with feature flags)',
        color,
        clientId,
      );
      await ws.waitForPromptEnd(promptId);
      await problems.attempt('socket', () =>
        assertWsSequence(ws.messages, recorded.messages, 'with flags'),
      );
      await ws.close();
      problems.assertNone();
    },
  );

  itWhen(caps, NEEDS)(
    'no clientId: server-made sid; prompts without client_id are broadcast in part',
    async () => {
      const t = target();
      const color = freshColor();
      await warmCache(color);
      const recorded = socket(transcript, 'connected WITHOUT clientId');
      const ws = await WsCapture.open(`${t.wsUrl}/ws`);
      const problems = new Problems();
      const sidRule: ShapeRule = {
        path: '$.data.sid',
        kind: 'check',
        check: (a) =>
          typeof a === 'string' && /^[0-9a-f]{32}$/.test(a)
            ? undefined
            : `expected uuid4().hex got ${JSON.stringify(a)}`,
      };
      // Nothing reaches this socket that says a prompt ended: wait for its history, then for the
      // broadcast status that follows it.
      for (const [name, color_] of [
        ['POST /prompt without client_id (empty_save)', freshColor()],
        ['POST /prompt without client_id (SaveImageWebsocket)', color],
      ] as const) {
        const from = ws.messages.length;
        const promptId = await post(problems, name, color_, undefined);
        await waitForHistory(t, promptId);
        await ws
          .waitForType(
            'status',
            (d) => JSON.stringify(d.status) === '{"exec_info":{"queue_remaining":0}}',
            { from },
          )
          .catch((err: unknown) => problems.add(name, err));
      }
      await problems.attempt('socket', () =>
        assertWsSequence(ws.messages, recorded.messages, 'no clientId', { rules: [sidRule] }),
      );
      await ws.close();
      problems.assertNone();
    },
  );
});
