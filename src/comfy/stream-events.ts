/**
 * What a ComfyEventStream delivers: every server message as a typed event attributed to a prompt,
 * connection state changes, and reconciliation reports after a reconnect.
 */
import type { ComfyError } from './errors.js';
import type { PromptOutcome, PromptState } from './prompt-state.js';
import type {
  BinaryFrame,
  ExecutionErrorData,
  ExecutionInterruptedData,
  FeatureFlags,
  HistoryRecord,
  JsonValue,
  KnownMessageType,
  ServerMessageMap,
} from './protocol.js';

/**
 * A JSON message of a type ComfyUI core sends. `promptId` is the message's own prompt_id or, for
 * messages without one, the prompt running at the time.
 */
export type KnownComfyEvent = {
  [T in KnownMessageType]: {
    type: T;
    data: ServerMessageMap[T];
    promptId: string | undefined;
    unknown?: false;
  };
}[KnownMessageType];

/** A binary frame (preview image or progress text), decoded. */
export interface BinaryComfyEvent {
  type: 'binary';
  frame: BinaryFrame;
  promptId: string | undefined;
  unknown?: false;
}

/** A message of a type this client does not know (custom nodes, manager), passed through as is. */
export interface UnknownComfyEvent {
  type: string;
  data: JsonValue;
  promptId: string | undefined;
  unknown: true;
}

/**
 * Any event from the socket. Narrow with `!event.unknown && event.type === '...'`.
 *
 * @example
 * stream.on('message', (event) => {
 *   if (!event.unknown && event.type === 'progress') bar.update(event.data.value / event.data.max);
 * });
 */
export type ComfyEvent = KnownComfyEvent | BinaryComfyEvent | UnknownComfyEvent;

/** The stream's connection state. `disconnected`: gave up after maxAttempts (reconnectNow() resumes). */
export type ConnectionState =
  | 'idle'
  | 'connecting'
  | 'connected'
  | 'reconnecting'
  | 'disconnected'
  | 'closed';

export interface ConnectionStateChange {
  state: ConnectionState;
  previous: ConnectionState;
  /** Why the socket went down (or could not open), in words. */
  reason?: string;
  /** The typed error behind `reason`, when there is one. */
  error?: ComfyError;
  /** Consecutive failed attempts so far (0 once connected). */
  attempt: number;
  /** For `reconnecting`: how long until the next attempt. */
  delayMs?: number;
}

/** After a reconnect (or an explicit check): where a watched prompt stands on the instance. */
export interface ReconciledEvent {
  type: 'reconciled';
  promptId: string;
  state: PromptState;
  unknown?: false;
}

/** What a PromptWatch yields: the prompt's own socket events and reconciliation reports. */
export type WatchEvent = ComfyEvent | ReconciledEvent;

/** How a watch ended. */
export type PromptWatchResult =
  | {
      status: 'finished';
      promptId: string;
      /** Undefined when the end was seen but not how (e.g. joined after the terminal message). */
      outcome: PromptOutcome | undefined;
      error?: ExecutionErrorData;
      interrupted?: ExecutionInterruptedData;
      /** Set when reconciliation found the prompt finished (the socket missed the end). */
      history?: HistoryRecord;
      via: 'events' | 'reconcile';
    }
  | { status: 'lost'; promptId: string }
  | { status: 'stopped'; promptId: string; reason: 'stopped' | 'aborted' | 'closed' };

/** Global events of a ComfyEventStream, by name. */
export interface StreamEventMap {
  /** Every message, JSON or binary, known or not. */
  message: ComfyEvent;
  /** `status` messages: the instance's queue_remaining (pending + running). */
  status: { queueRemaining: number; sid?: string };
  state: ConnectionStateChange;
  /** The server's answer to our feature_flags message. */
  featureFlags: FeatureFlags;
  /** One per watched prompt checked after a reconnect or by checkPrompt(). */
  reconciled: ReconciledEvent;
  /** Something odd but survivable (bad JSON frame, failed reconciliation, listener threw). */
  warning: { message: string; error?: unknown };
}
