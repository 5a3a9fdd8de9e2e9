/**
 * Recording: http_history.json — GET /history (whole, max_items, max_items+offset), an unknown id,
 * a non-integer max_items (500), /api/jobs?limit=2, a bad status (400), an unknown job (404),
 * POST /history delete / clear / non-JSON (500).
 *
 * The recorder's server held the prompts of the files recorded before. This file makes its own:
 * P1 a fresh empty_save, P2 the same again (fully cached), P3 load_scale_invert_save, P4 and P5
 * fresh empty_saves, so each recorded body has a counterpart of the same kind. On a real server the
 * history holds other entries too: listings are narrowed to ours and the offset is computed.
 */
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../src/comfy/protocol.js';
import {
  chain,
  exchange,
  fileNames,
  freshColor,
  HISTORY_RULES,
  idMap,
  itWhen,
  jsonCall,
  loadTranscript,
  loadWorkflow,
  mapStrings,
  orderedObject,
  Problems,
  probeCapabilities,
  replay,
  type ShapeRule,
  sharedTarget,
  submit,
  waitForHistory,
  withColor,
} from '../support/index.js';

const transcript = loadTranscript('http_history');
const uploads = loadTranscript('http_upload_image');
const caps = await probeCapabilities();
const target = sharedTarget();

/** The id the recording deletes (its first history entry). */
const RECORDED_P1 = '0b36b790-b7ad-46db-aa1b-1651bf4e7441';

const JOB_RULES: readonly ShapeRule[] = [
  { path: '$.jobs[*].id', kind: 'type', why: 'prompt id' },
  { path: '$.jobs[*].priority', kind: 'type', why: 'queue number' },
  { path: '$.pagination.total', kind: 'type', why: 'how many jobs the server has' },
];

/** Keeps only the entries of `ids`, in the body's own order. */
function narrow(body: JsonValue, ids: readonly string[]): Record<string, unknown> {
  const record = body as Record<string, unknown>;
  return orderedObject(
    Object.keys(record)
      .filter((k) => ids.includes(k))
      .map((k) => [k, record[k]]),
  );
}

/** Submits as the recorder did (with a client_id nobody listens to) and waits for the record. */
async function run(prompt: Record<string, unknown>): Promise<string> {
  const { prompt_id } = await submit(target(), {
    ...prompt,
    client_id: `gw-history-${target().runId}`,
  });
  await waitForHistory(target(), prompt_id);
  return prompt_id;
}

describe('http_history: history listing, paging, jobs and deletes as recorded', () => {
  it('replays the recorded history calls on prompts of the same kinds', async () => {
    const t = target();
    const names = fileNames(t, ['gw_upload']);
    await replay(t, exchange(uploads, 'upload new file'), { rewrite: names.rewrite });
    const empty = loadWorkflow('empty_save');
    const color = freshColor();
    const lsi = mapStrings(loadWorkflow('load_scale_invert_save'), names.rewrite);
    const p1 = await run({ prompt: withColor(empty, color) });
    const p2 = await run({ prompt: withColor(empty, color) });
    const p3 = await run({ prompt: lsi });
    const p4 = await run({ prompt: withColor(empty, freshColor()) });
    const p5 = await run({ prompt: withColor(empty, freshColor()) });
    const mine = [p1, p2, p3, p4, p5];
    const rewrite = chain(names.rewrite, idMap({ [RECORDED_P1]: p1 }));
    const problems = new Problems();

    // GET /history: recorded truncated to its first two entries (a fresh run and its cached rerun).
    const all = exchange(transcript, 'GET /history (all)');
    const allReply = await replay(t, all);
    const allBody = allReply.json();
    const order = Object.keys(allBody as object).filter((k) => mine.includes(k));
    await problems.attempt('history order', () =>
      expect(order, 'history lists entries oldest first').toEqual(mine),
    );
    const recordedAll = orderedObject(
      Object.entries(all.response.body_json as Record<string, unknown>).filter(
        ([k]) => k !== '_truncated_to_first_2_of',
      ),
    );
    problems.check(allReply, all, {
      rules: HISTORY_RULES,
      actualJson: narrow(allBody, [p1, p2]),
      expectedJson: recordedAll,
    });

    const newest = exchange(transcript, 'GET /history?max_items=1');
    problems.check(await replay(t, newest), newest, { rules: HISTORY_RULES });

    // ?max_items=2&offset=1 on the recorder's server = P2 and P3 here; offset counts from the oldest.
    // The recorder kept only `status` and `outputs` of these two records: its Content-Length
    // (2106) is about twice the 1094 bytes it stored, the size of the dropped `prompt` and `meta`.
    // So the status line and the kept parts are compared to the recording, and each record must be
    // whole, as in the unpaged listing above.
    const page = exchange(transcript, 'GET /history?max_items=2&offset=1');
    const offset = Object.keys(allBody as object).indexOf(p2);
    const pageReply = await replay(t, page, {
      rewrite: (s) => s.replace('offset=1', `offset=${offset}`),
    });
    const pageBody = pageReply.json() as Record<string, Record<string, unknown>>;
    await problems.attempt('offset page', () => {
      expect(pageReply.status).toBe(page.response.status);
      expect(Object.keys(pageBody), 'offset counts from the oldest').toEqual([p2, p3]);
      for (const id of [p2, p3]) {
        expect(Object.keys(pageBody[id] ?? {})).toEqual(['prompt', 'outputs', 'status', 'meta']);
      }
    });
    const kept = (body: Record<string, Record<string, unknown>>) =>
      orderedObject(
        Object.entries(body).map(([id, record]) => [
          id,
          orderedObject([
            ['status', record.status],
            ['outputs', record.outputs],
          ]),
        ]),
      );
    problems.check(pageReply, page, {
      rules: HISTORY_RULES,
      actualJson: kept(pageBody),
      expectedJson: kept(page.response.body_json as Record<string, Record<string, unknown>>),
    });

    for (const name of [
      'GET /history/{unknown id}',
      'GET /history?max_items=abc (int() fails)',
      'GET /api/jobs?status=bogus',
      'GET /api/jobs/{unknown}',
    ]) {
      const ex = exchange(transcript, name);
      problems.check(await replay(t, ex), ex);
    }

    const jobs = exchange(transcript, 'GET /api/jobs?limit=2');
    const jobsReply = problems.check(await replay(t, jobs), jobs, { rules: JOB_RULES });
    await problems.attempt('newest jobs', () => {
      const ids = (jobsReply.json() as { jobs: { id: string }[] }).jobs.map((j) => j.id);
      expect(ids, '/api/jobs lists the newest first').toEqual([p5, p4]);
    });

    for (const name of [
      'POST /history {delete:[id]}',
      'GET /history/{deleted id}',
      'POST /history {delete:[unknown]}',
      'POST /history non-JSON body',
    ]) {
      const ex = exchange(transcript, name);
      problems.check(await replay(t, ex, { rewrite }), ex, { rewrite });
    }
    problems.assertNone();
  });

  itWhen(caps, { destructive: true })(
    'POST /history {clear:true} empties the history',
    async () => {
      const t = target();
      await run({ prompt: withColor(loadWorkflow('empty_save'), freshColor()) });
      const problems = new Problems();
      for (const name of ['POST /history {clear:true}', 'GET /history after clear']) {
        const ex = exchange(transcript, name);
        problems.check(await replay(t, ex), ex);
      }
      problems.assertNone();
      expect(await jsonCall(t.url, 'GET', '/history')).toEqual({});
    },
  );
});
