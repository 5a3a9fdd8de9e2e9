/**
 * Recording: ws_queue_interrupt.json — GET /queue with one running and two pending prompts,
 * GET /prompt, /api/jobs and /api/jobs/{id} while running, POST /queue delete (pending, then the
 * running one: no effect), POST /interrupt while idle, for a pending id (ignored), for the running
 * id, without a body (global) and under /api; history and /api/jobs of an interrupted prompt; a
 * second socket with the same clientId opened during execution (it gets `executing {node}` on
 * connect and replaces the first, which hears nothing more); POST /queue {clear:true} (pending
 * only).
 *
 * Prompts A..E are slow_blur_chain (about 1.8 s per blur on the recorder's CPU), so each request
 * below is sent while a known node runs, as the recorder did.
 */
import { describe } from 'vitest';
import type { JsonValue } from '../../src/comfy/protocol.js';
import {
  assertWsSequence,
  exchange,
  freshColor,
  HISTORY_RULES,
  idMap,
  itWhen,
  loadTranscript,
  numberLike,
  orderedObject,
  PROMPT_ECHO_RULES,
  Problems,
  probeCapabilities,
  RECORDER_TIMING,
  type RecordedWsMessage,
  recordedPrompt,
  replay,
  type ShapeRule,
  sharedTarget,
  socket,
  WsCapture,
  withColor,
} from '../support/index.js';

const transcript = loadTranscript('ws_queue_interrupt');
const caps = await probeCapabilities();
const target = sharedTarget(RECORDER_TIMING);
const ids = transcript.prompt_ids ?? {};
const NODES = ['EmptyImage', 'ImageBlur', 'ImageScaleBy', 'SaveImage'];

const QUEUE_RULES: readonly ShapeRule[] = [numberLike('$.*[*][0]'), ...PROMPT_ECHO_RULES];
const JOB_RULES: readonly ShapeRule[] = [
  numberLike('$..priority'),
  { path: '$.pagination.total', kind: 'type', why: 'how many jobs the server holds' },
  ...PROMPT_ECHO_RULES,
];

const firstSocket = socket(transcript, 'submitting client');
const secondSocket = socket(transcript, 'second socket');

/** Index just after `executing {node: null}` of recorded prompt C in the second socket. */
function endOfC(): number {
  const i = secondSocket.messages.findIndex(
    (m) =>
      m.kind === 'text' &&
      m.json.type === 'executing' &&
      JSON.stringify(m.json.data) === JSON.stringify({ node: null, prompt_id: ids.C }),
  );
  if (i < 0) throw new Error('the recording has no end of prompt C');
  return i + 1;
}

