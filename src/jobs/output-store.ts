import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { JobError } from './errors.js';
import { type ByteSource, writeHashed } from './hashed-write.js';
import { mimeFromName, SNIFF_BYTES, sniffMime } from './mime-sniff.js';
import { resolveInside, safeFileName } from './safe-names.js';

/** Default largest output file: 4 GiB (videos). */
export const DEFAULT_MAX_OUTPUT_BYTES = 4 * 1024 ** 3;

/** A file in the output store. */
export interface SavedOutput {
  /** Relative to the store root: `<job id>/<attempt>/<n>-<safe name>`. */
  stored_path: string;
  size: number;
  sha256: string;
  mime: string;
}

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function checkJobId(jobId: string): void {
  if (!JOB_ID.test(jobId)) {
    throw new JobError('OUTPUT_INVALID', `not a job id: ${JSON.stringify(jobId)}`);
  }
}

function mimeOf(head: Uint8Array, name: string, declared?: string): string {
  return sniffMime(head) ?? mimeFromName(name) ?? declared ?? 'application/octet-stream';
}

/**
 * Job outputs copied off the instances, under `<data dir>/outputs/<job id>/<attempt>/<n>-<name>`.
 * Names are made safe (no directories, traversal or reserved characters); writes are atomic, so a
 * stored path always holds a complete file. The attempt level keeps a stale runner of an earlier
 * attempt from ever overwriting the files of the attempt that completed.
 *
 * @example
 * const outputs = new OutputStore(path.join(dataDir, 'outputs'));
 * const rel = outputs.relativePath(job.id, 1, 0, 'ComfyUI_00001_.png');
 * const saved = await outputs.save(view.body, rel, { expectedSize: view.contentLength });
 */
export class OutputStore {
  /** Absolute root folder. */
  readonly root: string;
  readonly maxBytes: number;

  constructor(root: string, options: { maxBytes?: number } = {}) {
    this.root = path.resolve(root);
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  }

  /** `<job id>/<attempt>/<index>-<safe filename>`. */
  relativePath(jobId: string, attempt: number, index: number, filename: string): string {
    checkJobId(jobId);
    if (!Number.isInteger(attempt) || attempt < 1 || !Number.isInteger(index) || index < 0) {
      throw new JobError('OUTPUT_INVALID', 'attempt must be >= 1 and index >= 0 (integers)');
    }
    return `${jobId}/${attempt}/${index}-${safeFileName(filename, 'output')}`;
  }

  /** The absolute path of a stored path; refuses paths outside the store. */
  absolute(storedPath: string): string {
    try {
      return resolveInside(this.root, storedPath);
    } catch (err) {
      throw new JobError('OUTPUT_INVALID', (err as Error).message);
    }
  }

  /**
   * Streams `source` to `storedPath`, hashing it. Refuses files beyond `maxBytes`, and a body
   * shorter or longer than `expectedSize` (a truncated download); nothing is left behind then.
   */
  async save(
    source: ByteSource,
    storedPath: string,
    options: {
      expectedSize?: number | undefined;
      maxBytes?: number;
      mime?: string | undefined;
      signal?: AbortSignal;
    } = {},
  ): Promise<SavedOutput> {
    const file = this.absolute(storedPath);
    const max = options.maxBytes ?? this.maxBytes;
    const written = await writeHashed(source, file, {
      maxBytes: options.expectedSize !== undefined ? Math.min(max, options.expectedSize) : max,
      tooLarge: (limit) =>
        options.expectedSize !== undefined && limit === options.expectedSize
          ? new JobError(
              'OUTPUT_INVALID',
              `${storedPath}: more bytes than the announced ${options.expectedSize}`,
            )
          : new JobError('OUTPUT_TOO_LARGE', `${storedPath} is larger than ${limit} bytes`, {
              max_bytes: limit,
            }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (options.expectedSize !== undefined && written.size !== options.expectedSize) {
      await rm(file, { force: true });
      throw new JobError(
        'OUTPUT_INVALID',
        `${storedPath}: got ${written.size} bytes, the instance announced ${options.expectedSize}`,
        { expected: options.expectedSize, received: written.size },
      );
    }
    return {
      stored_path: storedPath,
      size: written.size,
      sha256: written.sha256,
      mime: mimeOf(written.head, storedPath, options.mime),
    };
  }

  /** Size, sha256 and type of a stored file (read from disk), or undefined when absent. */
  async describe(storedPath: string): Promise<SavedOutput | undefined> {
    const file = this.absolute(storedPath);
    let size: number;
    try {
      const s = await stat(file);
      if (!s.isFile()) return undefined;
      size = s.size;
    } catch {
      return undefined;
    }
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    const head = Buffer.alloc(SNIFF_BYTES);
    const fh = await open(file, 'r');
    let n = 0;
    try {
      n = (await fh.read(head, 0, SNIFF_BYTES, 0)).bytesRead;
    } finally {
      await fh.close();
    }
    return {
      stored_path: storedPath,
      size,
      sha256: hash.digest('hex'),
      mime: mimeOf(head.subarray(0, n), storedPath),
    };
  }

  /** A read stream over a stored file. */
  open(storedPath: string): Readable {
    return createReadStream(this.absolute(storedPath));
  }

  /** Removes every file of a job. */
  async removeJob(jobId: string): Promise<void> {
    checkJobId(jobId);
    await rm(path.join(this.root, jobId), { recursive: true, force: true });
  }

  /** Removes the files one attempt of a job wrote (a refused completion). */
  async removeAttempt(jobId: string, attempt: number): Promise<void> {
    checkJobId(jobId);
    if (!Number.isInteger(attempt) || attempt < 1) return;
    await rm(path.join(this.root, jobId, String(attempt)), { recursive: true, force: true });
  }

  /** Job ids that have a folder here, with the folder's modification time (ms). */
  async listJobFolders(): Promise<Array<{ job_id: string; modified_at: number }>> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch {
      return [];
    }
    const out: Array<{ job_id: string; modified_at: number }> = [];
    for (const name of names) {
      if (!JOB_ID.test(name)) continue;
      try {
        out.push({ job_id: name, modified_at: (await stat(path.join(this.root, name))).mtimeMs });
      } catch {
        // removed meanwhile
      }
    }
    return out;
  }
}
