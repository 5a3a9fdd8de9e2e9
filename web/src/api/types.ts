/**
 * Shapes of the gateway's REST API as the dashboard reads them. They mirror the TypeBox schemas
 * of src/fleet (instance model, health report), src/jobs (job model, templates) and src/api
 * (routes); nothing is generated. JSON is snake_case, times are ISO-8601 strings on the API.
 */

export const INSTANCE_STATUSES = [
  'stopped',
  'starting',
  'running',
  'paused',
  'stopping',
  'error',
] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

export const INSTANCE_HEALTH_STATES = ['unknown', 'healthy', 'degraded', 'unhealthy'] as const;
export type InstanceHealth = (typeof INSTANCE_HEALTH_STATES)[number];

export type AuthType = 'bearer' | 'basic' | 'header';

/** Credentials as sent when creating or editing an instance (never returned). */
export type InstanceAuth =
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'header'; name: string; value: string };

export interface PathMapping {
  local: string;
  remote: string;
}

/** An instance as the API returns it (src/fleet/events.ts InstanceView). */
export interface InstanceView {
  id: string;
  name: string;
  description: string;
  host: string;
  port: number;
  tls: boolean;
  auth: { type: AuthType; redacted: true } | null;
  kind: 'remote' | 'managed';
  gpu_device: string | null;
  env_vars: Record<string, string>;
  custom_nodes_path: string | null;
  max_concurrent: number;
  prefetch: number;
  timeout_ms: number;
  priority: number;
  tags: string[];
  enabled: boolean;
  auto_start: boolean;
  path_map: PathMapping[];
  created_at: string;
  last_used_at: string | null;
  source: 'file' | 'env' | 'api';
  status: InstanceStatus;
  status_reason: string | null;
  active: boolean;
  origin: string | null;
  /** Health word from the monitor (absent in event payloads, which carry the registry view). */
  health?: InstanceHealth;
  health_details?: HealthDetails;
  figures?: InstanceFigures;
}

/** The monitor's snapshot without the state itself (GET /api/v1/instances items). */
export interface HealthDetails {
  circuit: 'closed' | 'open' | 'half_open';
  reasons: string[];
  checked_at: string | null;
  latency_ms: number | null;
  consecutive_failures: number;
  last_error: string | null;
  next_probe_at: string | null;
  comfyui_version: string | null;
  vram_free: number | null;
  vram_total: number | null;
  /** GPUs (or the CPU) at the last successful check; absent on older gateways. */
  devices?: Array<{ name: string; type: string; vram_total: number; vram_free: number }>;
}

/** GET /api/v1/instances/ports: can a managed instance listen on this port of the gateway host? */
export interface PortAvailability {
  port: number;
  host: string;
  available: boolean;
  /** Why not, in words. */
  reason: string | null;
  /** The process listening there, when the gateway could find it. */
  holder?: { pid: number; command: string };
  /** A configured instance on the gateway host with that port. */
  used_by?: { id: string; name: string };
  /** The first free port from `port` upward that no local instance uses. */
  suggested: number | null;
}

/** Work figures of an instance. */
export interface InstanceFigures {
  in_flight: number;
  instance_queue: { running: number; pending: number } | null;
  jobs_total: number;
  jobs_succeeded: number;
  jobs_failed: number;
  avg_run_ms: number | null;
  last_job_at: string | null;
}

/** GET /api/v1/instances/{id}: the item plus the monitor's full report. */
export interface InstanceDetail extends InstanceView {
  report: InstanceHealthReport | null;
}

/** What a client sends to create an instance (InstanceCreateSchema). */
export interface InstanceCreate {
  id?: string;
  name?: string;
  description?: string;
  host: string;
  port?: number;
  tls?: boolean;
  auth?: InstanceAuth;
  kind?: 'remote' | 'managed';
  gpu_device?: string | null;
  env_vars?: Record<string, string>;
  custom_nodes_path?: string | null;
  max_concurrent?: number;
  prefetch?: number;
  timeout_ms?: number;
  priority?: number;
  tags?: string[];
  enabled?: boolean;
  auto_start?: boolean;
  path_map?: PathMapping[];
}

/** A partial update (InstanceUpdateSchema); `auth: null` removes the credentials. */
export type InstanceUpdate = Omit<Partial<InstanceCreate>, 'id' | 'auth'> & {
  auth?: InstanceAuth | null;
};

export interface DeviceSummary {
  name: string;
  type: string;
  index: number | null;
  vram_total: number;
  vram_free: number;
}

