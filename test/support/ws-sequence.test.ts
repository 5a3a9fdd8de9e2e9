import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../src/comfy/protocol.js';
import { mapStrings } from './http.js';
import { orderedObject } from './ordered-json.js';
import { loadTranscript, type RecordedWsMessage, socket } from './transcripts.js';
import type { CapturedMessage } from './ws-capture.js';
import { assertWsSequence, compareWsSequence } from './ws-sequence.js';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** What a socket would have captured in another run: other ids, other times, same protocol. */
function replay(recorded: readonly RecordedWsMessage[]): CapturedMessage[] {
  const out: CapturedMessage[] = [];
  for (const m of recorded) {
    if (m.kind === 'text') {
      const json = mapStrings(m.json as JsonValue, (s) =>
        s.replace(UUID, '11111111-2222-4333-8444-555555555555').replace('gw-', 'run2-'),
      );
      out.push({ t_ms: m.t_ms, dir: m.dir, kind: 'text', json: bumpTimestamps(json) });
    } else if (m.kind === 'binary') {
      const size = m.image.png_size;
      out.push({
        t_ms: m.t_ms,
        dir: 'server->client',
        kind: 'binary',
        length: m.length,
        event_type: m.event_type_u32be,
        ...(m.image_type_u32be === undefined ? {} : { image_type: m.image_type_u32be }),
        ...(m.metadata_json === undefined ? {} : { metadata: m.metadata_json }),
        image: { format: 'png', ...(size ? { width: size[0], height: size[1] } : {}) },
      });
    }
  }
  return out;
}

function bumpTimestamps(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(bumpTimestamps);
  if (value && typeof value === 'object') {
    return orderedObject(
      Object.keys(value).map((k) => [
        k,
        k === 'timestamp' ? 42 : bumpTimestamps(value[k] as JsonValue),
      ]),
    ) as JsonValue;
  }
  return value;
}

const success = socket(loadTranscript('ws_success_cached_partial'), 'submitting client');
const binary = socket(loadTranscript('ws_binary_featureflags_noclientid'), 'client sends');
const queue = socket(loadTranscript('ws_queue_interrupt'), 'second socket');

function text(type: string, data: Record<string, JsonValue>): CapturedMessage {
  return { t_ms: 0, dir: 'server->client', kind: 'text', json: { type, data } };
}

