import type { InstanceConnection } from './connection.js';

/**
 * Types the health monitor, circuit breaker, stats and test-connection (next issue) fill in.
 * Only the shapes live here; nothing in this module checks anything yet.
 */

/** DESIGN vocabulary. `unhealthy` = circuit open; `degraded` = answers, but slow / low VRAM / failing jobs. */
export const INSTANCE_HEALTH_STATES = ['unknown', 'healthy', 'degraded', 'unhealthy'] as const;
export type InstanceHealth = (typeof INSTANCE_HEALTH_STATES)[number];

/** Circuit breaker position of one instance. */
export type CircuitState = 'closed' | 'open' | 'half_open';

/** What the health monitor knows about one instance right now. Times are ISO-8601. */
export interface InstanceHealthSnapshot {
  health: InstanceHealth;
  circuit: CircuitState;
  /** Why the instance is degraded or unhealthy (empty when healthy). */
  reasons: string[];
  checked_at: string | null;
  /** Round trip of the last successful check. */
  latency_ms: number | null;
  consecutive_failures: number;
  last_error: string | null;
  /** When an open circuit is probed next. */
  next_probe_at: string | null;
  comfyui_version: string | null;
  /** Free / total VRAM of the instance's first device, in bytes. */
  vram_free: number | null;
  vram_total: number | null;
}

/** The snapshot of an instance nobody has checked yet. */
export const UNKNOWN_HEALTH: Readonly<InstanceHealthSnapshot> = Object.freeze({
  health: 'unknown',
  circuit: 'closed',
  reasons: [],
  checked_at: null,
  latency_ms: null,
  consecutive_failures: 0,
  last_error: null,
  next_probe_at: null,
  comfyui_version: null,
  vram_free: null,
  vram_total: null,
});

/** Per-instance figures for placement and the dashboard. */
export interface InstanceFigures {
  /** Prompts of ours running on the instance. */
  running: number;
  /** Prompts of ours queued on the instance (prefetch). */
  queued: number;
  jobs_total: number;
  jobs_succeeded: number;
  jobs_failed: number;
  /** Mean run time of completed jobs, null until one completed. */
  avg_run_ms: number | null;
  last_job_at: string | null;
}

/** Why a connection test failed, in the user's terms. */
export type ConnectionFailureKind =
  | 'dns'
  | 'refused'
  | 'timeout'
  | 'tls'
  | 'http_status'
  | 'not_comfyui'
  | 'network';

/** One GPU/CPU device as `/system_stats` reports it. */
export interface DeviceSummary {
  name: string;
  type: string;
  index: number | null;
  vram_total: number;
  vram_free: number;
}

/** Result of "test connection": what answered, or exactly why nothing (usable) did. */
export type ConnectionTestResult =
  | {
      ok: true;
      comfyui_version: string;
      python_version: string | null;
      pytorch_version: string | null;
      devices: DeviceSummary[];
      round_trip_ms: number;
    }
  | {
      ok: false;
      kind: ConnectionFailureKind;
      message: string;
      /** HTTP status for `http_status` (and `not_comfyui` when there was one). */
      status?: number;
      round_trip_ms?: number;
    };

/** Seam for the health monitor: the registry and API read health through this. */
export interface HealthSource {
  health(instanceId: string): InstanceHealthSnapshot;
}

/** Seam for the ComfyUI client: runs `/system_stats` against an instance. */
export interface ConnectionTester {
  test(connection: InstanceConnection, signal?: AbortSignal): Promise<ConnectionTestResult>;
}
