/**
 * Where a prompt stands on an instance (pending, running, finished, or unknown), as found by
 * asking the instance over HTTP, and how a finished prompt ended, read from its history record.
 */
import type {
  ComfyJobDetail,
  ExecutionErrorData,
  ExecutionInterruptedData,
  HistoryRecord,
  JsonObject,
} from './protocol.js';

/** How a finished prompt ended. ComfyUI's history calls an interrupted prompt an "error". */
export type PromptOutcome = 'success' | 'error' | 'interrupted';

/** A finished prompt, with its history record when the instance still has it. */
export interface FinishedPromptState {
  state: 'finished';
  promptId: string;
  outcome: PromptOutcome;
  /** Undefined when only the jobs API knew about it (history record already gone). */
  history: HistoryRecord | undefined;
  /** The `execution_error` data when `outcome` is `error`. */
  error?: ExecutionErrorData;
  /** The `execution_interrupted` data when `outcome` is `interrupted`. */
  interrupted?: ExecutionInterruptedData;
}

/**
 * A prompt's state on one instance. `unknown`: neither queued, running nor in history — lost
 * (instance restarted, history cleared, or never submitted).
 */
export type PromptState =
  | { state: 'pending'; promptId: string; job?: ComfyJobDetail }
  | { state: 'running'; promptId: string; job?: ComfyJobDetail }
  | FinishedPromptState
  | { state: 'unknown'; promptId: string };

/**
 * Derives the outcome of a finished prompt from its history record.
 *
 * @example
 * const { outcome } = outcomeOfHistory(record); // 'success' | 'error' | 'interrupted'
 */
export function outcomeOfHistory(
  record: HistoryRecord,
): Pick<FinishedPromptState, 'outcome' | 'error' | 'interrupted'> {
  const messages = Array.isArray(record.status?.messages) ? record.status.messages : [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const entry = messages[i];
    if (!Array.isArray(entry)) continue;
    const [type, data] = entry;
    if (type === 'execution_interrupted') {
      return { outcome: 'interrupted', interrupted: data as unknown as ExecutionInterruptedData };
    }
    if (type === 'execution_error') {
      return { outcome: 'error', error: data as unknown as ExecutionErrorData };
    }
    if (type === 'execution_success') return { outcome: 'success' };
  }
  return { outcome: record.status?.status_str === 'success' ? 'success' : 'error' };
}

/**
 * The finished state of a prompt from its history record.
 *
 * @example
 * const state = finishedFromHistory(id, record);
 */
export function finishedFromHistory(promptId: string, record: HistoryRecord): FinishedPromptState {
  return { state: 'finished', promptId, history: record, ...outcomeOfHistory(record) };
}

/** The finished state from a jobs-API record when no history record is available. */
export function finishedFromJob(job: ComfyJobDetail): FinishedPromptState {
  if (job.execution_status) {
    const fake = { status: job.execution_status } as HistoryRecord;
    const derived = outcomeOfHistory(fake);
    return { state: 'finished', promptId: job.id, history: undefined, ...derived };
  }
  const outcome: PromptOutcome =
    job.status === 'completed' ? 'success' : job.status === 'cancelled' ? 'interrupted' : 'error';
  const state: FinishedPromptState = {
    state: 'finished',
    promptId: job.id,
    outcome,
    history: undefined,
  };
  if (job.execution_error) state.error = job.execution_error;
  return state;
}

/** True when a JSON value is a plain object. */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
