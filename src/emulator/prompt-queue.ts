/**
 * The queue, the running set and the history of one emulated instance, with ComfyUI's semantics:
 * a min-heap of `(number, prompt_id)`, at most one running prompt, a capped insertion-ordered
 * history, and a `status` broadcast on every put, get, finish, wipe and delete.
 */
import type {
  ApiPrompt,
  HistoryMessage,
  HistoryNodeMeta,
  JsonObject,
  NodeOutput,
} from '../comfy/protocol.js';
import { heapify, heapPop, heapPush } from './py-heap.js';
import { PyFloat, pyJson, RawJson } from './py-json.js';

/** One queued prompt: ComfyUI's `(number, prompt_id, prompt, extra_data, outputs, sensitive)`. */
export interface QueueEntry {
  number: number;
  /** The client sent `number` itself: Python holds it as a float. */
  numberIsFloat: boolean;
  promptId: string;
  prompt: ApiPrompt;
  extraData: JsonObject;
  outputs: string[];
  /** Keys moved out of extra_data (never shown by /queue, /history or /api/jobs). */
  sensitive: JsonObject;
  /** Serialises the prompt (float inputs as floats); set by whoever builds the entry. */
  promptJson: () => string;
  /** Cached JSON of the visible 5-tuple. */
  json?: string | undefined;
}

export interface HistoryStatusData {
  status_str: 'success' | 'error';
  completed: boolean;
  messages: HistoryMessage[];
}

/** One history record (`prompt`, `outputs`, `status`, `meta`), serialised once on demand. */
export interface HistoryEntry {
  entry: QueueEntry;
  outputs: Record<string, NodeOutput>;
  status: HistoryStatusData;
  meta: Record<string, HistoryNodeMeta>;
  json?: string;
}

/** Flags set by POST /free and applied by the worker between prompts. */
export interface QueueFlags {
  unload_models?: boolean;
  free_memory?: boolean;
}

function compareEntries(a: QueueEntry, b: QueueEntry): number {
  if (a.number !== b.number) return a.number < b.number ? -1 : 1;
  if (a.promptId === b.promptId) return 0;
  return a.promptId < b.promptId ? -1 : 1;
}

/**
 * A string built by concatenation is a tree of pieces (a V8 "cons string"), and a cached one
 * keeps every piece alive: some 180 small heap objects per history record, which every garbage
 * collection then has to walk. Converting to a number makes V8 flatten it into one piece.
 */
function flat(s: string): string {
  Number(s);
  return s;
}

/** JSON of `[number, prompt_id, prompt, extra_data, outputs]`. */
export function queueItemJson(entry: QueueEntry): string {
  if (entry.json === undefined) {
    const number = entry.numberIsFloat ? new PyFloat(entry.number) : entry.number;
    entry.json = flat(
      pyJson([
        number,
        entry.promptId,
        new RawJson(entry.promptJson()),
        entry.extraData,
        entry.outputs,
      ]),
    );
  }
  return entry.json;
}

/** JSON of one history record. */
export function historyRecordJson(record: HistoryEntry): string {
  if (record.json === undefined) {
    const cachedItem = record.entry.json;
    record.json = flat(
      pyJson({
        prompt: new RawJson(queueItemJson(record.entry)),
        outputs: record.outputs,
        status: record.status,
        meta: record.meta,
      }),
    );
    // A finished entry is listed by /queue no more: its own JSON is needed only inside this one.
    if (cachedItem === undefined) record.entry.json = undefined;
  }
  return record.json;
}

/**
 * ComfyUI's PromptQueue for one instance.
 *
 * @example
 * const queue = new PromptQueue(10000, (remaining) => hub.broadcastStatus(remaining));
 * queue.put(entry);
 * const next = queue.take(); // or: await queue.waitForWork()
 */
export class PromptQueue {
  private readonly heap: QueueEntry[] = [];
  private readonly running = new Map<number, QueueEntry>();
  private readonly history = new Map<string, HistoryEntry>();
  private flags: QueueFlags = {};
  private taskCounter = 0;
  private waiter: (() => void) | undefined;

