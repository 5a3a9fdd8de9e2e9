/**
 * Recording: ws_execution_error.json — prompts that pass validation and fail while running:
 * ImageToMask(alpha) on an RGB image (IndexError), and LoadImage whose file was deleted after
 * validation (FileNotFoundError), queued behind a slow job that a global interrupt cuts short;
 * the WS sequences and the history records of both.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { describe } from 'vitest';
import type { JsonValue } from '../../src/comfy/protocol.js';
import {
  assertWsSequence,
  between,
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
  RECORDER_TIMING,
  recordedPrompt,
  replay,
  sharedTarget,
  socket,
  WsCapture,
  withColor,
} from '../support/index.js';

const transcript = loadTranscript('ws_execution_error');
const caps = await probeCapabilities();
const target = sharedTarget(RECORDER_TIMING);
const ids = transcript.prompt_ids ?? {};
const recorded = socket(transcript, 'submitting client');

/** The socket's first message (status with sid) followed by the recorded segment. */
function withConnect(segment: ReturnType<typeof between>) {
  const first = recorded.messages[0];
  if (first?.kind !== 'text') throw new Error('the recording starts without a status message');
  return [first, ...segment];
}

describe('ws_execution_error: failures at run time as recorded', () => {
  itWhen(caps, { nodes: ['EmptyImage', 'ImageToMask', 'MaskToImage', 'SaveImage'] })(
    'ImageToMask(alpha) on RGB: execution_error, error history',
    async () => {
      const t = target();
      const clientId = `gw-error-${t.runId}`;
      const ws = await WsCapture.open(`${t.wsUrl}/ws?clientId=${clientId}`);
      const problems = new Problems();
      const post = exchange(transcript, 'POST /prompt');
      const reply = await replay(t, post, {
        bodyJson: {
          prompt: withColor(recordedPrompt(post), freshColor()),
          client_id: clientId,
        } as unknown as JsonValue,
      });
      problems.check(reply, post, { rules: [numberLike('$.number')] });
      const promptId = (reply.json() as { prompt_id: string }).prompt_id;
      t.track(promptId);
      await ws.waitForPromptEnd(promptId);

      const hist = exchange(transcript, 'GET /history/{prompt_id} of failed prompt');
      const rewrite = idMap({ [ids.index_error ?? '']: promptId });
      problems.check(await replay(t, hist, { rewrite }), hist, { rewrite, rules: HISTORY_RULES });
      await problems.attempt('socket', () =>
        assertWsSequence(
          ws.messages,
          between(recorded, undefined, 'POST slow job'),
          'submitting client',
        ),
      );
      await ws.close();
      problems.assertNone();
    },
  );

  itWhen(caps, {
    nodes: ['EmptyImage', 'ImageBlur', 'ImageScaleBy', 'SaveImage', 'LoadImage', 'ImageInvert'],
    inputDirAccess: true,
  })(
    'LoadImage of a file deleted after validation: FileNotFoundError behind an interrupted job',
    async () => {
      const t = target();
      const inputDir = t.inputDir;
      if (!inputDir) throw new Error('no input folder');
      const names = fileNames(t, ['gw_todelete']);
      const clientId = `gw-error-${t.runId}`;
      const ws = await WsCapture.open(`${t.wsUrl}/ws?clientId=${clientId}`);
      const problems = new Problems();
      const mine: Record<string, string> = {};

      const upload = exchange(transcript, 'upload gw_todelete.png');
      problems.check(await replay(t, upload, { rewrite: names.rewrite }), upload, {
        rewrite: names.rewrite,
      });

      /** POSTs a recorded prompt (fresh colour, this run's names and client id). */
      async function post(name: string, key: string): Promise<string> {
        const ex = exchange(transcript, name);
        const body = mapStrings(
          { prompt: withColor(recordedPrompt(ex), freshColor()), client_id: clientId },
          names.rewrite,
        );
        const reply = await replay(t, ex, { bodyJson: body as unknown as JsonValue });
        problems.check(reply, ex, { rules: [numberLike('$.number')] });
        const promptId = (reply.json() as { prompt_id: string }).prompt_id;
        t.track(promptId);
        mine[ids[key] ?? key] = promptId;
        return promptId;
      }

      // As recorded: the LoadImage prompt is queued once the slow job is inside its first blur;
      // then the file is deleted and a global interrupt cuts the slow job short.
      const slow = await post('POST /prompt slow job (to hold the queue)', 'slow_interrupted');
      await ws.waitForNode(slow, '10');
      const failing = await post(
        'POST /prompt LoadImage gw_todelete.png (validates OK)',
        'deleted_file',
      );
      await rm(path.join(inputDir, names.rewrite('gw_todelete.png')));
      const interrupt = exchange(transcript, 'POST /interrupt (global) to cut the slow job short');
      problems.check(await replay(t, interrupt), interrupt);
      await ws.waitForPromptEnd(failing, { timeoutMs: 30_000 });

      const hist = exchange(transcript, 'GET /history/{prompt_id} LoadImage-of-deleted-file');
      const rewrite = idMap(mine);
      problems.check(await replay(t, hist, { rewrite }), hist, {
        rewrite: (s) => names.rewrite(rewrite(s)),
        rules: HISTORY_RULES,
      });
      await problems.attempt('socket', () =>
        assertWsSequence(
          ws.messages,
          withConnect(between(recorded, 'POST slow job')),
          'submitting client',
        ),
      );
      await ws.close();
      problems.assertNone();
    },
  );
});
