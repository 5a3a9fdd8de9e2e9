/**
 * Checks one HTTP answer against a recorded exchange: status, the headers that matter to clients,
 * and the body (JSON by shape, text by value, images by format and size).
 */
import { createHash } from 'node:crypto';
import type { HttpReply } from './http.js';
import { mapStrings } from './http.js';
import { describeImage, type ImageInfo } from './image-info.js';
import { compareShape, type ShapeRule } from './shape-compare.js';
import type { RecordedBinary, RecordedExchange } from './transcripts.js';
import { recordedBytes } from './transcripts.js';

export interface ExchangeCheckOptions {
  /** Extra comparator rules for a JSON body (appended to the defaults). */
  rules?: readonly ShapeRule[];
  /** Applied to every recorded string before comparing (unique file names of this run, ...). */
  rewrite?: (text: string) => string;
  /** The recorded JSON body to compare with, when the test picked part of it (truncated bodies). */
  expectedJson?: unknown;
  /** The actual JSON body to compare, when the test picked part of it. */
  actualJson?: unknown;
  /** Text bodies: 'value' (default) compares the text, 'type' only that it is text. */
  text?: 'value' | 'type';
  /** Binary bodies: 'image' (default) compares format and size, 'bytes' also the sha256. */
  binary?: 'image' | 'bytes';
}

/** Headers whose presence (not value) must match the recording. */
const PRESENCE_HEADERS = ['etag', 'last-modified', 'accept-ranges', 'cache-control'];

/**
 * Every way `reply` differs from `recorded` (empty when it matches).
 *
 * @example
 * const problems = checkExchange(reply, exchange(t, 'GET /queue'));
 */
export function checkExchange(
  reply: HttpReply,
  recorded: RecordedExchange,
  options: ExchangeCheckOptions = {},
): string[] {
  const rewrite = options.rewrite ?? ((s: string) => s);
  const expected = recorded.response;
  const problems: string[] = [];
  if (reply.status !== expected.status) {
    problems.push(
      `status: expected ${expected.status} got ${reply.status} (body: ${reply.text.slice(0, 200)})`,
    );
  }
  const recordedHeaders = new Map(
    Object.entries(expected.headers).map(([k, v]) => [k.toLowerCase(), v] as const),
  );
  const wantType = recordedHeaders.get('content-type');
  const gotType = reply.headers['content-type'];
  if (wantType !== undefined && wantType.toLowerCase() !== gotType?.toLowerCase()) {
    problems.push(`Content-Type: expected '${wantType}' got '${gotType ?? '(none)'}'`);
  }
  const wantDisposition = recordedHeaders.get('content-disposition');
  if (wantDisposition !== undefined) {
    const want = rewrite(wantDisposition);
    const got = reply.headers['content-disposition'];
    if (want !== got)
      problems.push(`Content-Disposition: expected '${want}' got '${got ?? '(none)'}'`);
  }
  for (const name of PRESENCE_HEADERS) {
    const want = recordedHeaders.has(name);
    const got = reply.headers[name] !== undefined;
    if (want !== got) {
      problems.push(
        `${name} header: expected ${want ? 'present' : 'absent'}, got ${got ? `'${reply.headers[name]}'` : 'none'}`,
      );
    }
  }
  if (!recordedHeaders.has('content-encoding') && reply.headers['content-encoding'] !== undefined) {
    problems.push(`Content-Encoding: expected none got '${reply.headers['content-encoding']}'`);
  }
  if (recordedHeaders.get('content-length') === '0' && reply.body.length !== 0) {
    problems.push(
      `body: expected empty got ${reply.body.length} bytes: ${reply.text.slice(0, 200)}`,
    );
  }
  if (expected.body_json !== undefined) {
    let actual: unknown = options.actualJson;
    if (actual === undefined) {
      try {
        actual = reply.json();
      } catch (err) {
        problems.push((err as Error).message);
        return problems;
      }
    }
    const want = mapStrings(options.expectedJson ?? expected.body_json, rewrite);
    const diffs = compareShape(actual, want, { extra: options.rules ?? [] });
    for (const d of diffs) problems.push(`body ${d.path}: ${d.message}`);
  } else if (expected.body_text !== undefined) {
    if (options.text === 'type') {
      if (reply.body.length === 0 && expected.body_text !== '')
        problems.push('body: expected text, got none');
    } else if (reply.text !== rewrite(expected.body_text)) {
      problems.push(
        `body: expected ${JSON.stringify(expected.body_text.slice(0, 120))} got ${JSON.stringify(reply.text.slice(0, 120))}`,
      );
    }
  } else if (expected.body_binary !== undefined) {
    problems.push(...checkBinary(reply.body, expected.body_binary, options.binary ?? 'image'));
  }
  return problems;
}

/**
 * Throws one Error listing every problem `checkExchange` finds, labelled with the exchange name.
 *
 * @example
 * assertExchange(await httpRequest(url, recordedCall(ex.request)), ex);
 */
export function assertExchange(
  reply: HttpReply,
  recorded: RecordedExchange,
  options: ExchangeCheckOptions = {},
): void {
  const problems = checkExchange(reply, recorded, options);
  if (problems.length > 0) {
    throw new Error(
      `exchange "${recorded.name}" differs from the recording:\n${problems.map((p) => `  ${p}`).join('\n')}`,
    );
  }
}

function checkBinary(body: Buffer, recorded: RecordedBinary, mode: 'image' | 'bytes'): string[] {
  const problems: string[] = [];
  const got = describeImage(body);
  const want: Partial<Record<keyof ImageInfo, string | number>> =
    recorded.base64 !== undefined
      ? describeImage(recordedBytes(recorded))
      : {
          format: recorded.format ?? 'unknown',
          ...(recorded.png_size
            ? { width: recorded.png_size[0], height: recorded.png_size[1] }
            : {}),
        };
  const gotFields: Partial<Record<keyof ImageInfo, string | number>> = got;
  for (const key of ['format', 'width', 'height', 'pngColorType'] as const) {
    if (want[key] !== undefined && want[key] !== gotFields[key]) {
      problems.push(`image ${key}: expected ${want[key]} got ${gotFields[key] ?? 'none'}`);
    }
  }
  if (mode === 'bytes') {
    const sha = createHash('sha256').update(body).digest('hex');
    if (sha !== recorded.sha256) {
      problems.push(
        `body bytes: expected sha256 ${recorded.sha256} (${recorded.length} bytes) got ${sha} (${body.length} bytes)`,
      );
    }
  }
  return problems;
}
