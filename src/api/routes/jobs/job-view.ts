import type { Job, JobOutput } from '../../../jobs/index.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** An output as the API shows it: no stored path, a download URL for files. */
export interface OutputView {
  index: number;
  node_id: string;
  output_key: string;
  kind: 'file' | 'value';
  filename: string | null;
  subfolder: string | null;
  type: string | null;
  size: number | null;
  sha256: string | null;
  mime: string | null;
  value: unknown;
  url: string | null;
}

/**
 * An output for the API (the stored path stays inside the gateway).
 *
 * @example
 * outputView('job-1', output).url; // '/api/v1/jobs/job-1/outputs/0'
 */
export function outputView(jobId: string, o: JobOutput): OutputView {
  return {
    index: o.index,
    node_id: o.node_id,
    output_key: o.output_key,
    kind: o.kind,
    filename: o.filename,
    subfolder: o.subfolder,
    type: o.type,
    size: o.size,
    sha256: o.sha256,
    mime: o.mime,
    value: o.kind === 'value' ? o.value : null,
    url: o.kind === 'file' ? `/api/v1/jobs/${encodeURIComponent(jobId)}/outputs/${o.index}` : null,
  };
}

/**
 * A job for the API: the stored job with times as ISO-8601 (progress keeps its ms clock).
 *
 * @example
 * jobView(job).created_at; // '2026-01-01T00:00:00.000Z'
 */
export function jobView(job: Job, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...job,
    created_at: iso(job.created_at),
    queued_at: iso(job.queued_at),
    started_at: iso(job.started_at),
    completed_at: iso(job.completed_at),
    updated_at: iso(job.updated_at),
    ...extra,
  };
}
