/**
 * Compares the messages one socket received with a recorded socket's messages: the sequence of
 * (direction, type, key set) must be the same, and each message's content must match by shape
 * (shape-compare.ts, with its default rules for ids and times). Recorder markers are ignored.
 *
 * Two normalisations exist, both off by default, each for a case where the real server's sequence
 * legitimately varies from run to run:
 * - `floatStatus`: a `status` message is broadcast from the HTTP handler the moment a POST
 *   /prompt, /queue delete or clear lands, while execution messages come from the worker. When a
 *   test sends such requests WHILE a prompt runs, where those `status` messages fall between the
 *   execution messages is a race. With this option `status` messages and all other messages are
 *   compared as two separate sequences (each still in order, with every value compared).
 * - `collapseProgress`: a node with a progress bar reports as often as its loop ticks, and
 *   samplers throttle previews by time, so the number of `progress` / `progress_state` / preview
 *   frames between two other messages can differ. With this option each such run is reduced to its
 *   distinct kinds in first-seen order. No recorded workflow needs it: EmptyImage, ImageBlur and
 *   friends report no progress, and SaveImageWebsocket reports exactly one tick per image.
 */
import type { JsonValue } from '../../src/comfy/protocol.js';
import type { ImageInfo } from './image-info.js';
import { keysInOrder } from './ordered-json.js';
import { compareShape, type ShapeDiff, type ShapeRule } from './shape-compare.js';
import type { RecordedWsMessage, WsDirection } from './transcripts.js';
import type { CapturedMessage } from './ws-capture.js';

export interface SequenceOptions {
  /** Extra comparator rules for message content; paths start at the message (`$.data.node`). */
  rules?: readonly ShapeRule[];
  floatStatus?: boolean;
  collapseProgress?: boolean;
}

/** A message reduced to what is compared. */
interface Item {
  /** Position in the list it came from (markers skipped for recordings). */
  index: number;
  signature: string;
  type: string;
  /** What the content comparison looks at. */
  content: unknown;
}

/**
 * Every difference between the captured and the recorded sequence (empty when they match).
 *
 * @example
 * const diffs = compareWsSequence(ws.messages, socket(t, 'observer').messages);
 */
export function compareWsSequence(
  actual: readonly CapturedMessage[],
  recorded: readonly RecordedWsMessage[],
  options: SequenceOptions = {},
): ShapeDiff[] {
  let got = actual.map(fromCaptured);
  let want = recorded.filter((m) => m.kind !== 'marker').map(fromRecorded);
  if (options.collapseProgress) {
    got = collapseProgressRuns(got);
    want = collapseProgressRuns(want);
  }
  const diffs: ShapeDiff[] = [];
  if (options.floatStatus) {
    const isStatus = (i: Item) => i.type === 'status';
    compareItems(got.filter(isStatus), want.filter(isStatus), options, diffs, 'status messages');
    compareItems(
      got.filter((i) => !isStatus(i)),
      want.filter((i) => !isStatus(i)),
      options,
      diffs,
      'messages other than status',
    );
  } else {
    compareItems(got, want, options, diffs, 'messages');
  }
  return diffs;
}

/**
 * Throws an Error describing every difference, labelled; does nothing when the sequences match.
 *
 * @example
 * assertWsSequence(ws.messages, recordedSocket.messages, 'submitting client', { floatStatus: true });
 */
export function assertWsSequence(
  actual: readonly CapturedMessage[],
  recorded: readonly RecordedWsMessage[],
  label: string,
  options: SequenceOptions = {},
): void {
  const diffs = compareWsSequence(actual, recorded, options);
  if (diffs.length === 0) return;
  const lines = diffs.slice(0, 60).map((d) => (d.path ? `  ${d.path}: ${d.message}` : d.message));
  if (diffs.length > 60) lines.push(`  ... and ${diffs.length - 60} more`);
  throw new Error(`WebSocket "${label}" differs from the recording:\n${lines.join('\n')}`);
}

function signatureOf(dir: WsDirection, type: string, data: unknown): string {
  const keys =
    typeof data === 'object' && data !== null && !Array.isArray(data)
      ? `{${[...keysInOrder(data)].sort().join(',')}}`
      : '';
  return `${dir === 'client->server' ? '> ' : ''}${type}${keys}`;
}

function textItem(index: number, dir: WsDirection, json: JsonValue): Item {
  const envelope =
    typeof json === 'object' && json !== null && !Array.isArray(json)
      ? json
      : { type: '', data: json };
  const type = typeof envelope.type === 'string' ? envelope.type : '';
  return { index, type, signature: signatureOf(dir, type, envelope.data), content: json };
}

