/**
 * What a drop-in prompt's ComfyUI history record holds beyond the job's outputs:
 *
 * - temp outputs (PreviewImage and other `type: "temp"` files): ComfyUI lists them and serves
 *   them with /view?type=temp, but they live in the instance's temp folder, which is wiped when
 *   the instance restarts, and the jobs layer does not count them as outputs;
 * - the instance's status messages (`execution_start`, `execution_cached` with its node list, the
 *   full `execution_error` / `execution_interrupted` data, `execution_success`).
 *
 * Kept beside the job's outputs (`<output store>/<job id>/comfy/`: the temp files and
 * `record.json`), so retention removes them with the job. The record is written without fsync and
 * after the hub has the record in hand (a record lost in a crash only costs the instance's own
 * status messages: the job's are used then); recent records are also kept in memory, so the
 * client's GET /history right after the end does not read the disk.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { OutputStore } from '../../../jobs/index.js';
import { safeFileName } from '../../../jobs/index.js';

/** One temp file of a job, as the instance named it, and where the gateway keeps it. */
export interface TempOutput {
  node_id: string;
  output_key: string;
  filename: string;
  /** The instance's subfolder (inside its temp folder). */
  subfolder: string;
  /** Relative to the output store; null when the copy failed (then /view asks the instance). */
  stored_path: string | null;
}

/** One status message of a history record: `[type, data]`. */
export type StatusMessage = [string, Record<string, unknown>];

/** The extras of one finished prompt. */
export interface PromptExtrasRecord {
  temps: TempOutput[];
  /** The instance's status messages; null when not known (the job's own are used). */
  messages: StatusMessage[] | null;
}

/** What the copies are fetched with: the instance's /view and /history/{id}. */
export interface TempSource {
  view(
    ref: { filename: string; subfolder: string; type: string },
    options?: { signal?: AbortSignal },
  ): Promise<{ body: AsyncIterable<Uint8Array>; contentLength: number | undefined }>;
  getHistoryItem(
    promptId: string,
  ): Promise<{ outputs: Record<string, unknown>; status?: { messages?: unknown } } | undefined>;
}

interface Pending {
  entries: TempOutput[];
  copies: Array<Promise<void>>;
  keys: Set<string>;
}

const RECORD = 'record.json';
/** Records of recently finished prompts kept in memory (GET /history right after the end). */
const RECENT = 256;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The `type: "temp"` file entries of one node's UI output. */
export function tempEntriesOf(
  node: string,
  output: unknown,
): Array<Omit<TempOutput, 'stored_path'>> {
  const out: Array<Omit<TempOutput, 'stored_path'>> = [];
  if (!isObject(output)) return out;
  for (const [key, list] of Object.entries(output)) {
    if (!Array.isArray(list)) continue;
    for (const item of list) {
      if (!isObject(item) || item.type !== 'temp' || typeof item.filename !== 'string') continue;
      out.push({
        node_id: node,
        output_key: key,
        filename: item.filename,
        subfolder: typeof item.subfolder === 'string' ? item.subfolder : '',
      });
    }
  }
  return out;
}

function statusMessagesOf(v: unknown): StatusMessage[] | null {
  if (!Array.isArray(v)) return null;
  const out: StatusMessage[] = [];
  for (const m of v) {
    if (Array.isArray(m) && typeof m[0] === 'string' && isObject(m[1])) out.push([m[0], m[1]]);
  }
  return out.length > 0 ? out : null;
}

/**
 * Copies a job's temp files off its instance as they are announced (`executed`), completes the
 * list (and the status messages) from the instance's history at the end when live messages
 * were missed, and keeps the result with the job's outputs.
 *
 * @example
 * const extras = new PromptExtras({ store: outputStore, sourceFor: (id) => monitor.connectionFor(id)?.client });
 * extras.capture(job.id, instanceId, '2', executed.output);
 * await extras.finish(job.id, instanceId, true, messages);
 * (await extras.read(job.id)).temps; // [{ node_id: '2', output_key: 'images', filename: 'ComfyUI_temp_abcde_00001_.png', ... }]
 */
export class PromptExtras {
  readonly #store: OutputStore;
  readonly #sourceFor: (instanceId: string) => TempSource | undefined;
  readonly #pending = new Map<string, Pending>();
  /** Finishes in progress: resolve with the record once it is known (before it is written). */
  readonly #finishing = new Map<string, Promise<PromptExtrasRecord | null>>();
  readonly #writing = new Map<string, Promise<void>>();
  readonly #recent = new Map<string, PromptExtrasRecord>();

  constructor(options: {
    store: OutputStore;
    sourceFor: (instanceId: string) => TempSource | undefined;
  }) {
    this.#store = options.store;
    this.#sourceFor = options.sourceFor;
  }

  /** Starts copying the temp files of one node's output (seen live on the instance). */
  capture(jobId: string, instanceId: string, node: string, output: unknown): void {
    for (const entry of tempEntriesOf(node, output)) this.#add(jobId, instanceId, entry);
  }

  /** A job went back to the queue: what its earlier attempt showed is not its result. */
  forget(jobId: string): void {
    this.#pending.delete(jobId);
    this.#recent.delete(jobId);
  }

