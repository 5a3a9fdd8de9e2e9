/**
 * Talking to ONE ComfyUI server: the typed HTTP client, the WebSocket event stream with reconnect
 * and reconciliation, prompt watches, and the protocol types.
 */

export { type BackoffOptions, backoffDelay } from './backoff.js';
export * from './binary-frames.js';
export {
  ComfyClient,
  type ComfyClientOptions,
  type QueuedPrompt,
  type UploadData,
  type UploadMaskOptions,
  type UploadOptions,
  type ViewOptions,
} from './comfy-client.js';
export {
  ComfyEventStream,
  type ComfyEventStreamOptions,
  type WatchOptions,
} from './comfy-event-stream.js';
export type { ComfyAuth, ComfyConnectionOptions, ComfyTlsOptions } from './connection.js';
export * from './errors.js';
export type { CallOptions } from './http-transport.js';
export { jobFromHistory, jobFromQueueItem } from './job-fallback.js';
export { parseServerMessage } from './message-parser.js';
export { ModelInputIndex, type ModelInputSource } from './model-input-index.js';
export * from './model-inputs.js';
export {
  type FinishedPromptState,
  finishedFromHistory,
  outcomeOfHistory,
  type PromptOutcome,
  type PromptState,
} from './prompt-state.js';
export {
  type CustomInputValidator,
  type FileInput,
  fileInputs,
  fileInputValidation,
  type NodeInfoSource,
  PromptValidationCrash,
  type PromptValidationOptions,
  type PromptValidationResult,
  validateApiPrompt,
} from './prompt-validation.js';
export { PromptWatch } from './prompt-watch.js';
export * from './protocol.js';
export {
  PyFloat,
  pyFloatRepr,
  pyJsonDumps,
  pyNumberRepr,
  pyRepr,
  pyStr,
  pyStrRepr,
} from './python-format.js';
export {
  type PromptRunResult,
  runPrompt,
  type WaitForPromptOptions,
  waitForPrompt,
} from './run-prompt.js';
export type * from './stream-events.js';
export type { FileRef, ViewResponse } from './view-response.js';
export { saveStreamToFile } from './view-response.js';
