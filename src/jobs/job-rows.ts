/**
 * Mapping between the store's rows and the job model (JSON columns parsed, 0/1 as booleans,
 * bigint counters as numbers).
 */
import type { JobAttemptRow, JobOutputRow, JobRow } from '../store/schema.js';
import {
  JOB_PHASES,
  JOB_STATUSES,
  type Job,
  type JobAttempt,
  type JobErrorInfo,
  type JobOutput,
  type JobPhase,
  type JobStatus,
} from './job-model.js';

/** JSON.parse that falls back instead of throwing (a damaged column must not break a listing). */
export function parseJson<T>(text: string | null | undefined, fallback: T): T {
  if (text === null || text === undefined) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

function objectOr(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

const num = (v: number | null): number | null => (v === null ? null : Number(v));

/** A jobs row as the model. */
export function toJob(row: JobRow): Job {
  const status = (JOB_STATUSES as readonly string[]).includes(row.status)
    ? (row.status as JobStatus)
    : 'failed';
  const phase =
    row.phase !== null && (JOB_PHASES as readonly string[]).includes(row.phase)
      ? (row.phase as JobPhase)
      : null;
  const hasProgress =
    row.progress_percent !== null || row.progress_node !== null || row.progress_step !== null;
  const error: JobErrorInfo | null =
    row.error_code === null
      ? null
      : {
          code: row.error_code,
          message: row.error_message ?? '',
          node_id: row.error_node_id,
          node_class: row.error_node_class,
          exception_type: row.error_exception_type,
          exception_message: row.error_exception_message,
          details:
            row.error_details_json === null
              ? null
              : objectOr(parseJson(row.error_details_json, {})),
        };
  return {
    id: row.id,
    status,
    phase,
    cancel_requested: Number(row.cancel_requested) === 1,
    priority: Number(row.priority),
    seq: Number(row.seq),
    owner: row.owner,
    pin: row.pin,
    tags: stringArray(parseJson(row.tags_json, [])),
    workflow: objectOr(parseJson(row.workflow_json, {})),
    template:
      row.template_name === null
        ? null
        : { name: row.template_name, params: objectOr(parseJson(row.template_params_json, {})) },
    idempotency_key: row.idempotency_key,
    metadata: objectOr(parseJson(row.metadata_json, {})),
    webhook_url: row.webhook_url,
    timeout_ms: Number(row.timeout_ms),
    max_attempts: Number(row.max_attempts),
    attempts: Number(row.attempt),
    excluded_instances: stringArray(parseJson(row.excluded_instances_json, [])),
    instance_id: row.instance_id,
    progress: hasProgress
      ? {
          percent: num(row.progress_percent),
          node: row.progress_node,
          step: num(row.progress_step),
          steps: num(row.progress_steps),
          updated_at: num(row.progress_updated_at),
        }
      : null,
    error,
    retry_of: row.retry_of,
    created_at: Number(row.created_at),
    queued_at: Number(row.queued_at),
    started_at: num(row.started_at),
    completed_at: num(row.completed_at),
    processing_time_ms: num(row.processing_time_ms),
    updated_at: Number(row.updated_at),
  };
}

const OUTCOMES = ['completed', 'failed', 'requeued', 'cancelled'] as const;

/** A job_attempts row as the model. */
export function toAttempt(row: JobAttemptRow): JobAttempt {
  return {
    job_id: row.job_id,
    n: Number(row.n),
    instance_id: row.instance_id,
    started_at: Number(row.started_at),
    ended_at: num(row.ended_at),
    outcome: (OUTCOMES as readonly string[]).includes(row.outcome ?? '')
      ? (row.outcome as JobAttempt['outcome'])
      : null,
    error_code: row.error_code,
    error_message: row.error_message,
  };
}

/** A job_outputs row as the model. */
export function toOutput(row: JobOutputRow): JobOutput {
  return {
    index: Number(row.idx),
    node_id: row.node_id,
    output_key: row.output_key,
    kind: row.kind === 'value' ? 'value' : 'file',
    filename: row.filename,
    subfolder: row.subfolder,
    type: row.type,
    size: num(row.size),
    sha256: row.sha256,
    mime: row.mime,
    stored_path: row.stored_path,
    value: row.value_json === null ? null : parseJson<unknown>(row.value_json, null),
  };
}