  /**
   * The job ended: waits for the copies; when `complete` is false (live messages may have been
   * missed) adds the temp files and takes the status messages the instance's history has; then
   * writes the record. `messages`: the instance's status messages seen live (null: unknown).
   */
  async finish(
    jobId: string,
    instanceId: string | null,
    complete: boolean,
    messages: StatusMessage[] | null = null,
  ): Promise<void> {
    await this.settle(jobId, instanceId, complete, messages);
    await this.#writing.get(jobId);
  }

  /**
   * As {@link finish}, but resolves with the record as soon as it is known; it is written
   * afterwards (read() answers from memory meanwhile). Null: nothing to record.
   */
  settle(
    jobId: string,
    instanceId: string | null,
    complete: boolean,
    messages: StatusMessage[] | null = null,
  ): Promise<PromptExtrasRecord | null> {
    const p = this.#finish(jobId, instanceId, complete, messages).finally(() => {
      this.#finishing.delete(jobId);
    });
    this.#finishing.set(jobId, p);
    return p;
  }

  async #finish(
    jobId: string,
    instanceId: string | null,
    complete: boolean,
    live: StatusMessage[] | null,
  ): Promise<PromptExtrasRecord | null> {
    let messages = complete ? live : null;
    if (!complete && instanceId !== null) {
      const record = await this.#sourceFor(instanceId)
        ?.getHistoryItem(jobId)
        .catch(() => undefined);
      for (const [node, output] of Object.entries(record?.outputs ?? {})) {
        for (const entry of tempEntriesOf(node, output)) this.#add(jobId, instanceId, entry);
      }
      messages = statusMessagesOf(record?.status?.messages);
    }
    const pending = this.#pending.get(jobId);
    this.#pending.delete(jobId);
    if (!pending && messages === null) return null;
    await Promise.all(pending?.copies ?? []);
    const record: PromptExtrasRecord = { temps: pending?.entries ?? [], messages };
    this.#remember(jobId, record);
    const w = this.#write(jobId, record)
      .catch(() => undefined)
      .finally(() => {
        if (this.#writing.get(jobId) === w) this.#writing.delete(jobId);
      });
    this.#writing.set(jobId, w);
    return record;
  }

  #remember(jobId: string, record: PromptExtrasRecord): void {
    this.#recent.delete(jobId);
    this.#recent.set(jobId, record);
    if (this.#recent.size > RECENT) {
      const oldest = this.#recent.keys().next().value;
      if (oldest !== undefined) this.#recent.delete(oldest);
    }
  }

  /** Temp file + rename (never a half record), no fsync: the record can be done without. */
  async #write(jobId: string, record: PromptExtrasRecord): Promise<void> {
    const file = this.#store.absolute(`${jobId}/comfy/${RECORD}`);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(record));
    await rename(tmp, file);
  }

  /** A finished job's extras (after a finish in progress); none known → no temps, null messages. */
  async read(jobId: string): Promise<PromptExtrasRecord> {
    const settled = await this.#finishing.get(jobId);
    if (settled) return settled;
    const live = this.#pending.get(jobId);
    if (live) return { temps: [...live.entries], messages: null };
    const recent = this.#recent.get(jobId);
    if (recent) return recent;
    let text: string;
    try {
      const chunks: Buffer[] = [];
      for await (const c of this.#store.open(`${jobId}/comfy/${RECORD}`)) chunks.push(c as Buffer);
      text = Buffer.concat(chunks).toString('utf8');
    } catch {
      return { temps: [], messages: null };
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (!isObject(parsed)) return { temps: [], messages: null };
      return {
        temps: Array.isArray(parsed.temps) ? (parsed.temps as TempOutput[]) : [],
        messages: statusMessagesOf(parsed.messages),
      };
    } catch {
      return { temps: [], messages: null };
    }
  }

  /** The gateway's copy of one temp file (instance subfolder + name), or undefined. */
  async file(jobId: string, subfolder: string, filename: string): Promise<string | undefined> {
    const live = this.#pending.get(jobId);
    if (live) await Promise.all(live.copies);
    const entries = live ? live.entries : (await this.read(jobId)).temps;
    const hit = entries.find(
      (e) =>
        e.stored_path !== null &&
        e.filename === filename &&
        e.subfolder.replace(/^\/+|\/+$/g, '') === subfolder,
    );
    return hit?.stored_path ? this.#store.absolute(hit.stored_path) : undefined;
  }

  #add(jobId: string, instanceId: string, entry: Omit<TempOutput, 'stored_path'>): void {
    let pending = this.#pending.get(jobId);
    if (!pending) {
      pending = { entries: [], copies: [], keys: new Set() };
      this.#pending.set(jobId, pending);
    }
    const key = JSON.stringify([entry.node_id, entry.output_key, entry.subfolder, entry.filename]);
    if (pending.keys.has(key)) return;
    pending.keys.add(key);
    const record: TempOutput = { ...entry, stored_path: null };
    const index = pending.entries.length;
    pending.entries.push(record);
    const rel = `${jobId}/comfy/temp-${index}-${safeFileName(entry.filename, 'temp')}`;
    pending.copies.push(
      (async () => {
        const source = this.#sourceFor(instanceId);
        if (!source) return;
        const view = await source.view({
          filename: entry.filename,
          subfolder: entry.subfolder,
          type: 'temp',
        });
        await this.#store.save(view.body, rel, { expectedSize: view.contentLength });
        record.stored_path = rel;
      })().catch(() => undefined),
    );
  }
}
