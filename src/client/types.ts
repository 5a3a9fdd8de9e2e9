/**
 * The gateway's REST wire types: the one home of the shapes of `/api/v1` and `/health` as clients
 * read them (the SDK, the CLI and the dashboard, which re-exports this file). JSON is snake_case,
 * times are ISO-8601 strings. `schemas.ts` holds the same shapes as TypeBox schemas (checked equal
 * at compile time), and `wire-conformance.test.ts` checks them against a live gateway.
 *
 * No imports: this file is read by the browser build too.
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

export const AUTH_TYPES = ['bearer', 'basic', 'header'] as const;
export type AuthType = (typeof AUTH_TYPES)[number];

export const CIRCUIT_STATES = ['closed', 'open', 'half_open'] as const;
export type CircuitState = (typeof CIRCUIT_STATES)[number];

/** Credentials as sent when creating or editing an instance (never returned). */
export type InstanceAuth =
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'header'; name: string; value: string };

export interface PathMapping {
  local: string;
  remote: string;
}

/** One GPU (or the CPU) of an instance, as the instance list shows it. */
export interface DeviceBrief {
  name: string;
  type: string;
  vram_total: number;
  vram_free: number;
}

/** An instance as the API returns it (GET /api/v1/instances items, actions, create, update). */
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
  circuit: CircuitState;
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
  devices?: DeviceBrief[];
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

/** What a client sends to create an instance (the fleet's InstanceCreateSchema). */
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

