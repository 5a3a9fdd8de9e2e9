import { rename, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ComfyClient, FileRef, NodeOutput, ViewResponse } from '../../comfy/index.js';
import { collectOutputs } from '../../jobs/index.js';

/** Files fetched ahead per attempt, and the largest one kept in memory. */
const MAX_FILES = 4;
const MAX_BYTES = 1024 * 1024;

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
  #count = 0;

  constructor(signal: AbortSignal) {
    this.#signal = signal;
  }

  /** Starts the downloads of the output files in one node's `executed` output. */
  announce(client: ViewSource, node: string, output: NodeOutput | null): void {
    if (output === null || typeof output !== 'object') return;
    const entries = collectOutputs({ outputs: { [node]: output } });
    for (const e of entries) {
      if (e.kind !== 'file' || this.#count >= MAX_FILES) continue;
      const ref = { filename: e.filename, subfolder: e.subfolder, type: e.type };
      const key = keyOf(ref);
      if (this.#started.has(key)) continue;
      this.#count++;
      const p = this.#fetch(client, ref);
      p.catch(() => undefined);
      this.#started.set(key, p);
    }
  }

  async #fetch(client: ViewSource, ref: FileRef): Promise<ViewResponse | undefined> {
    const view = await client.view(ref, { signal: this.#signal });
    if (view.status !== 200 || view.contentLength === undefined || view.contentLength > MAX_BYTES) {
      // Not worth holding (or not a plain answer): collection asks again.
      view.cancel();
      return undefined;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of view.body) {
      const b = chunk as Buffer;
      size += b.length;
      // More than announced: let collection's own download find and report it.
      if (size > MAX_BYTES) {
        view.cancel();
        return undefined;
      }
      chunks.push(b);
    }
    return buffered(view, chunks);
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
        return got ?? client.view(ref, options);
      },
    };
  }
}