export interface HealthReason {
  code: string;
  message: string;
  value: number | null;
  threshold: number | null;
}

export interface JobStatsView {
  total: number;
  succeeded: number;
  failed: number;
  avg_execution_ms: number | null;
  last_error: string | null;
  last_error_at: string | null;
  last_job_at: string | null;
  recent_failure_rate: number | null;
  recent_errors: number;
}

/** src/fleet/health/health-report.ts */
export interface InstanceHealthReport {
  instance_id: string;
  health: InstanceHealth;
  circuit: 'closed' | 'open' | 'half_open';
  reasons: string[];
  reason_details?: HealthReason[];
  checked_at: string | null;
  latency_ms: number | null;
  consecutive_failures: number;
  last_error: string | null;
  last_error_kind?: string | null;
  last_error_at?: string | null;
  next_probe_at: string | null;
  comfyui_version: string | null;
  vram_free: number | null;
  vram_total: number | null;
  response_ms?: { last: number | null; avg: number | null };
  queue?: { running: number; pending: number } | null;
  ram?: { total: number; free: number } | null;
  devices?: DeviceSummary[];
  error_count?: number;
  checks?: { total: number; failed: number };
  last_healthy_at?: string | null;
  events_connection?: string;
  jobs?: JobStatsView;
}

/** One stored health sample (GET /api/v1/instances/{id}/health). */
export interface HealthSample {
  sampled_at: string;
  health: string;
  ok: boolean;
  latency_ms: number | null;
  queue_running?: number | null;
  queue_pending?: number | null;
  vram_free: number | null;
  vram_total: number | null;
  error: string | null;
}

/** "Test connection": what answered, or exactly why nothing usable did. */
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
      kind: string;
      message: string;
      status?: number;
      round_trip_ms?: number;
    };

export interface ConfigWarning {
  code: string;
  source: string;
  message: string;
  position?: { offset: number; line: number; column: number };
}

export const JOB_STATUSES = ['pending', 'processing', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export type JobPhase = 'uploading' | 'queued_on_instance' | 'running' | 'collecting';

export interface JobProgress {
  percent: number | null;
  node: string | null;
  step: number | null;
  steps: number | null;
  updated_at?: number | string | null;
}

export interface JobErrorInfo {
  code: string;
  message: string;
  node_id: string | null;
  node_class: string | null;
  exception_type: string | null;
  exception_message: string | null;
  details: Record<string, unknown> | null;
}

export interface JobOutput {
  index: number;
  node_id: string;
  output_key: string;
  kind: 'file' | 'value';
  filename: string | null;
  subfolder: string | null;
  type: string | null;
  size: number | null;
  mime: string | null;
  value?: unknown;
  url?: string | null;
}

/** A job as the API shows it (src/jobs/job-model.ts, times as ISO-8601). */
export interface JobView {
  id: string;
  status: JobStatus;
  phase: JobPhase | null;
  cancel_requested?: boolean;
  priority: number;
  owner: string | null;
  pin: string | null;
  tags: string[];
  workflow?: Record<string, unknown>;
  template: { name: string; params: Record<string, unknown> } | null;
  metadata?: Record<string, unknown>;
  timeout_ms?: number;
  max_attempts?: number;
  attempts: number;
  instance_id: string | null;
  progress: JobProgress | null;
  error: JobErrorInfo | null;
  retry_of: string | null;
  created_at: string;
  queued_at?: string;
  started_at: string | null;
  completed_at: string | null;
  processing_time_ms: number | null;
  updated_at?: string;
  outputs?: JobOutput[];
  queue_position?: number | null;
}

export interface JobEvent {
  id: number;
  job_id: string;
  at: string | number;
  type: string;
  data: Record<string, unknown>;
}

export interface JobList {
  jobs: JobView[];
  next_cursor: string | null;
}

export interface JobAccepted {
  job_id: string;
  status: JobStatus;
  queue_position?: number | null;
  estimated_completion_seconds?: number | null;
}

export type TemplateParameterType =
  | 'image'
  | 'string'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'choice';

export interface TemplateParameter {
  node: string;
  input: string;
  type: TemplateParameterType;
  default?: unknown;
  required?: boolean;
  description?: string;
  min?: number;
  max?: number;
  choices?: Array<string | number>;
}

export interface TemplateView {
  name: string;
  description: string;
  parameters: Record<string, TemplateParameter>;
  source?: string;
}

/** A field problem as the gateway reports it in `error.details`. */
export interface FieldError {
  path: string;
  message: string;
}
