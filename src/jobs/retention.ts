import type { InputRepository } from './input-repository.js';
import type { InputStore } from './input-store.js';
import { DEFAULT_RETENTION_DAYS } from './job-model.js';
import type { JobRepository } from './job-repository.js';
import type { OutputStore } from './output-store.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** What a retention run removed. */
export interface RetentionReport {
  cutoff: number;
  jobs_deleted: number;
  inputs_deleted: number;
  /** Output folders of jobs no longer in the store (e.g. a run interrupted after the delete). */
  orphan_output_folders: number;
}

export interface RetentionOptions {
  jobs: JobRepository;
  inputs: InputRepository;
  inputStore: InputStore;
  outputStore: OutputStore;
  /** Keep finished jobs this many days (default 7). */
  retentionDays?: number;
  now?: number;
  /** Rows per delete batch (default 500). */
  batch?: number;
}

/**
 * Deletes what is older than the retention period: finished jobs (completed, failed, cancelled)
 * with their records and output files, output folders whose job is gone, and stored inputs no job
 * refers to any more. Pending and processing jobs are never touched. Safe to run at any time and
 * from a timer; rows go first, then files, so a crash leaves at most orphan files that the next run
 * removes.
 *
 * @example
 * setInterval(() => void runRetention({ jobs, inputs, inputStore, outputStore, retentionDays: 7 }), 3_600_000);
 */
export async function runRetention(options: RetentionOptions): Promise<RetentionReport> {
  const days = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
  const now = options.now ?? Date.now();
  const cutoff = now - days * DAY_MS;
  const batch = Math.max(1, options.batch ?? 500);
  let jobsDeleted = 0;
  // Bounded: each round deletes up to `batch`; stop when a round comes back short.
  for (let round = 0; round < 10_000; round++) {
    const ids = await options.jobs.deleteFinishedBefore(cutoff, batch);
    for (const id of ids) await options.outputStore.removeJob(id);
    jobsDeleted += ids.length;
    if (ids.length < batch) break;
  }
  let orphans = 0;
  const folders = (await options.outputStore.listJobFolders()).filter(
    (f) => f.modified_at < cutoff,
  );
  const alive = await options.jobs.existing(folders.map((f) => f.job_id));
  for (const f of folders) {
    if (alive.has(f.job_id)) continue;
    await options.outputStore.removeJob(f.job_id);
    orphans++;
  }
  let inputsDeleted = 0;
  for (let round = 0; round < 10_000; round++) {
    const hashes = await options.inputs.deleteUnreferencedBefore(cutoff, batch);
    for (const h of hashes) await options.inputStore.remove(h);
    inputsDeleted += hashes.length;
    if (hashes.length < batch) break;
  }
  return {
    cutoff,
    jobs_deleted: jobsDeleted,
    inputs_deleted: inputsDeleted,
    orphan_output_folders: orphans,
  };
}
