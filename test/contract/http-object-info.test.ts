/**
 * Recording: http_object_info.json — GET /object_info (recorded truncated to 11 model-free nodes)
 * and /object_info/{class} for SaveImage, EmptyImage, LoadImage, an unknown class and, with the
 * /api prefix, ImageScaleBy.
 */
import { describe, it } from 'vitest';
import {
  assertExchange,
  type ExchangeCheckOptions,
  exchange,
  httpRequest,
  loadTranscript,
  orderedObject,
  probeCapabilities,
  recordedCall,
  type ShapeRule,
  sharedTarget,
} from '../support/index.js';

const transcript = loadTranscript('http_object_info');
const caps = await probeCapabilities();
const target = sharedTarget();

/** Combo lists that list the server's files (input folder, checkpoints), not protocol values. */
const FILE_LISTS: readonly ShapeRule[] = [
  { path: '$.LoadImage.input.required.image[0]', kind: 'bag', of: '' },
  { path: '$.CheckpointLoaderSimple.input.required.ckpt_name[0]', kind: 'bag', of: '' },
];

describe('http_object_info: node definitions as recorded', () => {
  it('GET /object_info (the recorded nodes, in full)', async () => {
    const ex = exchange(transcript, 'GET /object_info (TRUNCATED)');
    const kept = (ex.response.truncated?.kept_nodes ?? []) as string[];
    const recorded = ex.response.body_json as Record<string, unknown>;
    // A real server without the websocket_image_save example node is compared on the rest.
    const nodes = kept.filter((n) => caps.nodes === undefined || caps.nodes.has(n));
    if (nodes.length < kept.length) {
      console.warn(
        `[contract] /object_info: server lacks ${kept.filter((n) => !nodes.includes(n))}`,
      );
    }
    const reply = await httpRequest(target().url, recordedCall(ex.request));
    const body = reply.json() as Record<string, unknown>;
    assertExchange(reply, ex, {
      rules: FILE_LISTS,
      actualJson: orderedObject(nodes.map((n) => [n, body[n]])),
      expectedJson: orderedObject(nodes.map((n) => [n, recorded[n]])),
    });
  });

  const options: Record<string, ExchangeCheckOptions> = {
    'GET /object_info/LoadImage': { rules: FILE_LISTS },
  };
  for (const ex of transcript.exchanges.slice(1)) {
    it(ex.name, async () => {
      const reply = await httpRequest(target().url, recordedCall(ex.request));
      assertExchange(reply, ex, options[ex.name] ?? {});
    });
  }
});
