import { describe, expect, it } from 'vitest';
import { parseServerMessage } from './message-parser.js';
import { loadRecording } from './testing/recordings.js';

describe('parseServerMessage', () => {
  it('recognises every message ComfyUI sent in the recordings', () => {
    const files = [
      'ws_success_cached_partial.json',
      'ws_execution_error.json',
      'ws_queue_interrupt.json',
      'ws_binary_featureflags_noclientid.json',
    ];
    let count = 0;
    for (const file of files) {
      for (const socket of loadRecording(file).ws ?? []) {
        for (const message of socket.messages) {
          if (message.kind !== 'text' || message.dir !== 'server->client') continue;
          const parsed = parseServerMessage(JSON.stringify(message.json));
          expect(parsed.ok && !('unknown' in parsed.message), JSON.stringify(message.json)).toBe(
            true,
          );
          count++;
        }
      }
    }
    expect(count).toBeGreaterThan(100);
  });

  it('passes unknown types and malformed known ones through as unknown', () => {
    expect(parseServerMessage('{"type":"crystools.monitor","data":{"cpu":3}}')).toEqual({
      ok: true,
      message: { type: 'crystools.monitor', data: { cpu: 3 }, unknown: true },
    });
    expect(parseServerMessage('{"type":"progress","data":{"value":"x"}}')).toMatchObject({
      ok: true,
      message: { unknown: true },
    });
  });

  it('rejects frames that are not {type, data} JSON', () => {
    expect(parseServerMessage('nope')).toMatchObject({ ok: false });
    expect(parseServerMessage('[1,2]')).toMatchObject({ ok: false });
    expect(parseServerMessage('{"data":{}}')).toMatchObject({ ok: false });
  });
});