describe('compareWsSequence', () => {
  it('accepts another run of the same protocol (ids, times and markers aside)', () => {
    expect(success.messages.some((m) => m.kind === 'marker')).toBe(true);
    expect(compareWsSequence(replay(success.messages), success.messages)).toEqual([]);
    expect(compareWsSequence(replay(binary.messages), binary.messages)).toEqual([]);
  });

  it('fails on a wrong message order and lists where', () => {
    const got = replay(success.messages);
    [got[4], got[5]] = [got[5]!, got[4]!];
    const diffs = compareWsSequence(got, success.messages);
    expect(diffs[0]?.message).toContain('sequence of messages differs (expected 103, got 103)');
    expect(diffs[0]?.message).toMatch(/\+ got\[5\] +execution_cached/);
    expect(diffs[0]?.message).toMatch(/- rec\[4\] +execution_cached/);
  });

  it('fails on a missing message', () => {
    const got = replay(success.messages).filter(
      (m) => !(m.kind === 'text' && JSON.stringify(m.json).includes('"execution_success"')),
    );
    const diffs = compareWsSequence(got, success.messages);
    expect(diffs[0]?.message).toMatch(/- rec\[\d+\] +execution_success\{prompt_id,timestamp\}/);
  });

  it('fails on a missing key in one message', () => {
    const got = replay(success.messages);
    const i = got.findIndex(
      (m) => m.kind === 'text' && JSON.stringify(m.json).includes('"display_node"'),
    );
    got[i] = text('executing', { node: '1', prompt_id: 'x' });
    const diffs = compareWsSequence(got, success.messages);
    expect(diffs[0]?.message).toContain('+ got[6]    executing{node,prompt_id}');
    expect(diffs[0]?.message).toContain('- rec[6]    executing{display_node,node,prompt_id}');
  });

  it('fails on a wrong key order inside a message', () => {
    const got: CapturedMessage[] = [text('executing', { prompt_id: 'p', node: null })];
    const recorded: RecordedWsMessage[] = [
      {
        t_ms: 1,
        dir: 'server->client',
        kind: 'text',
        json: { type: 'executing', data: { node: null, prompt_id: 'q' } },
      },
    ];
    expect(compareWsSequence(got, recorded)).toEqual([
      {
        path: 'ws[0] executing $.data',
        message: 'key order: expected [node, prompt_id] got [prompt_id, node]',
      },
    ]);
  });

  it('fails on a changed value such as the node that ran', () => {
    const got = replay(success.messages);
    got[6] = text('executing', { node: '2', display_node: '2', prompt_id: 'x' });
    expect(compareWsSequence(got, success.messages)).toEqual([
      { path: 'ws[6] executing $.data.node', message: "expected '1' got '2'" },
      { path: 'ws[6] executing $.data.display_node', message: "expected '1' got '2'" },
    ]);
  });

  it('compares binary frames by event type, framing and image size', () => {
    const got = replay(binary.messages);
    const i = got.findIndex((m) => m.kind === 'binary');
    const frame = got[i]!;
    if (frame.kind !== 'binary') throw new Error('expected a binary frame');
    got[i] = { ...frame, image: { format: 'png', width: 8, height: 8 } };
    expect(compareWsSequence(got, binary.messages)).toEqual([
      { path: `ws[${i}] binary:4 $.image.width`, message: 'expected 16 got 8' },
    ]);
    got[i] = { ...frame, event_type: 1, image_type: 2 };
    expect(compareWsSequence(got, binary.messages)[0]?.message).toContain('+ got[');
  });

  it('lets status messages float only with floatStatus', () => {
    const got = replay(queue.messages);
    // Move the status of POST E before execution_start of D, as a race could.
    const i = got.findLastIndex(
      (m) => m.kind === 'text' && JSON.stringify(m.json).includes('"queue_remaining":2'),
    );
    expect(JSON.stringify((got[i - 1] as { json: unknown }).json)).toContain('execution_start');
    [got[i - 1], got[i]] = [got[i]!, got[i - 1]!];
    expect(compareWsSequence(got, queue.messages)).not.toEqual([]);
    expect(compareWsSequence(got, queue.messages, { floatStatus: true })).toEqual([]);
    // Floating keeps the order of status messages among themselves and their values.
    const wrong = replay(queue.messages);
    const j = wrong.findIndex(
      (m) => m.kind === 'text' && JSON.stringify(m.json).includes('"queue_remaining":2'),
    );
    wrong[j] = text('status', { status: { exec_info: { queue_remaining: 3 } } });
    expect(compareWsSequence(wrong, queue.messages, { floatStatus: true })).toEqual([
      {
        path: `ws[${j}] status $.data.status.exec_info.queue_remaining`,
        message: 'expected 2 got 3',
      },
    ]);
  });

  it('collapses repeated progress reports only with collapseProgress', () => {
    const got = replay(binary.messages);
    const i = got.findIndex(
      (m) => m.kind === 'text' && JSON.stringify(m.json).includes('"progress"'),
    );
    got.splice(i, 0, got[i]!, got[i - 1]!);
    expect(compareWsSequence(got, binary.messages)).not.toEqual([]);
    expect(compareWsSequence(got, binary.messages, { collapseProgress: true })).toEqual([]);
    // A missing execution message is still a difference.
    const short = got.filter(
      (m) => !(m.kind === 'text' && JSON.stringify(m.json).includes('"execution_success"')),
    );
    expect(compareWsSequence(short, binary.messages, { collapseProgress: true })).not.toEqual([]);
  });

  it('throws a labelled error from assertWsSequence', () => {
    expect(() => assertWsSequence([], success.messages.slice(0, 1), 'observer')).toThrow(
      'WebSocket "observer" differs from the recording',
    );
  });
});
