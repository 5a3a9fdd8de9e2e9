import { rename, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ComfyClient, FileRef, NodeOutput, ViewResponse } from '../../comfy/index.js';
import { collectOutputs } from '../../jobs/index.js';

/** Files fetched ahead per attempt, and the largest one kept in memory. */
const MAX_FILES = 4;
const MAX_BYTES = 1024 * 1024;
/** Bytes held by all attempts together (a long job can hold its early outputs for minutes). */
const BUDGET_BYTES = 32 * 1024 * 1024;
let held = 0;

type ViewSource = Pick<ComfyClient, 'view'>;

function keyOf(ref: FileRef): string {
  return JSON.stringify([ref.filename, ref.subfolder ?? '', ref.type ?? 'output']);
}

/** A /view answer read into memory: it holds no connection while it waits to be used. */
function buffered(view: ViewResponse, chunks: Buffer[]): ViewResponse {
  const body = Readable.from(chunks, { objectMode: false });
  return {
    status: view.status,
    contentType: view.contentType,
    contentLength: view.contentLength,
    filename: view.filename,
    headers: view.headers,
    body,
    toWeb: () => Readable.toWeb(body) as ReturnType<ViewResponse['toWeb']>,
    saveTo: async (path) => {
      const data = Buffer.concat(chunks);
      const temp = `${path}.${process.pid}.part`;
      await writeFile(temp, data);
      await rename(temp, path);
      return data.length;
    },
    cancel: () => body.destroy(),
  };
}

/**
 * Downloads of output files started as soon as the instance announces them (`executed`), so
 * GET /view runs beside GET /history instead of after it. Small files only (read into memory, no
 * connection kept busy), at most a few per attempt; `source()` hands them to output collection,
 * which still checks size and hash and writes them durably. What is not used is dropped.
 *
 * @example
 * const prefetch = new OutputPrefetch(signal);
 * prefetch.announce(client, executed.node, executed.output);
 * await collectAndComplete({ ..., client: prefetch.source(client) });
 */
export class OutputPrefetch {
  readonly #signal: AbortSignal;
  readonly #started = new Map<string, Promise<ViewResponse | undefined>>();
  /** Bytes this attempt holds against the budget. */
  readonly #sizes = new Map<string, number>();
  #count = 0;
  #disposed = false;

  constructor(signal: AbortSignal) {
    this.#signal = signal;
  }

  /** Starts the downloads of the output files in one node's `executed` output. */
  announce(client: ViewSource, node: string, output: NodeOutput | null): void {
    if (this.#disposed || output === null || typeof output !== 'object') return;
    const entries = collectOutputs({ outputs: { [node]: output } });
    for (const e of entries) {
      if (e.kind !== 'file' || this.#count >= MAX_FILES) continue;
      const ref = { filename: e.filename, subfolder: e.subfolder, type: e.type };
      const key = keyOf(ref);
      if (this.#started.has(key)) continue;
      this.#count++;
      const p = this.#fetch(client, ref, key);
      p.catch(() => undefined);
      this.#started.set(key, p);
    }
  }

  async #fetch(client: ViewSource, ref: FileRef, key: string): Promise<ViewResponse | undefined> {
    const view = await client.view(ref, { signal: this.#signal });
    const size = view.contentLength;
    if (
      this.#disposed ||
      view.status !== 200 ||
      size === undefined ||
      size > MAX_BYTES ||
      held + size > BUDGET_BYTES
    ) {
      // Not worth holding (or not a plain answer): collection asks again.
      view.cancel();
      return undefined;
    }
    held += size;
    this.#sizes.set(key, size);
    const chunks: Buffer[] = [];
    let got = 0;
    try {
      for await (const chunk of view.body) {
        const b = chunk as Buffer;
        got += b.length;
        // More than announced: let collection's own download find and report it.
        if (got > size) {
          view.cancel();
          this.#release(key);
          return undefined;
        }
        chunks.push(b);
      }
    } catch (err) {
      this.#release(key);
      throw err;
    }
    if (this.#disposed) {
      this.#release(key);
      return undefined;
    }
    return buffered(view, chunks);
  }

  #release(key: string): void {
    const size = this.#sizes.get(key);
    if (size === undefined) return;
    this.#sizes.delete(key);
    held -= size;
  }

  /** The attempt ended: what was not used is dropped (and leaves the budget). */
  dispose(): void {
    this.#disposed = true;
    this.#started.clear();
    for (const key of [...this.#sizes.keys()]) this.#release(key);
  }

  /** `client` whose view() answers from a download started earlier, once, when there is one. */
  source(client: ViewSource): ViewSource {
    return {
      view: async (ref, options) => {
        const key = keyOf(ref);
        const early = this.#started.get(key);
        this.#started.delete(key);
        // A failed early download (even a 404 before the file was there) is simply asked again.
        const got = early ? await early.catch(() => undefined) : undefined;
        this.#release(key);
        return got ?? client.view(ref, options);
      },
    };
  }
}
