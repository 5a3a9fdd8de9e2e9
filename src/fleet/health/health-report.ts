import type { ConnectionState } from '../../comfy/index.js';
import type {
  ConnectionFailureKind,
  DeviceSummary,
  InstanceHealthSnapshot,
} from '../health-types.js';
import type { JobStatsView } from './job-stats.js';

/** Named reasons for `degraded` (answers, but ...) and `unhealthy` (circuit open). */
export type HealthReasonCode = 'slow_response' | 'low_vram' | 'job_failure_rate' | 'circuit_open';

/** One reason, with the figure that triggered it and the threshold it crossed. */
export interface HealthReason {
  code: HealthReasonCode;
  message: string;
  value: number | null;
  threshold: number | null;
}

/**
 * Everything the monitor knows about one instance: the snapshot of the fleet's seam plus the
 * figures. Times are ISO-8601, sizes in bytes, durations in ms. JSON-serialisable.
 */
export interface InstanceHealthReport extends InstanceHealthSnapshot {
  instance_id: string;
  /** Structured form of `reasons` (same order). */
  reason_details: HealthReason[];
  /** Kind of the last failure (checks and reported dispatches), null before any. */
  last_error_kind: ConnectionFailureKind | null;
  last_error_at: string | null;
  /** Response time of checks: last successful one and its moving average (EWMA). */
  response_ms: { last: number | null; avg: number | null };
  /** From /queue at the last successful check (every client's prompts, not only ours). */
  queue: { running: number; pending: number } | null;
  ram: { total: number; free: number } | null;
  devices: DeviceSummary[];
  python_version: string | null;
  pytorch_version: string | null;
  /** Failed checks plus failed dispatches reported, since monitoring began. */
  error_count: number;
  checks: { total: number; failed: number };
  last_healthy_at: string | null;
  /** ms since the instance was last healthy or degraded (null if never). */
  since_last_healthy_ms: number | null;
  /** State of the instance's WebSocket. */
  events_connection: ConnectionState;
  jobs: JobStatsView;
  capabilities_fetched_at: string | null;
}
