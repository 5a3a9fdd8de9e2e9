/**
 * Small steps the contract tests share: unique file names on a real server, prompts that defeat
 * the node cache, submitting and waiting for prompts, and running a list of recorded exchanges.
 */
import { randomInt } from 'node:crypto';
import type { ApiPrompt, JsonValue, PostPromptResponse } from '../../src/comfy/protocol.js';
import { checkExchange, type ExchangeCheckOptions } from './exchange-check.js';
import {
  type HttpReply,
  httpRequest,
  jsonCall,
  type RequestAdapter,
  recordedCall,
} from './http.js';
import { parseJsonOrdered, stringifyOrdered } from './ordered-json.js';
import type { ShapeRule } from './shape-compare.js';
import type { ContractTarget } from './target.js';
import type { RecordedExchange } from './transcripts.js';

/**
 * Maps recorded file names to the names this run uses. On the emulator (a fresh input folder) the
 * recorded names are kept. On a real server each stem gets this run's id, so dedupe-by-hash,
 * renaming and LoadImage caching behave as on a fresh server, and nothing of another run is reused.
 *
 * @example
 * const names = fileNames(target, ['gw_upload']);
 * names.rewrite('gw_upload (1).png'); // 'gw_upload (1).png' or 'gw_upload_1a2b3c4d (1).png'
 */
