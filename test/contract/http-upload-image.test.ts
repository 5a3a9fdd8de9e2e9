/**
 * Recording: http_upload_image.json — POST /upload/image: a new file, the identical bytes again
 * (same name back), other bytes under the same name ("name (1).png"), overwrite=true, a subfolder,
 * type=temp, a traversing subfolder (400), no image field (400), and the /api prefix.
 * The exchanges build on each other (dedupe needs the first upload), so they run in order.
 */
import { describe, it } from 'vitest';
import { fileNames, loadTranscript, Problems, replay, sharedTarget } from '../support/index.js';

const transcript = loadTranscript('http_upload_image');
const target = sharedTarget();

describe('http_upload_image: uploads, dedupe, rename and errors as recorded', () => {
  it('replays the recorded uploads in order', async () => {
    const names = fileNames(target(), ['gw_upload', 'gw_upload2', 'sub', 'tmp', 'gw_api', 'evil']);
    const problems = new Problems();
    for (const ex of transcript.exchanges) {
      const reply = await replay(target(), ex, { rewrite: names.rewrite });
      problems.check(reply, ex, { rewrite: names.rewrite });
    }
    problems.assertNone();
  });
});
