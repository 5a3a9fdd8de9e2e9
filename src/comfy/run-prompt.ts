/**
 * Convenience on top of the client and the event stream: submit a prompt and/or wait for it to
 * end, then return its history record. Events are followed live; while the socket is down the
 * instance is polled instead, and a slow safety poll runs even while it is up (a socket can go
 * deaf without closing, see ComfyUI's same-clientId bug).
 */
import { randomUUID } from 'node:crypto';
import type { QueuedPrompt } from './comfy-client.js';
import type { ComfyEventStream } from './comfy-event-stream.js';
import { ComfyAbortError, ComfyError, ComfyPromptLostError, ComfyTimeoutError } from './errors.js';
import { outcomeOfHistory, type PromptOutcome } from './prompt-state.js';
import type { PromptWatch } from './prompt-watch.js';
import type {
  ExecutionErrorData,
  ExecutionInterruptedData,
  HistoryRecord,
  NodeOutput,
  PostPromptBody,
} from './protocol.js';
import type { WatchEvent } from './stream-events.js';

export interface WaitForPromptOptions {
  signal?: AbortSignal;
  /** Give up after this many ms (ComfyTimeoutError, phase 'prompt'). Default: no limit. */
  timeoutMs?: number;
  /** Called with each event of the prompt, in order. */
  onEvent?: (event: WatchEvent) => void;
  /** Poll period while the socket is down. Default 2 000 ms. */
  pollIntervalMs?: number;
  /** Poll period while the socket is up (0 = never). Default 30 000 ms. */
  safetyPollMs?: number;
  /** On abort or timeout, also cancel the prompt on the instance. Default false. */
  cancelOnAbort?: boolean;
}

/** How a prompt ended, with its history record (outputs) when the instance still has it. */
export interface PromptRunResult {
  promptId: string;
  outcome: PromptOutcome;
  history: HistoryRecord | undefined;
  /** history.outputs, or {} */
  outputs: Record<string, NodeOutput>;
  error?: ExecutionErrorData;
  interrupted?: ExecutionInterruptedData;
  /** 'events': seen live; 'reconcile': found finished by asking the instance. */
  via: 'events' | 'reconcile';
  /** Progress events a slow onEvent made the watch drop. */
  droppedEvents: number;
}

async function followWatch(
  stream: ComfyEventStream,
  watch: PromptWatch,
  options: WaitForPromptOptions,
): Promise<PromptRunResult> {
  const { signal } = options;
  const pollMs = options.pollIntervalMs ?? 2_000;
  const safetyMs = options.safetyPollMs ?? 30_000;
  let stopReason: ComfyError | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  let deadline: NodeJS.Timeout | undefined;

  const stop = (error: ComfyError) => {
    stopReason ??= error;
    watch.close('aborted');
  };
  const onAbort = () => stop(new ComfyAbortError(signal?.reason));
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  if (options.timeoutMs !== undefined) {
    const ms = options.timeoutMs;
    deadline = setTimeout(
      () =>
        stop(
          new ComfyTimeoutError(
            `Prompt ${watch.promptId} did not finish within ${ms} ms`,
            'prompt',
            ms,
          ),
        ),
      ms,
    );
  }
  const schedulePoll = () => {
    if (watch.ended) return;
    const every = stream.connected ? safetyMs : pollMs;
    if (every <= 0) {
      // Check again when the connection state may have changed.
      pollTimer = setTimeout(schedulePoll, pollMs);
      return;
    }
    pollTimer = setTimeout(() => {
      if (watch.ended) return;
      stream
        .checkPrompt(watch.promptId)
        .catch(() => undefined)
        .finally(schedulePoll);
    }, every);
  };
  schedulePoll();

  try {
    for await (const event of watch) options.onEvent?.(event);
  } finally {
    clearTimeout(pollTimer);
    clearTimeout(deadline);
    signal?.removeEventListener('abort', onAbort);
    watch.close();
  }

  const result = await watch.result;
  if (result.status === 'lost') throw new ComfyPromptLostError(watch.promptId);
  if (result.status === 'stopped') {
    const error =
      stopReason ??
      (result.reason === 'closed'
        ? new ComfyError('CLIENT_CLOSED', 'The event stream was closed')
        : new ComfyAbortError('watch stopped'));
    if (stopReason && options.cancelOnAbort) {
      await stream.client.cancelJob(watch.promptId).catch(() => undefined);
    }
    throw error;
  }

  const history =
    result.history ??
    (await stream.client.getHistoryItem(watch.promptId, signal ? { signal } : {}));
  const fromHistory = history ? outcomeOfHistory(history) : undefined;
  const outcome = fromHistory?.outcome ?? result.outcome;
  if (outcome === undefined) throw new ComfyPromptLostError(watch.promptId);
  const run: PromptRunResult = {
    promptId: watch.promptId,
    outcome,
    history,
    outputs: history?.outputs ?? {},
    via: result.via,
    droppedEvents: watch.droppedEvents,
  };
  const error = fromHistory?.error ?? result.error;
  const interrupted = fromHistory?.interrupted ?? result.interrupted;
  if (error) run.error = error;
  if (interrupted) run.interrupted = interrupted;
  return run;
}

/**
 * Waits for a prompt already on the instance to end (re-attaches by id: a prompt that finished
 * before the call is found at once). Resolves for success, error and interrupt alike; throws
 * ComfyPromptLostError when the instance no longer knows the prompt.
 *
 * @example
 * const result = await waitForPrompt(stream, promptId, { timeoutMs: 300_000 });
 * if (result.outcome === 'success') collect(result.outputs);
 */
export function waitForPrompt(
  stream: ComfyEventStream,
  promptId: string,
  options: WaitForPromptOptions = {},
): Promise<PromptRunResult> {
  if (stream.state === 'idle') stream.start();
  const watch = stream.watch(promptId, { reconcile: true });
  return followWatch(stream, watch, options);
}

/**
 * Submits a prompt with this stream's client_id (and the given prompt_id, or a new UUID), then
 * waits for it like waitForPrompt. Validation errors throw ComfyValidationError; `queued.partial`
 * tells whether some outputs were dropped.
 *
 * @example
 * const { outcome, outputs, queued } = await runPrompt(stream, { prompt, prompt_id: jobId });
 */
export async function runPrompt(
  stream: ComfyEventStream,
  body: PostPromptBody,
  options: WaitForPromptOptions = {},
): Promise<PromptRunResult & { queued: QueuedPrompt }> {
  if (stream.state === 'idle') stream.start();
  const promptId = body.prompt_id ?? randomUUID();
  // Watch before submitting: the first events can arrive before POST /prompt answers.
  const watch = stream.watch(promptId, { submitted: false });
  // A reconnect during the POST skipped this prompt in reconciliation: check it right after.
  let reconnected = false;
  const offState = stream.on('state', (change) => {
    if (change.state === 'connected') reconnected = true;
  });
  let queued: QueuedPrompt;
  try {
    queued = await stream.client.queuePrompt(
      { ...body, prompt_id: promptId, client_id: stream.clientId },
      options.signal ? { signal: options.signal } : {},
    );
  } catch (error) {
    watch.close();
    throw error;
  } finally {
    offState();
  }
  watch.markSubmitted();
  if (reconnected) stream.checkPrompt(promptId).catch(() => undefined);
  return { ...(await followWatch(stream, watch, options)), queued };
}
