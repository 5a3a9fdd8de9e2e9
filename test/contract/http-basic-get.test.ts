/**
 * Recording: http_basic_get.json — GETs on an idle server: /system_stats, /queue, /prompt,
 * /features, /embeddings, /extensions, /models, /models/{folder}, /models/{unknown}, /.
 */
import { describe, it } from 'vitest';
import {
  assertExchange,
  type ExchangeCheckOptions,
  exchange,
  httpRequest,
  loadTranscript,
  recordedCall,
  SYSTEM_STATS_RULES,
  sharedTarget,
} from '../support/index.js';

const transcript = loadTranscript('http_basic_get');
const target = sharedTarget();

/** What legitimately differs per exchange (the server's files and machine, not the protocol). */
const OPTIONS: Record<string, ExchangeCheckOptions> = {
  'GET /system_stats': { rules: SYSTEM_STATS_RULES },
  // Installed embeddings, extensions and models are the server's, not the protocol's.
  'GET /embeddings': { rules: [{ path: '$', kind: 'bag', of: '' }] },
  'GET /extensions': { rules: [{ path: '$', kind: 'bag', of: '' }] },
  'GET /models/checkpoints': { rules: [{ path: '$', kind: 'bag', of: '' }] },
  // The recording served a placeholder page (no frontend package on that machine).
  'GET / (index.html from --front-end-root placeholder)': { text: 'type' },
};

describe('http_basic_get: an idle server answers the basic GETs as recorded', () => {
  for (const ex of transcript.exchanges) {
    it(ex.name, async () => {
      const reply = await httpRequest(target().url, recordedCall(ex.request));
      assertExchange(reply, ex, OPTIONS[ex.name] ?? {});
    });
  }

  it('covers every recorded exchange', () => {
    for (const name of Object.keys(OPTIONS)) exchange(transcript, name);
  });
});