function binaryItem(
  index: number,
  event_type: number,
  image_type: number | undefined,
  metadata: unknown,
  image: Partial<ImageInfo> | undefined,
): Item {
  const content: Record<string, unknown> = { event_type };
  if (image_type !== undefined) content.image_type = image_type;
  if (metadata !== undefined) content.metadata = metadata;
  if (image?.format !== undefined) {
    content.image = { format: image.format, width: image.width, height: image.height };
  }
  return { index, type: `binary:${event_type}`, signature: `binary:${event_type}`, content };
}

function fromCaptured(m: CapturedMessage, index: number): Item {
  if (m.kind === 'text') return textItem(index, m.dir, m.json);
  return binaryItem(index, m.event_type, m.image_type, m.metadata, m.image);
}

function fromRecorded(m: RecordedWsMessage, index: number): Item {
  if (m.kind === 'text') return textItem(index, m.dir, m.json as JsonValue);
  if (m.kind === 'binary') {
    const size = m.image.png_size;
    const image = {
      format: m.image.format ?? 'unknown',
      ...(size ? { width: size[0], height: size[1] } : {}),
    } as Partial<ImageInfo>;
    return binaryItem(index, m.event_type_u32be, m.image_type_u32be, m.metadata_json, image);
  }
  throw new Error('markers are filtered out before this point');
}

const PROGRESS_KINDS = new Set(['progress', 'progress_state', 'binary:1', 'binary:4']);

function collapseProgressRuns(items: readonly Item[]): Item[] {
  const out: Item[] = [];
  let seen = new Set<string>();
  for (const item of items) {
    if (!PROGRESS_KINDS.has(item.type)) {
      seen = new Set();
      out.push(item);
    } else if (!seen.has(item.signature)) {
      seen.add(item.signature);
      out.push(item);
    }
  }
  return out;
}

function compareItems(
  got: readonly Item[],
  want: readonly Item[],
  options: SequenceOptions,
  diffs: ShapeDiff[],
  what: string,
): void {
  const pairs = align(got, want);
  const sameSequence =
    got.length === want.length && pairs.every((p) => p.got !== undefined && p.want !== undefined);
  if (!sameSequence) {
    diffs.push({ path: '', message: sequenceListing(pairs, got.length, want.length, what) });
  }
  for (const { got: g, want: w } of pairs) {
    if (!g || !w) continue;
    for (const d of compareShape(g.content, w.content, { extra: options.rules ?? [] })) {
      diffs.push({ path: `ws[${g.index}] ${g.type} ${d.path}`, message: d.message });
    }
  }
}

interface Pair {
  got?: Item | undefined;
  want?: Item | undefined;
}

/** Longest-common-subsequence alignment of two item lists by signature. */
function align(got: readonly Item[], want: readonly Item[]): Pair[] {
  const n = got.length;
  const m = want.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] =
        got[i]!.signature === want[j]!.signature
          ? lcs[i + 1]![j + 1]! + 1
          : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const pairs: Pair[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && got[i]!.signature === want[j]!.signature) {
      pairs.push({ got: got[i++], want: want[j++] });
    } else if (j < m && (i === n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      pairs.push({ want: want[j++] });
    } else {
      pairs.push({ got: got[i++] });
    }
  }
  return pairs;
}

function sequenceListing(
  pairs: readonly Pair[],
  gotCount: number,
  wantCount: number,
  what: string,
): string {
  const changed = pairs.map((p) => !p.got || !p.want);
  const lines = [
    `sequence of ${what} differs (expected ${wantCount}, got ${gotCount}); "-" expected but missing, "+" unexpected:`,
  ];
  let skipped = 0;
  pairs.forEach((p, k) => {
    const near = changed.slice(Math.max(0, k - 2), k + 3).some(Boolean);
    if (!near) {
      skipped++;
      return;
    }
    if (skipped) lines.push(`      ... ${skipped} matching`);
    skipped = 0;
    const mark = !p.want ? '+' : !p.got ? '-' : ' ';
    const at = p.got ? `got[${p.got.index}]` : `rec[${p.want?.index}]`;
    lines.push(`  ${mark} ${at.padEnd(9)} ${(p.got ?? p.want)!.signature}`);
  });
  if (skipped) lines.push(`      ... ${skipped} matching`);
  return lines.join('\n');
}