export function fileNames(
  target: ContractTarget,
  stems: readonly string[],
): { rewrite(text: string): string } {
  if (target.isEmulator) return { rewrite: (text) => text };
  const ordered = [...stems].sort((a, b) => b.length - a.length);
  const pattern = new RegExp(`(${ordered.map(escapeRegExp).join('|')})(?=\\.| \\()`, 'g');
  return { rewrite: (text) => text.replace(pattern, (stem) => `${stem}_${target.runId}`) };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Chains text rewrites (applied left to right). */
export function chain(...fns: ReadonlyArray<(text: string) => string>): (text: string) => string {
  return (text) => fns.reduce((acc, fn) => fn(acc), text);
}

/** Replaces every recorded id with this run's id (paths, queries, bodies). */
export function idMap(pairs: Record<string, string>): (text: string) => string {
  return (text) => {
    let out = text;
    for (const [recorded, mine] of Object.entries(pairs)) out = out.split(recorded).join(mine);
    return out;
  };
}

/** A colour no earlier run is likely to have used: EmptyImage then misses the node cache. */
export function freshColor(): number {
  return randomInt(0, 0x1000000);
}

/**
 * A copy of a recorded prompt with every EmptyImage colour set to `color` (the recorder varied
 * it per submission to defeat the cache).
 */
export function withColor(prompt: ApiPrompt, color: number): ApiPrompt {
  const copy = parseJsonOrdered(stringifyOrdered(prompt)) as unknown as ApiPrompt;
  for (const node of Object.values(copy)) {
    if (node.class_type === 'EmptyImage') node.inputs.color = color;
  }
  return copy;
}

/** The prompt of a recorded POST /prompt body. */
export function recordedPrompt(ex: RecordedExchange): ApiPrompt {
  const body = ex.request.body_json as { prompt?: ApiPrompt } | undefined;
  if (!body?.prompt) throw new Error(`exchange "${ex.name}" has no JSON body with a prompt`);
  return body.prompt;
}

/**
 * POSTs /prompt with `body`, checks the answer is 200 and remembers the prompt for clean-up.
 *
 * @example
 * const { prompt_id } = await submit(target, { prompt, client_id: 'me' });
 */
export async function submit(
  target: ContractTarget,
  body: Record<string, unknown>,
): Promise<PostPromptResponse> {
  const answer = (await jsonCall(
    target.url,
    'POST',
    '/prompt',
    body,
  )) as unknown as PostPromptResponse;
  target.track(answer.prompt_id);
  return answer;
}

/**
 * Polls GET /history/{id} until the prompt is there (bounded); returns the record's JSON.
 *
 * @example
 * await waitForHistory(target, promptId);
 */
export async function waitForHistory(
  target: ContractTarget,
  promptId: string,
  timeoutMs = 20_000,
): Promise<JsonValue> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const history = (await jsonCall(target.url, 'GET', `/history/${promptId}`)) as Record<
      string,
      JsonValue
    >;
    if (history[promptId] !== undefined) return history;
    if (Date.now() > deadline) {
      throw new Error(`prompt ${promptId} not in /history after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Comparator rules for prompts echoed by /queue, /history and /api/jobs. */
export const PROMPT_ECHO_RULES: readonly ShapeRule[] = [
  { path: '$..inputs.color', kind: 'type', why: 'varied per run to defeat the cache' },
];

/** Rules for a /history body keyed by prompt id. */
export const HISTORY_RULES: readonly ShapeRule[] = [
  { path: '$', kind: 'keys', why: 'keyed by prompt id' },
  { path: '$.*.prompt[0]', kind: 'type', why: 'queue number' },
  { path: '$.*.prompt[1]', kind: 'type', why: 'prompt id' },
  ...PROMPT_ECHO_RULES,
];

/**
 * A check for a queue `number`/`priority`: same sign and same integer-ness as recorded (the
 * counter's value depends on what the server saw before).
 */
export function numberLike(path: string): ShapeRule {
  return {
    path,
    kind: 'check',
    check: (actual, recorded) => {
      if (typeof actual !== 'number' || typeof recorded !== 'number') {
        return `expected a number like ${recorded} got ${JSON.stringify(actual)}`;
      }
      if (Math.sign(actual) !== Math.sign(recorded) && recorded !== 0 && actual !== 0) {
        return `expected the sign of ${recorded} got ${actual}`;
      }
      if (Number.isInteger(actual) !== Number.isInteger(recorded)) {
        return `expected ${Number.isInteger(recorded) ? 'an integer' : 'a fraction'} like ${recorded} got ${actual}`;
      }
      return undefined;
    },
  };
}

/**
 * Collects the problems of several exchanges, so one failing exchange does not hide the next.
 *
 * @example
 * const problems = new Problems();
 * problems.check(await replay(target, ex), ex);
 * problems.assertNone();
 */
export class Problems {
  private readonly lines: string[] = [];

  /** Checks a reply against its exchange; returns the reply for further use. */
  check(reply: HttpReply, ex: RecordedExchange, options: ExchangeCheckOptions = {}): HttpReply {
    const found = checkExchange(reply, ex, options);
    if (found.length) this.lines.push(`exchange "${ex.name}":`, ...found.map((p) => `  ${p}`));
    return reply;
  }

  /** Records a failure of anything else (a WS sequence, an extra expectation). */
  add(label: string, error: unknown): void {
    const text = error instanceof Error ? error.message : String(error);
    this.lines.push(`${label}:`, ...text.split('\n').map((l) => `  ${l}`));
  }

  /** Runs `fn`, recording what it throws instead of stopping. */
  async attempt(label: string, fn: () => unknown): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.add(label, err);
    }
  }

  assertNone(): void {
    if (this.lines.length) throw new Error(`differs from the recording:\n${this.lines.join('\n')}`);
  }
}

/**
 * Sends the recorder's request of `ex` (adapted) and returns the reply.
 *
 * @example
 * problems.check(await replay(target, ex), ex);
 */
export function replay(
  target: ContractTarget,
  ex: RecordedExchange,
  adapter: RequestAdapter = {},
): Promise<HttpReply> {
  const call = recordedCall(ex.request, adapter);
  if (adapter.rewrite) call.path = adapter.rewrite(call.path);
  return httpRequest(target.url, call);
}

/**
 * Emulator node durations (ms) for files whose requests are timed against running nodes. The
 * recorder's CPU server spent about 1.8 s in each 512x512 ImageBlur, so a request sent "during the
 * second blur" landed there; the emulator's default is a few ms. EmptyImage gets enough time for
 * the recorder's burst of requests right after a prompt starts (about 5 ms on that server) to land
 * before the next node begins. A real server keeps its own timing.
 */
export const RECORDER_TIMING = { nodeDurations: { ImageBlur: 600, EmptyImage: 250 } };