describe('ws_queue_interrupt: queue, delete, interrupt and socket replacement as recorded', () => {
  itWhen(caps, { nodes: NODES })(
    'A running, B and C pending: delete, targeted and global interrupts, same-clientId socket',
    async () => {
      const t = target();
      const clientId = `gw-queue-${t.runId}`;
      const ws1 = await WsCapture.open(`${t.wsUrl}/ws?clientId=${clientId}`);
      const problems = new Problems();
      const mine: Record<string, string> = {};
      const rewrite = idMap(mine);
      const check = async (name: string, rules: readonly ShapeRule[] = []) => {
        const ex = exchange(transcript, name);
        return problems.check(await replay(t, ex, { rewrite }), ex, { rewrite, rules });
      };
      const post = async (name: string, key: string) => {
        const ex = exchange(transcript, name);
        const body = { prompt: withColor(recordedPrompt(ex), freshColor()), client_id: clientId };
        const reply = await replay(t, ex, { bodyJson: body as unknown as JsonValue });
        problems.check(reply, ex, { rules: [numberLike('$.number')] });
        const promptId = (reply.json() as { prompt_id: string }).prompt_id;
        t.track(promptId);
        mine[ids[key] ?? key] = promptId;
        return promptId;
      };

      await check('POST /interrupt while idle');
      const a = await post('POST /prompt slow A', 'A');
      // As recorded, B and C arrive while A runs its first node.
      await ws1.waitForNode(a, '1');
      await post('POST /prompt slow B (pending)', 'B');
      const c = await post('POST /prompt slow C (pending)', 'C');
      await check('GET /queue (1 running, 2 pending)', QUEUE_RULES);
      await check('GET /prompt (queue_remaining counts running+pending)');
      // /api/jobs lists every job the server knows: compare A, B and C only.
      const jobs = exchange(transcript, 'GET /api/jobs while running');
      const jobsReply = await replay(t, jobs);
      const pick = (body: unknown, wanted: readonly string[]) => {
        const list = (body as { jobs: { id: string }[] }).jobs;
        return orderedObject([
          ['jobs', list.filter((j) => wanted.includes(j.id))],
          ['pagination', (body as { pagination: unknown }).pagination],
        ]);
      };
      problems.check(jobsReply, jobs, {
        rewrite,
        rules: JOB_RULES,
        actualJson: pick(jobsReply.json(), [mine[ids.C ?? ''] ?? '', mine[ids.B ?? ''] ?? '', a]),
        expectedJson: pick(jobs.response.body_json, [ids.C ?? '', ids.B ?? '', ids.A ?? '']),
      });
      await check('GET /api/jobs/{id} of running job', JOB_RULES);

      // The recorder opened the second socket while A ran its second blur.
      await ws1.waitForNode(a, '11');
      const ws2 = await WsCapture.open(`${t.wsUrl}/ws?clientId=${clientId}`);
      await ws2.waitForType('executing');
      await check('POST /queue {delete:[B]} pending prompt');
      await check('POST /queue {delete:[A]} running prompt (no effect)');
      await check('GET /queue after deleting B', QUEUE_RULES);
      await check('POST /interrupt {prompt_id: C} (C is pending, not running -> ignored)');
      await check('GET /queue (A still running)', QUEUE_RULES);
      await check('POST /interrupt {prompt_id: A} (targeted)');
      await ws2.waitForPromptEnd(a, { timeoutMs: 30_000 });
      await ws2.waitForNode(c, '11', { timeoutMs: 30_000 });
      await check('POST /interrupt with no body (global)');
      await ws2.waitForPromptEnd(c, { timeoutMs: 30_000 });
      await check('GET /history/{A} interrupted', HISTORY_RULES);
      await check('GET /history/{B} deleted-before-run');
      await check('GET /api/jobs/{A} interrupted', JOB_RULES);

      const secondUntilC = secondSocket.messages.slice(0, endOfC());
      await ws2.settle(secondUntilC.filter((m) => m.kind !== 'marker').length);
      // B and C were POSTed while A started: where their status messages fall is a race.
      await problems.attempt('first socket', () =>
        assertWsSequence(ws1.messages, firstSocket.messages, 'first socket', { floatStatus: true }),
      );
      await problems.attempt('second socket', () =>
        assertWsSequence(ws2.messages, secondUntilC, 'second socket (same clientId)'),
      );
      await ws2.close();
      await ws1.close();
      problems.assertNone();
    },
    60_000,
  );

  itWhen(caps, { nodes: NODES, destructive: true })(
    'D running, E pending: POST /queue {clear} keeps D; POST /api/interrupt stops it',
    async () => {
      const t = target();
      const clientId = `gw-queue-${t.runId}-2`;
      const ws = await WsCapture.open(`${t.wsUrl}/ws?clientId=${clientId}`);
      const problems = new Problems();
      const mine: Record<string, string> = {};
      const rewrite = idMap(mine);
      let d = '';
      for (const [name, key] of [
        ['POST /prompt slow D', 'D'],
        ['POST /prompt slow E (pending)', 'E'],
      ] as const) {
        const ex = exchange(transcript, name);
        const body = { prompt: withColor(recordedPrompt(ex), freshColor()), client_id: clientId };
        const reply = await replay(t, ex, { bodyJson: body as unknown as JsonValue });
        problems.check(reply, ex, { rules: [numberLike('$.number')] });
        const promptId = (reply.json() as { prompt_id: string }).prompt_id;
        t.track(promptId);
        mine[ids[key] ?? key] = promptId;
        if (key === 'D') {
          d = promptId;
          // As recorded, E arrives once D has started.
          await ws.waitForType('execution_start', (data) => data.prompt_id === d);
        }
      }
      for (const [name, rules] of [
        ['POST /queue {clear:true} (pending only; running D continues)', []],
        ['GET /queue after clear', QUEUE_RULES],
        ['POST /api/interrupt (api prefix)', []],
      ] as const) {
        const ex = exchange(transcript, name);
        problems.check(await replay(t, ex, { rewrite }), ex, { rewrite, rules });
      }
      await ws.waitForPromptEnd(d, { timeoutMs: 30_000 });
      // Expected: this socket's connect status (idle server), then the recording's D/E part.
      const connect = firstSocket.messages[0] as RecordedWsMessage;
      const expected = [connect, ...secondSocket.messages.slice(endOfC())];
      await ws.settle(expected.length);
      // E is POSTed while D starts: where its status messages fall is a race.
      await problems.attempt('socket', () =>
        assertWsSequence(ws.messages, expected, 'socket', { floatStatus: true }),
      );
      await ws.close();
      problems.assertNone();
    },
    60_000,
  );
});
