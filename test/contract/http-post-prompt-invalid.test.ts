/**
 * Recording: http_post_prompt_invalid.json — POST /prompt validation failures with their exact
 * error JSON (unknown class, missing input, bad links, type mismatch, bad values, min/max, combo,
 * missing LoadImage file, no output, empty prompt, no "prompt", no class_type, a list), the
 * accepted numeric string, and the non-JSON / empty / array bodies.
 */
import { beforeAll, describe, it } from 'vitest';
import {
  assertExchange,
  exchange,
  fileNames,
  loadTranscript,
  numberLike,
  replay,
  sharedTarget,
} from '../support/index.js';

const transcript = loadTranscript('http_post_prompt_invalid');
const uploads = loadTranscript('http_upload_image');
const target = sharedTarget();

describe('http_post_prompt_invalid: validation errors as recorded', () => {
  let rewrite: (text: string) => string = (s) => s;

  beforeAll(async () => {
    // "invalid combo value" loads gw_upload.png: only the combo may fail, so the file must exist.
    rewrite = fileNames(target(), ['gw_upload']).rewrite;
    const reply = await replay(target(), exchange(uploads, 'upload new file'), { rewrite });
    if (reply.status !== 200) throw new Error(`setup upload: HTTP ${reply.status}`);
  });

  for (const ex of transcript.exchanges) {
    it(ex.name, async () => {
      const reply = await replay(target(), ex, { rewrite });
      if (reply.status === 200) {
        const id = (reply.json() as { prompt_id?: unknown }).prompt_id;
        if (typeof id === 'string') target().track(id);
      }
      assertExchange(reply, ex, { rewrite, rules: [numberLike('$.number')] });
    });
  }
});