  constructor(
    private maxHistory: number,
    private readonly onQueueUpdated: (remaining: number) => void,
  ) {}

  setMaxHistory(max: number): void {
    this.maxHistory = max;
  }

  /** Pending plus running, as `queue_remaining` counts them. */
  remaining(): number {
    return this.heap.length + this.running.size;
  }

  put(entry: QueueEntry): void {
    heapPush(this.heap, entry, compareEntries);
    this.updated();
    this.wake();
  }

  /** Resolves at the next put, flag change or wake() (the worker's idle wait). */
  waitForWork(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.waiter = resolve;
    });
  }

  /** Takes the next prompt without waiting (undefined when the queue is empty). */
  take(): { entry: QueueEntry; taskId: number } | undefined {
    const entry = heapPop(this.heap, compareEntries);
    if (entry === undefined) return undefined;
    const taskId = this.taskCounter++;
    this.running.set(taskId, entry);
    this.updated();
    return { entry, taskId };
  }

  /** Ends a pending waitForWork() (on put, on flags and on close). */
  wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  /** Records a finished prompt in history (before the status broadcast, as ComfyUI does). */
  taskDone(
    taskId: number,
    result: { outputs: Record<string, NodeOutput>; meta: Record<string, HistoryNodeMeta> },
    status: HistoryStatusData,
  ): void {
    const entry = this.running.get(taskId);
    if (entry === undefined) return;
    this.running.delete(taskId);
    if (this.history.size > this.maxHistory) {
      const oldest = this.history.keys().next();
      if (!oldest.done) this.history.delete(oldest.value);
    }
    // Map.set on an existing id keeps its position, like a Python dict.
    this.history.set(entry.promptId, {
      entry,
      outputs: result.outputs,
      status,
      meta: result.meta,
    });
    this.updated();
  }

  runningEntries(): QueueEntry[] {
    return [...this.running.values()];
  }

  /** The pending heap in its raw array order. */
  pendingEntries(): QueueEntry[] {
    return [...this.heap];
  }

  isRunning(promptId: string): boolean {
    for (const entry of this.running.values()) if (entry.promptId === promptId) return true;
    return false;
  }

  wipeQueue(): void {
    this.heap.length = 0;
    this.updated();
  }

  /** Removes the first pending entry matching; ComfyUI broadcasts twice when it empties the heap. */
  deleteQueueItem(match: (entry: QueueEntry) => boolean): boolean {
    for (let i = 0; i < this.heap.length; i++) {
      if (!match(this.heap[i] as QueueEntry)) continue;
      if (this.heap.length === 1) {
        this.wipeQueue();
      } else {
        this.heap.splice(i, 1);
        heapify(this.heap, compareEntries);
      }
      this.updated();
      return true;
    }
    return false;
  }

  historyEntry(promptId: string): HistoryEntry | undefined {
    return this.history.get(promptId);
  }

  /** ComfyUI's get_history(max_items, offset) over the insertion-ordered history. */
  historySlice(maxItems: number | undefined, offset: number): HistoryEntry[] {
    const out: HistoryEntry[] = [];
    if (offset < 0 && maxItems !== undefined) offset = this.history.size - maxItems;
    let i = 0;
    for (const record of this.history.values()) {
      if (i >= offset) {
        out.push(record);
        if (maxItems !== undefined && out.length >= maxItems) break;
      }
      i++;
    }
    return out;
  }

  allHistory(): IterableIterator<HistoryEntry> {
    return this.history.values();
  }

  historySize(): number {
    return this.history.size;
  }

  wipeHistory(): void {
    this.history.clear();
  }

  deleteHistoryItem(promptId: string): void {
    this.history.delete(promptId);
  }

  setFlag(name: keyof QueueFlags, value: boolean): void {
    this.flags[name] = value;
    this.wake();
  }

  takeFlags(): QueueFlags {
    const flags = this.flags;
    this.flags = {};
    return flags;
  }

  private updated(): void {
    this.onQueueUpdated(this.remaining());
  }
}
