import type { ComfyClient, HistoryRecord, JsonValue } from '../comfy/index.js';
import { JobError } from './errors.js';
import type { Job } from './job-model.js';
import type { CompleteResult, JobLease, JobRepository, NewJobOutput } from './job-repository.js';
import type { OutputStore } from './output-store.js';

/** A file an output node wrote to the instance's output folder. */
export interface OutputFileEntry {
  kind: 'file';
  node_id: string;
  /** Key in the node's UI output: `images`, `audio`, `video`, `3d`, ... */
  output_key: string;
  filename: string;
  subfolder: string;
  type: string;
}

/** A value an output node showed (PreviewAny's `text`, ...). */
export interface OutputValueEntry {
  kind: 'value';
  node_id: string;
  output_key: string;
  value: string;
}

export type OutputEntry = OutputFileEntry | OutputValueEntry;

function isObject(v: unknown): v is Record<string, JsonValue> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * What a finished prompt produced, from its history record, in order: every file entry of every
 * output node whose `type` is `output` (images, audio, video, 3D, text files...), and every text
 * value. Temp previews (`type: "temp"`) and inputs are not outputs; flags such as `animated` are
 * ignored.
 *
 * @example
 * collectOutputs(record); // [{ kind: 'file', node_id: '9', output_key: 'images', filename: 'ComfyUI_00001_.png', subfolder: '', type: 'output' }]
 */
export function collectOutputs(record: Pick<HistoryRecord, 'outputs'>): OutputEntry[] {
  const out: OutputEntry[] = [];
  for (const [nodeId, ui] of Object.entries(record.outputs ?? {})) {
    if (!isObject(ui)) continue;
    for (const [key, entries] of Object.entries(ui)) {
      if (!Array.isArray(entries)) continue;
      for (const entry of entries) {
        if (isObject(entry) && typeof entry.filename === 'string') {
          const type = typeof entry.type === 'string' ? entry.type : 'output';
          if (type !== 'output') continue;
          out.push({
            kind: 'file',
            node_id: nodeId,
            output_key: key,
            filename: entry.filename,
            subfolder: typeof entry.subfolder === 'string' ? entry.subfolder : '',
            type,
          });
        } else if (typeof entry === 'string') {
          out.push({ kind: 'value', node_id: nodeId, output_key: key, value: entry });
        }
      }
    }
  }
  return out;
}

/** Options of {@link downloadOutputs}. */
export interface DownloadOutputsOptions {
  client: Pick<ComfyClient, 'view'>;
  record: Pick<HistoryRecord, 'outputs'>;
  /** The job and attempt the files belong to (they go under `<job>/<attempt>/`). */
  lease: Pick<JobLease, 'job_id' | 'attempt'>;
  outputs: OutputStore;
  /** Per-file limit (default: the store's). */
  maxBytes?: number;
  signal?: AbortSignal;
  /**
   * The attempt was just claimed, so nothing can be stored for it yet: skip looking for files
   * an earlier collection of this attempt left (one stat per output saved). Default false (a
   * re-attached attempt may have stored some already).
   */
  fresh?: boolean;
}

/**
 * Copies every output of a finished prompt into the output store (GET /view, streamed), checking
 * each file's size against what the instance announced and the limit, and computing its sha256
 * and type; returns the outputs to record with {@link JobRepository.complete}. Idempotent: a file
 * already stored for this attempt (an earlier try cut short) is described from disk, not fetched
 * again (unless `fresh`).
 *
 * @example
 * const outs = await downloadOutputs({ client, record, lease, outputs: outputStore });
 */
export async function downloadOutputs(options: DownloadOutputsOptions): Promise<NewJobOutput[]> {
  const { client, lease, outputs: store } = options;
  const max = options.maxBytes ?? store.maxBytes;
  const result: NewJobOutput[] = [];
  for (const [index, entry] of collectOutputs(options.record).entries()) {
    if (entry.kind === 'value') {
      result.push({
        node_id: entry.node_id,
        output_key: entry.output_key,
        kind: 'value',
        value: entry.value,
      });
      continue;
    }
    options.signal?.throwIfAborted();
    const rel = store.relativePath(lease.job_id, lease.attempt, index, entry.filename);
    let saved = options.fresh ? undefined : await store.describe(rel);
    if (!saved) {
      const view = await client.view(
        { filename: entry.filename, subfolder: entry.subfolder, type: entry.type },
        options.signal ? { signal: options.signal } : {},
      );
      if (view.contentLength !== undefined && view.contentLength > max) {
        view.cancel();
        throw new JobError(
          'OUTPUT_TOO_LARGE',
          `${entry.filename} is ${view.contentLength} bytes, over the ${max}-byte limit`,
          { filename: entry.filename, size: view.contentLength, max_bytes: max },
        );
      }
      saved = await store.save(view.body, rel, {
        expectedSize: view.contentLength,
        maxBytes: max,
        mime: view.contentType?.split(';')[0]?.trim(),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    }
    result.push({
      node_id: entry.node_id,
      output_key: entry.output_key,
      kind: 'file',
      filename: entry.filename,
      subfolder: entry.subfolder,
      type: entry.type,
      size: saved.size,
      sha256: saved.sha256,
      mime: saved.mime,
      stored_path: saved.stored_path,
    });
  }
  return result;
}

/**
 * Collects a finished prompt's outputs and records the completion, exactly once: downloads (see
 * {@link downloadOutputs}), then `complete` in one transaction. When the completion is refused
 * because the attempt is no longer current, the files this attempt wrote are removed — unless
 * this very attempt already completed (a repeated collection after a crash), whose files are the
 * recorded ones.
 *
 * @example
 * const r = await collectAndComplete({ jobs, lease, client, record: run.history, outputs: outputStore });
 * if (!r.ok) log.warn({ job: lease.job_id }, 'completion refused: attempt no longer current');
 */
export async function collectAndComplete(
  options: DownloadOutputsOptions & { jobs: JobRepository; lease: JobLease },
): Promise<CompleteResult> {
  const { jobs, lease } = options;
  const refused = async (job: Job | undefined): Promise<CompleteResult> => {
    const mine = job?.status === 'completed' && job.attempts === lease.attempt;
    if (!mine) await options.outputs.removeAttempt(lease.job_id, lease.attempt);
    return { ok: false, job };
  };
  if (!(await jobs.holds(lease))) return refused(await jobs.get(lease.job_id));
  const outputs = await downloadOutputs(options);
  const done = await jobs.complete(lease, outputs);
  return done.ok ? done : refused(done.job);
}
