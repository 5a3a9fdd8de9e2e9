/**
 * Recording: ws_success_cached_partial.json — a successful prompt's full WS sequence, its
 * identical resubmit (fully cached), load_scale_invert_save then a variant with one input changed
 * (partial cache), a client-chosen prompt_id with extra_data, front:true, an explicit number; the
 * history records; and an observer socket (another clientId) that sees only `status`.
 */
import { randomUUID } from 'node:crypto';
import { describe } from 'vitest';
import type { JsonValue } from '../../src/comfy/protocol.js';
import {
  assertWsSequence,
  exchange,
  fileNames,
  freshColor,
  HISTORY_RULES,
  idMap,
  itWhen,
  loadTranscript,
  mapStrings,
  numberLike,
  Problems,
  probeCapabilities,
  recordedPrompt,
  replay,
  type ShapeRule,
  sharedTarget,
  socket,
  WsCapture,
  withColor,
} from '../support/index.js';

const transcript = loadTranscript('ws_success_cached_partial');
const uploads = loadTranscript('http_upload_image');
const caps = await probeCapabilities();
const target = sharedTarget();
const ids = transcript.prompt_ids ?? {};

const NODES = ['EmptyImage', 'SaveImage', 'LoadImage', 'ImageScaleBy', 'ImageInvert'];

describe('ws_success_cached_partial: success, cache hits and submit options as recorded', () => {
  itWhen(caps, { nodes: NODES })(
    'replays the recorded submissions and their WS sequences',
    async () => {
      const t = target();
      const names = fileNames(t, ['gw_upload']);
      await replay(t, exchange(uploads, 'upload new file'), { rewrite: names.rewrite });
      const clientId = `gw-success-${t.runId}`;
      const observer = await WsCapture.open(`${t.wsUrl}/ws?clientId=gw-observer-${t.runId}`);
      const ws = await WsCapture.open(`${t.wsUrl}/ws?clientId=${clientId}`);
      const problems = new Problems();
      const mine: Record<string, string> = {};
      const color = freshColor();
      const chosenId = randomUUID();

      /** POSTs the recorded body (this run's client id, colour, names), waits for the end. */
      async function post(
        name: string,
        key: string,
        changes: Record<string, unknown> = {},
        rules: ShapeRule[] = [],
      ) {
        const ex = exchange(transcript, name);
        const body = {
          ...(ex.request.body_json as Record<string, unknown>),
          client_id: clientId,
          ...changes,
        };
        const reply = await replay(t, ex, {
          bodyJson: mapStrings(body, names.rewrite) as JsonValue,
        });
        problems.check(reply, ex, { rules: [numberLike('$.number'), ...rules] });
        const promptId = (reply.json() as { prompt_id?: string }).prompt_id;
        if (typeof promptId !== 'string') throw new Error(`${name}: no prompt_id: ${reply.text}`);
        t.track(promptId);
        mine[ids[key] ?? key] = promptId;
        await ws.waitForPromptEnd(promptId);
        return promptId;
      }

      async function history(name: string) {
        const ex = exchange(transcript, name);
        const rewrite = idMap(mine);
        problems.check(await replay(t, ex, { rewrite }), ex, {
          rewrite: (s) => names.rewrite(rewrite(s)),
          rules: HISTORY_RULES,
        });
      }

      const empty = recordedPrompt(exchange(transcript, 'POST /prompt'));
      await post('POST /prompt', 'success', { prompt: withColor(empty, color) });
      await history('GET /history/{prompt_id} after success');
      await post('POST /prompt identical resubmit', 'cached', { prompt: withColor(empty, color) });
      await history('GET /history/{prompt_id} of fully cached run');
      await post('POST /prompt load_scale_invert_save', 'lsi');
      await post('POST /prompt partial-cache variant', 'lsi_partial');
      await history('GET /history/{prompt_id} load_scale_invert_save');
      const chosen = exchange(
        transcript,
        'POST /prompt with client-chosen prompt_id and extra_data',
      );
      await post(
        chosen.name,
        'explicit',
        { prompt: withColor(recordedPrompt(chosen), freshColor()), prompt_id: chosenId },
        [
          {
            path: '$.prompt_id',
            kind: 'check',
            check: (a) =>
              a === chosenId
                ? undefined
                : `expected the chosen id ${chosenId} got ${JSON.stringify(a)}`,
          },
        ],
      );
      const front = exchange(transcript, 'POST /prompt with front:true (negative number)');
      await post(front.name, 'front', { prompt: withColor(recordedPrompt(front), freshColor()) });
      const numbered = exchange(transcript, 'POST /prompt with explicit number');
      await post(
        numbered.name,
        'number',
        { prompt: withColor(recordedPrompt(numbered), freshColor()) },
        [{ path: '$.number', kind: 'value', why: 'the number the client chose, used as given' }],
      );

      const submitting = socket(transcript, 'submitting client');
      const watching = socket(transcript, 'other connected client');
      await observer.settle(watching.messages.length);
      await problems.attempt('submitting socket', () =>
        assertWsSequence(ws.messages, submitting.messages, 'submitting client'),
      );
      await problems.attempt('observer socket', () =>
        assertWsSequence(observer.messages, watching.messages, 'observer'),
      );
      await ws.close();
      await observer.close();
      problems.assertNone();
    },
  );
});
