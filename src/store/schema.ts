import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { ApiKeyTable } from './api-key-repository.js';

/**
 * Portable column conventions (the same tables run on SQLite and PostgreSQL):
 * - time is ms since epoch in `bigint` columns (read back as `number`; PostgreSQL's int8 parser is
 *   set to `Number` by {@link openStore}, which is exact up to year 285,616);
 * - booleans are `integer` 0/1 (SQLite has no boolean type);
 * - JSON is stored as `text` and parsed by the repository that owns the column.
 */

/** One health check of one instance (ring buffer per instance, pruned by age and count). */
export interface InstanceHealthSampleTable {
  id: Generated<number>;
  instance_id: string;
  sampled_at: number;
  /** `unknown | healthy | degraded | unhealthy` after this sample. */
  health: string;
  /** 1 when the check itself succeeded. */
  ok: number;
  latency_ms: number | null;
  queue_running: number | null;
  queue_pending: number | null;
  vram_free: number | null;
  vram_total: number | null;
  error: string | null;
}

/** Latest per-instance figures (one row per instance, upserted). */
export interface InstanceStatsTable {
  instance_id: string;
  updated_at: number;
  jobs_total: number;
  jobs_succeeded: number;
  jobs_failed: number;
  /** Mean run time of completed jobs in ms, `null` until one completed. */
  avg_run_ms: number | null;
  last_error: string | null;
  last_error_at: number | null;
  /** Further figures as a JSON object (text). */
  details_json: ColumnType<string, string | undefined, string>;
}

/** An alert raised about an instance; open while `cleared_at` is null. */
export interface InstanceAlertTable {
  id: Generated<number>;
  instance_id: string;
  kind: string;
  reason: string;
  value: number | null;
  raised_at: number;
  cleared_at: number | null;
}

/** Named counters (`job_seq` hands out the jobs' FIFO sequence). */
export interface StoreCounterTable {
  name: string;
  value: number;
}

/**
 * One job (see src/jobs for the model and the state machine). JSON columns end in `_json`; times
 * are ms since epoch. `attempt` counts placements; runner updates are compare-and-set on
 * (`id`, `status`, `attempt`).
 */
export interface JobTable {
  id: string;
  /** FIFO sequence within a priority; also the listing cursor key. */
  seq: number;
  /** `pending | processing | completed | failed | cancelled` */
  status: string;
  /** `uploading | queued_on_instance | running | collecting` while processing, else null. */
  phase: string | null;
  cancel_requested: ColumnType<number, number | undefined, number>;
  priority: number;
  owner: string | null;
  /** `owner ?? ''` when an idempotency key is given, else null (unique with the key). */
  idempotency_scope: string | null;
  idempotency_key: string | null;
  /** sha256 of the canonical submission, to tell a replay from a different request. */
  request_hash: string | null;
  pin: string | null;
  tags_json: string;
  workflow_json: string;
  template_name: string | null;
  template_params_json: string | null;
  metadata_json: string;
  webhook_url: string | null;
  timeout_ms: number;
  max_attempts: number;
  attempt: ColumnType<number, number | undefined, number>;
  excluded_instances_json: ColumnType<string, string | undefined, string>;
  instance_id: string | null;
  progress_percent: number | null;
  progress_node: string | null;
  progress_step: number | null;
  progress_steps: number | null;
  progress_updated_at: number | null;
  error_code: string | null;
  error_message: string | null;
  error_node_id: string | null;
  error_node_class: string | null;
  error_exception_type: string | null;
  error_exception_message: string | null;
  error_details_json: string | null;
  retry_of: string | null;
  created_at: number;
  queued_at: number;
  started_at: number | null;
  completed_at: number | null;
  processing_time_ms: number | null;
  updated_at: number;
}

/** One placement of a job on an instance. */
export interface JobAttemptTable {
  job_id: string;
  n: number;
  instance_id: string;
  started_at: number;
  ended_at: number | null;
  /** `completed | failed | requeued | cancelled`, null while running. */
  outcome: string | null;
  error_code: string | null;
  error_message: string | null;
}

/** A stored input file, by content hash (sha256 hex). */
export interface InputTable {
  hash: string;
  size: number;
  mime: string;
  original_name: string;
  created_at: number;
  last_used_at: number;
}

/** A job's use of an input: one row per binding (node input), or per input when unbound. */
export interface JobInputTable {
  job_id: string;
  idx: number;
  hash: string;
  name: string;
  node_id: string | null;
  input_name: string | null;
}

/** Where an input already lives on an instance (so it is not uploaded again). */
export interface InstanceInputTable {
  instance_id: string;
  hash: string;
  name: string;
  subfolder: string;
  uploaded_at: number;
}

/** One recorded output of a completed job: a stored file, or a value (text). */
export interface JobOutputTable {
  job_id: string;
  idx: number;
  node_id: string;
  /** The key in the node's UI output: `images`, `audio`, `text`, ... */
  output_key: string;
  /** `file | value` */
  kind: string;
  filename: string | null;
  subfolder: string | null;
  type: string | null;
  size: number | null;
  sha256: string | null;
  mime: string | null;
  /** Relative to the output store root. */
  stored_path: string | null;
  value_json: string | null;
  created_at: number;
}

/** A stored workflow with named parameters. */
export interface TemplateTable {
  name: string;
  description: ColumnType<string, string | undefined, string>;
  workflow_json: string;
  parameters_json: string;
  variants_json: ColumnType<string, string | undefined, string>;
  /** `file | api | builtin` */
  source: string;
  created_at: number;
  updated_at: number;
}

/** Append-only log of what happened to a job (for SSE replay); pruned with the job. */
export interface JobEventTable {
  id: Generated<number>;
  job_id: string;
  at: number;
  type: string;
  data_json: ColumnType<string, string | undefined, string>;
}

/** Every table of the store. */
export interface Database {
  instance_health_samples: InstanceHealthSampleTable;
  instance_stats: InstanceStatsTable;
  instance_alerts: InstanceAlertTable;
  store_counters: StoreCounterTable;
  jobs: JobTable;
  job_attempts: JobAttemptTable;
  inputs: InputTable;
  job_inputs: JobInputTable;
  instance_inputs: InstanceInputTable;
  job_outputs: JobOutputTable;
  templates: TemplateTable;
  job_events: JobEventTable;
  api_keys: ApiKeyTable;
}

export type HealthSampleRow = Selectable<InstanceHealthSampleTable>;
export type NewHealthSampleRow = Insertable<InstanceHealthSampleTable>;
export type InstanceStatsRow = Selectable<InstanceStatsTable>;
export type InstanceStatsUpdate = Updateable<InstanceStatsTable>;
export type AlertRow = Selectable<InstanceAlertTable>;
export type JobRow = Selectable<JobTable>;
export type NewJobRow = Insertable<JobTable>;
export type JobAttemptRow = Selectable<JobAttemptTable>;
export type InputRow = Selectable<InputTable>;
export type JobInputRow = Selectable<JobInputTable>;
export type InstanceInputRow = Selectable<InstanceInputTable>;
export type JobOutputRow = Selectable<JobOutputTable>;
export type TemplateRow = Selectable<TemplateTable>;
export type JobEventRow = Selectable<JobEventTable>;
