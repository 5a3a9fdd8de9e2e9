import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

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

/** Every table of the store. Jobs tables are added by later migrations. */
export interface Database {
  instance_health_samples: InstanceHealthSampleTable;
  instance_stats: InstanceStatsTable;
  instance_alerts: InstanceAlertTable;
}

export type HealthSampleRow = Selectable<InstanceHealthSampleTable>;
export type NewHealthSampleRow = Insertable<InstanceHealthSampleTable>;
export type InstanceStatsRow = Selectable<InstanceStatsTable>;
export type InstanceStatsUpdate = Updateable<InstanceStatsTable>;
export type AlertRow = Selectable<InstanceAlertTable>;
