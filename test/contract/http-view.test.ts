/**
 * Recording: http_view.json — GET /view of an output PNG (with its file headers), an uploaded input,
 * a subfolder, an annotated "name [input]", preview=webp;50, channel=rgb, the /api prefix, and the
 * errors: missing file and no filename (404), traversal and absolute names and a bad type (400),
 * a traversing subfolder (403).
 */
import { describe, it } from 'vitest';
import {
  chain,
  exchange,
  fileNames,
  freshColor,
  loadTranscript,
  loadWorkflow,
  Problems,
  replay,
  sharedTarget,
  submit,
  waitForHistory,
  withColor,
} from '../support/index.js';

const transcript = loadTranscript('http_view');
const uploads = loadTranscript('http_upload_image');
const target = sharedTarget();

/** The recorded output file the view exchanges ask for. */
const RECORDED_OUTPUT = 'gw_empty_00001_.png';

describe('http_view: files, headers and path checks as recorded', () => {
  it('replays the recorded views', async () => {
    const t = target();
    const names = fileNames(t, ['gw_upload', 'sub']);
    // Set up what the views need: gw_upload.png and gwsub/sub.png in input, one output PNG.
    for (const name of ['upload new file', 'upload into subfolder + type=input']) {
      const reply = await replay(t, exchange(uploads, name), { rewrite: names.rewrite });
      if (reply.status !== 200) throw new Error(`setup upload "${name}": HTTP ${reply.status}`);
    }
    const { prompt_id } = await submit(t, {
      prompt: withColor(loadWorkflow('empty_save'), freshColor()),
    });
    const history = (await waitForHistory(t, prompt_id)) as Record<
      string,
      { outputs: Record<string, { images: { filename: string }[] }> }
    >;
    const output = history[prompt_id]?.outputs['2']?.images[0]?.filename;
    if (!output)
      throw new Error(`setup: the empty_save prompt produced no image: ${JSON.stringify(history)}`);
    const rewrite = chain(names.rewrite, (s) => s.split(RECORDED_OUTPUT).join(output));

    const problems = new Problems();
    for (const ex of transcript.exchanges) {
      const reply = await replay(t, ex, { rewrite });
      // Inputs are served as uploaded: the very bytes. Outputs and re-encodings: format and size.
      const binary =
        ex.request.query?.includes('type=input') || ex.request.query?.includes('%5Binput%5D');
      problems.check(reply, ex, { rewrite, binary: binary ? 'bytes' : 'image' });
    }
    problems.assertNone();
  });
});
