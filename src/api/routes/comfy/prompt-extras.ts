/**
 * Temp outputs of drop-in prompts (PreviewImage and other `type: "temp"` files): ComfyUI lists
 * them in the history record and serves them with /view?type=temp, but they live in the
 * instance's temp folder, which is wiped when the instance restarts. The jobs layer does not
 * count them as outputs, so the drop-in routes keep their own copy beside the job's outputs
 * (`<output store>/<job id>/temp/`, removed with the job by retention) and a manifest of where
 * each one appeared.
 */
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

/** What the copies are fetched with: the instance's /view and /history/{id}. */
export interface TempSource {
  view(
    ref: { filename: string; subfolder: string; type: string },
    options?: { signal?: AbortSignal },
  ): Promise<{ body: AsyncIterable<Uint8Array>; contentLength: number | undefined }>;
  getHistoryItem(promptId: string): Promise<{ outputs: Record<string, unknown> } | undefined>;
}

interface Pending {
  entries: TempOutput[];
  copies: Array<Promise<void>>;
  keys: Set<string>;
}

const MANIFEST = 'manifest.json';

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

/**
 * Copies a job's temp files off its instance as they are announced (`executed`), completes the
 * list from the instance's history at the end when live messages were missed, and keeps the
 * result with the job's outputs.
 *
 * @example
 * const temps = new TempOutputs({ store: outputStore, sourceFor: (id) => monitor.connectionFor(id)?.client });
 * temps.capture(job.id, instanceId, '2', executed.output);
 * await temps.finish(job.id, instanceId, true);
 * await temps.list(job.id); // [{ node_id: '2', output_key: 'images', filename: 'ComfyUI_temp_abcde_00001_.png', ... }]
 */
export class TempOutputs {
  readonly #store: OutputStore;
  readonly #sourceFor: (instanceId: string) => TempSource | undefined;
  readonly #pending = new Map<string, Pending>();
  readonly #finishing = new Map<string, Promise<void>>();

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
  }

  /**
   * The job ended: waits for the copies, adds the temp files only the instance's history names
   * (when `complete` is false: live messages may have been missed), and writes the manifest.
   */
  finish(jobId: string, instanceId: string | null, complete: boolean): Promise<void> {
    const p = this.#finish(jobId, instanceId, complete).finally(() => {
      this.#finishing.delete(jobId);
    });
    this.#finishing.set(jobId, p);
    return p;
  }

  async #finish(jobId: string, instanceId: string | null, complete: boolean): Promise<void> {
    if (!complete && instanceId !== null) {
      const record = await this.#sourceFor(instanceId)
        ?.getHistoryItem(jobId)
        .catch(() => undefined);
      for (const [node, output] of Object.entries(record?.outputs ?? {})) {
        for (const entry of tempEntriesOf(node, output)) this.#add(jobId, instanceId, entry);
      }
    }
    const pending = this.#pending.get(jobId);
    this.#pending.delete(jobId);
    if (!pending) return;
    await Promise.all(pending.copies);
    const json = Buffer.from(JSON.stringify(pending.entries));
    await this.#store.save(json, `${jobId}/temp/${MANIFEST}`).catch(() => undefined);
  }

  /** A finished job's temp files (after a finish in progress); [] when it has none. */
  async list(jobId: string): Promise<TempOutput[]> {
    await this.#finishing.get(jobId);
    const live = this.#pending.get(jobId);
    if (live) return [...live.entries];
    let text: string;
    try {
      const chunks: Buffer[] = [];
      for await (const c of this.#store.open(`${jobId}/temp/${MANIFEST}`)) chunks.push(c as Buffer);
      text = Buffer.concat(chunks).toString('utf8');
    } catch {
      return [];
    }
    try {
      const parsed: unknown = JSON.parse(text);
      return Array.isArray(parsed) ? (parsed as TempOutput[]) : [];
    } catch {
      return [];
    }
  }

  /** The gateway's copy of one temp file (instance subfolder + name), or undefined. */
  async file(jobId: string, subfolder: string, filename: string): Promise<string | undefined> {
    const live = this.#pending.get(jobId);
    if (live) await Promise.all(live.copies);
    const entries = live ? live.entries : await this.list(jobId);
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
    const rel = `${jobId}/temp/${index}-${safeFileName(entry.filename, 'temp')}`;
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
