import { describe, expect, it } from 'vitest';
import { SseParser, sseMessages } from './sse.js';

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const ch of chunks) c.enqueue(enc.encode(ch));
      c.close();
    },
  });
}

describe('SseParser', () => {
  it('parses messages split anywhere, with any line ends, skipping comments and retry', () => {
    const text =
      'retry: 3000\r\n\r\n: heartbeat\n\nid: 7\nevent: job.status\ndata: {"a":\ndata: 1}\n\nid: 8\rdata: x\r\r';
    for (let cut = 0; cut <= text.length; cut++) {
      const p = new SseParser();
      const out = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
      expect(out).toEqual([
        { id: '7', event: 'job.status', data: '{"a":\n1}' },
        { id: '8', event: 'message', data: 'x' },
      ]);
    }
  });

  it('keeps a field without a space after the colon and ignores unknown fields', () => {
    const p = new SseParser();
    expect(p.push('data:raw\nfoo: bar\nevent:x\n\n')).toEqual([
      { id: undefined, event: 'x', data: 'raw' },
    ]);
  });
});

describe('sseMessages', () => {
  it('yields the messages of a body and drops one cut off by its end', async () => {
    const got: string[] = [];
    for await (const m of sseMessages(streamOf(['data: a\n', '\ndata: b\n\ndata: {"cut', 'off']))) {
      got.push(m.data);
    }
    expect(got).toEqual(['a', 'b']);
  });

  it('cancels the body when the loop stops early', async () => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('data: 1\n\ndata: 2\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const m of sseMessages(body)) {
      expect(m.data).toBe('1');
      break;
    }
    expect(cancelled).toBe(true);
  });
});
