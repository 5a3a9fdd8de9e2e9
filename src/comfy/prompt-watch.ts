/**
 * One prompt's events, as an async iterator with a bounded buffer, plus a `result` promise that
 * always resolves once the watch ends (finished, lost, or stopped). Created by
 * ComfyEventStream.watch(); the stream feeds it through the sink.
 */
import type { PromptOutcome } from './prompt-state.js';
import type { ExecutionErrorData, ExecutionInterruptedData } from './protocol.js';
import type { PromptWatchResult, WatchEvent } from './stream-events.js';

/** What the stream uses to feed a watch. */
export interface WatchSink {
  push(event: WatchEvent): void;
  end(result: PromptWatchResult): void;
  readonly ended: boolean;
  /** False while the prompt's POST /prompt is still in flight (reconciliation skips it then). */
  readonly submitted: boolean;
  /** Outcome seen so far in the events. */
  readonly outcome: PromptOutcome | undefined;
}

// Events that only describe progress: the first to go when a slow reader lets the buffer fill.
function isDroppable(event: WatchEvent): boolean {
  if (event.unknown) return true;
  if (event.type === 'progress' || event.type === 'progress_state' || event.type === 'binary')
    return true;
  return event.type === 'executing' && event.data.node !== null;
}

/**
 * @example
 * const watch = stream.watch(promptId);
 * for await (const event of watch) console.log(event.type);
 * const result = await watch.result; // { status: 'finished', outcome: 'success', ... }
 */
export class PromptWatch implements AsyncIterable<WatchEvent> {
  readonly promptId: string;
  /** Resolves (never rejects) when the watch ends. */
  readonly result: Promise<PromptWatchResult>;
  readonly #maxBuffered: number;
  readonly #onEnd: (watch: PromptWatch) => void;
  #buffer: WatchEvent[] = [];
  #waiter: ((value: IteratorResult<WatchEvent>) => void) | undefined;
  #resolveResult!: (result: PromptWatchResult) => void;
  #ended = false;
  #iterating = false;
  #dropped = 0;
  #submitted: boolean;
  #outcome: PromptOutcome | undefined;
  #error: ExecutionErrorData | undefined;
  #interrupted: ExecutionInterruptedData | undefined;
  readonly #sink: WatchSink;

  /** Use ComfyEventStream.watch(). */
  constructor(
    promptId: string,
    maxBuffered: number,
    submitted: boolean,
    onEnd: (watch: PromptWatch) => void,
  ) {
    this.promptId = promptId;
    this.#maxBuffered = Math.max(1, maxBuffered);
    this.#submitted = submitted;
    this.#onEnd = onEnd;
    this.result = new Promise((resolve) => {
      this.#resolveResult = resolve;
    });
    const self = this;
    this.#sink = {
      push: (event) => self.#push(event),
      end: (result) => self.#end(result),
      get ended() {
        return self.#ended;
      },
      get submitted() {
        return self.#submitted;
      },
      get outcome() {
        return self.#outcome;
      },
    };
  }

  /** @internal The stream's handle on this watch. */
  get sink(): WatchSink {
    return this.#sink;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Progress events dropped because the reader fell more than the buffer size behind. */
  get droppedEvents(): number {
    return this.#dropped;
  }

  /** Marks the prompt as submitted (POST /prompt answered): reconciliation may now judge it. */
  markSubmitted(): void {
    this.#submitted = true;
  }

  /** Stops watching: the iterator ends and `result` resolves with status 'stopped'. Idempotent. */
  close(reason: 'stopped' | 'aborted' = 'stopped'): void {
    this.#end({ status: 'stopped', promptId: this.promptId, reason });
  }

  #push(event: WatchEvent): void {
    if (this.#ended) return;
    if (!event.unknown) {
      if (event.type === 'execution_success') {
        this.#outcome = 'success';
        this.#error = undefined;
      } else if (
        event.type === 'execution_error' &&
        event.data.exception_type !== 'ExecutionBlocked'
      ) {
        this.#outcome = 'error';
        this.#error = event.data;
      } else if (event.type === 'execution_interrupted') {
        this.#outcome = 'interrupted';
        this.#interrupted = event.data;
      }
    }
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter({ value: event, done: false });
    } else {
      if (this.#buffer.length >= this.#maxBuffered) this.#dropOne();
      this.#buffer.push(event);
    }
    if (!event.unknown && event.type === 'executing' && event.data.node === null) {
      const result: PromptWatchResult = {
        status: 'finished',
        promptId: this.promptId,
        outcome: this.#outcome,
        via: 'events',
      };
      if (this.#outcome === 'error' && this.#error) result.error = this.#error;
      if (this.#outcome === 'interrupted' && this.#interrupted)
        result.interrupted = this.#interrupted;
      this.#end(result);
    }
  }

  #dropOne(): void {
    const index = this.#buffer.findIndex(isDroppable);
    this.#buffer.splice(Math.max(index, 0), 1);
    this.#dropped++;
  }

  #end(result: PromptWatchResult): void {
    if (this.#ended) return;
    this.#ended = true;
    if (result.status === 'stopped') this.#buffer = [];
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter({ value: undefined, done: true });
    }
    this.#resolveResult(result);
    this.#onEnd(this);
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    if (this.#iterating) throw new Error('A PromptWatch can be iterated only once');
    this.#iterating = true;
    return {
      next: (): Promise<IteratorResult<WatchEvent>> => {
        const event = this.#buffer.shift();
        if (event !== undefined) return Promise.resolve({ value: event, done: false });
        if (this.#ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.#waiter = resolve;
        });
      },
      return: (): Promise<IteratorResult<WatchEvent>> => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