/** The health monitor's full report of one instance (GET /api/v1/instances/{id} `report`). */
export interface InstanceHealthReport {
  instance_id: string;
  health: InstanceHealth;
  circuit: CircuitState;
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
  python_version?: string | null;
  pytorch_version?: string | null;
  error_count?: number;
  checks?: { total: number; failed: number };
  last_healthy_at?: string | null;
  since_last_healthy_ms?: number | null;
  events_connection?: string;
  jobs?: JobStatsView;
  capabilities_fetched_at?: string | null;
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
      os?: string;
      ram_total?: number;
      ram_free?: number;
      vram_total?: number;
      vram_free?: number;
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

/** POST /api/v1/instances/import: what changed (all of the document or nothing). */
export interface ImportSummary {
  added: string[];
  updated: string[];
  removed: string[];
  /** The document's version when it was migrated forward, else null. */
  migrated_from: string | null;
}

/** GET /api/v1/instances/{id}/logs: the last lines of a managed instance's log. */
export interface InstanceLogs {
  instance_id: string;
  lines: string[];
}

/** One instance in GET /health. */
export interface GatewayInstanceHealth {
  id: string;
  name: string;
  /** host:port */
  host: string;
  healthy: boolean;
  health: string;
  status: string;
  active_jobs: number;
  last_check: string | null;
}

/** GET /health (200 `healthy`, 503 `degraded` when no instance is healthy). */
export interface GatewayHealth {
  status: 'healthy' | 'degraded';
  timestamp: string;
  /** Seconds the gateway process has run. */
  uptime: number;
  comfyui_instances: GatewayInstanceHealth[];
  warnings: ConfigWarning[];
}

export const JOB_STATUSES = ['pending', 'processing', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const JOB_PHASES = ['uploading', 'queued_on_instance', 'running', 'collecting'] as const;
export type JobPhase = (typeof JOB_PHASES)[number];

/** Statuses a job never leaves. */
export const FINISHED_JOB_STATUSES = ['completed', 'failed', 'cancelled'] as const;

export interface JobProgress {
  percent: number | null;
  node: string | null;
  step: number | null;
  steps: number | null;
  /** ms since epoch of the last progress write. */
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

/** A recorded output: a file copied into the gateway's output store, or a value a node showed. */
export interface JobOutput {
  index: number;
  node_id: string;
  output_key: string;
  kind: 'file' | 'value';
  filename: string | null;
  subfolder: string | null;
  type: string | null;
  size: number | null;
  /** sha256 of the stored file (hex); null for values. */
  sha256?: string | null;
  mime: string | null;
  value?: unknown;
  /** `/api/v1/jobs/{id}/outputs/{n}` for files, null for values. */
  url?: string | null;
}

/** The latest webhook delivery of a job. */
export interface WebhookDelivery {
  id: string;
  event: string;
  url: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
}

/**
 * A job as the API shows it (times ISO-8601). GET /api/v1/jobs/{id} adds `outputs` and `webhook`;
 * list items and event payloads have neither.
 */
export interface JobView {
  id: string;
  status: JobStatus;
  phase: JobPhase | null;
  cancel_requested?: boolean;
  priority: number;
  /** FIFO sequence (also the listing order). */
  seq?: number;
  owner: string | null;
  pin: string | null;
  tags: string[];
  workflow?: Record<string, unknown>;
  template: { name: string; params: Record<string, unknown> } | null;
  idempotency_key?: string | null;
  metadata?: Record<string, unknown>;
  webhook_url?: string | null;
  timeout_ms?: number;
  max_attempts?: number;
  attempts: number;
  /** Instances this job failed on (not placed there again). */
  excluded_instances?: string[];
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
  webhook?: WebhookDelivery | null;
}

/** GET /api/v1/jobs */
export interface JobList {
  jobs: JobView[];
  next_cursor: string | null;
}

/**
 * 202 of POST /api/v1/jobs, /templates/{name}/run, /jobs/{id}/cancel and /jobs/{id}/retry. `job`
 * is the job as it was accepted (submit, retry); cancel adds `cancel_requested`, retry `retry_of`.
 */
export interface Accepted {
  job_id: string;
  status: JobStatus;
  queue_position: number | null;
  estimated_completion_seconds: number | null;
  cancel_requested?: boolean;
  retry_of?: string;
  job?: JobView;
}

/** The dashboard's older name of {@link Accepted}. */
export type JobAccepted = Accepted;

/**
 * What a job event carries besides its job id. Fields depend on the type (and more may come):
 * `status` is the job's status on `job.created` / `job.status` (a delivery status on `job.webhook`).
 */
export interface JobEventData {
  job_id: string;
  status?: string;
  phase?: JobPhase | null;
  attempt?: number;
  instance_id?: string | null;
  percent?: number | null;
  node?: string | null;
  step?: number | null;
  steps?: number | null;
  /** Number of outputs (`job.status` completed). */
  outputs?: number;
  error?: JobErrorInfo | null;
}

/**
 * One event of GET /api/v1/jobs/{id}/events (SSE): `id` is the job's event log id (use it as
 * Last-Event-ID), `type` is `job.created`, `job.status`, `job.phase`, `job.progress`,
 * `job.cancel_requested` or `job.webhook`. A `job.status` event with a finished status is the
 * last one.
 */
export interface JobEvent {
  id: number;
  type: string;
  time: string;
  data: JobEventData;
}

/** The payload of a `job.progress` event, as `wait({ onProgress })` hands it over. */
export interface JobProgressUpdate {
  job_id: string;
  attempt: number | null;
  percent: number | null;
  node: string | null;
  step: number | null;
  steps: number | null;
}

/** One event of GET /api/v1/events (SSE): instance, health, alert and job events. */
export interface ClusterEvent {
  id: number;
  type: string;
  time: string;
  data: unknown;
}

export const TEMPLATE_PARAMETER_TYPES = [
  'image',
  'string',
  'integer',
  'number',
  'boolean',
  'choice',
] as const;
export type TemplateParameterType = (typeof TEMPLATE_PARAMETER_TYPES)[number];

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

/** Another workflow, used when the optional parameter `when` is given. */
export interface TemplateVariant {
  when: string;
  workflow: Record<string, unknown>;
  description?: string;
}

/** A template as POST/PUT /api/v1/templates take it. */
export interface TemplateDefinition {
  name: string;
  description?: string;
  workflow: Record<string, unknown>;
  parameters?: Record<string, TemplateParameter>;
  variants?: TemplateVariant[];
}

/** A stored template (GET /api/v1/templates items). */
export interface TemplateView {
  name: string;
  description: string;
  workflow: Record<string, unknown>;
  parameters: Record<string, TemplateParameter>;
  variants: TemplateVariant[];
  source: 'file' | 'api' | 'builtin';
  created_at: string;
  updated_at: string;
}

export const API_KEY_ROLES = ['user', 'admin'] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

/** An API key as GET /api/v1/keys lists it (never the key or its hash). */
export interface ApiKeyView {
  id: string;
  name: string | null;
  role: ApiKeyRole;
  /** The key's first characters (`cck_` + 8). */
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** POST /api/v1/keys: the new key, with the secret shown this once. */
export interface CreatedApiKey extends ApiKeyView {
  key: string;
}

/** A field problem as the gateway reports it in `error.details`. */
export interface FieldError {
  path: string;
  message: string;
}

/** The body of every error answer of the native API. */
export interface ErrorBody {
  error: { code: string; message: string; details: unknown };
}
