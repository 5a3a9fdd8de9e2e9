/**
 * The wire types of `types.ts` as TypeBox schemas, for checking answers at run time (the
 * conformance test does, against a live gateway). Each schema is checked equal to its type at
 * compile time, so the two cannot drift apart; objects refuse unknown fields, so a field the
 * server adds fails the check too.
 *
 * @example
 * import { Value } from 'typebox/value';
 * Value.Check(JobViewSchema, await (await fetch(`${url}/api/v1/jobs/${id}`)).json()); // true
 */
import { type Static, type TSchema, Type } from 'typebox';
import type * as W from './types.js';
import {
  API_KEY_ROLES,
  AUTH_TYPES,
  CIRCUIT_STATES,
  INSTANCE_HEALTH_STATES,
  INSTANCE_STATUSES,
  JOB_PHASES,
  JOB_STATUSES,
  TEMPLATE_PARAMETER_TYPES,
} from './types.js';

const strict = { additionalProperties: false } as const;
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Time = Type.String({ description: 'ISO-8601' });
const NullableTime = Nullable(Time);
const NullableNumber = Nullable(Type.Number());
const NullableString = Nullable(Type.String());
const Queue = Type.Object({ running: Type.Integer(), pending: Type.Integer() }, strict);
const AnyRecord = Type.Record(Type.String(), Type.Unknown());

export const PathMappingSchema = Type.Object(
  { local: Type.String(), remote: Type.String() },
  strict,
);

export const DeviceBriefSchema = Type.Object(
  {
    name: Type.String(),
    type: Type.String(),
    vram_total: Type.Number(),
    vram_free: Type.Number(),
  },
  strict,
);

export const DeviceSummarySchema = Type.Object(
  {
    name: Type.String(),
    type: Type.String(),
    index: Nullable(Type.Integer()),
    vram_total: Type.Number(),
    vram_free: Type.Number(),
  },
  strict,
);

export const HealthDetailsSchema = Type.Object(
  {
    circuit: Type.Enum(CIRCUIT_STATES),
    reasons: Type.Array(Type.String()),
    checked_at: NullableTime,
    latency_ms: NullableNumber,
    consecutive_failures: Type.Integer(),
    last_error: NullableString,
    next_probe_at: NullableTime,
    comfyui_version: NullableString,
    vram_free: NullableNumber,
    vram_total: NullableNumber,
    devices: Type.Optional(Type.Array(DeviceBriefSchema)),
  },
  strict,
);

export const InstanceFiguresSchema = Type.Object(
  {
    in_flight: Type.Integer(),
    instance_queue: Nullable(Queue),
    jobs_total: Type.Integer(),
    jobs_succeeded: Type.Integer(),
    jobs_failed: Type.Integer(),
    avg_run_ms: NullableNumber,
    last_job_at: NullableTime,
  },
  strict,
);

const instanceFields = {
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  host: Type.String(),
  port: Type.Integer(),
  tls: Type.Boolean(),
  auth: Nullable(
    Type.Object({ type: Type.Enum(AUTH_TYPES), redacted: Type.Literal(true) }, strict),
  ),
  kind: Type.Enum(['remote', 'managed'] as const),
  gpu_device: NullableString,
  env_vars: Type.Record(Type.String(), Type.String()),
  custom_nodes_path: NullableString,
  max_concurrent: Type.Integer(),
  prefetch: Type.Integer(),
  timeout_ms: Type.Integer(),
  priority: Type.Integer(),
  tags: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  auto_start: Type.Boolean(),
  path_map: Type.Array(PathMappingSchema),
  created_at: Time,
  last_used_at: NullableTime,
  source: Type.Enum(['file', 'env', 'api'] as const),
  status: Type.Enum(INSTANCE_STATUSES),
  status_reason: NullableString,
  active: Type.Boolean(),
  origin: NullableString,
  health: Type.Optional(Type.Enum(INSTANCE_HEALTH_STATES)),
  health_details: Type.Optional(HealthDetailsSchema),
  figures: Type.Optional(InstanceFiguresSchema),
};

export const InstanceViewSchema = Type.Object(instanceFields, strict);

export const HealthReasonSchema = Type.Object(
  {
    code: Type.String(),
    message: Type.String(),
    value: NullableNumber,
    threshold: NullableNumber,
  },
  strict,
);

export const JobStatsViewSchema = Type.Object(
  {
    total: Type.Integer(),
    succeeded: Type.Integer(),
    failed: Type.Integer(),
    avg_execution_ms: NullableNumber,
    last_error: NullableString,
    last_error_at: NullableTime,
    last_job_at: NullableTime,
    recent_failure_rate: NullableNumber,
    recent_errors: Type.Integer(),
  },
  strict,
);

export const InstanceHealthReportSchema = Type.Object(
  {
    instance_id: Type.String(),
    health: Type.Enum(INSTANCE_HEALTH_STATES),
    circuit: Type.Enum(CIRCUIT_STATES),
    reasons: Type.Array(Type.String()),
    reason_details: Type.Optional(Type.Array(HealthReasonSchema)),
    checked_at: NullableTime,
    latency_ms: NullableNumber,
    consecutive_failures: Type.Integer(),
    last_error: NullableString,
    last_error_kind: Type.Optional(NullableString),
    last_error_at: Type.Optional(NullableTime),
    next_probe_at: NullableTime,
    comfyui_version: NullableString,
    vram_free: NullableNumber,
    vram_total: NullableNumber,
    response_ms: Type.Optional(Type.Object({ last: NullableNumber, avg: NullableNumber }, strict)),
    queue: Type.Optional(Nullable(Queue)),
    ram: Type.Optional(
      Nullable(Type.Object({ total: Type.Number(), free: Type.Number() }, strict)),
    ),
    devices: Type.Optional(Type.Array(DeviceSummarySchema)),
    python_version: Type.Optional(NullableString),
    pytorch_version: Type.Optional(NullableString),
    error_count: Type.Optional(Type.Integer()),
    checks: Type.Optional(Type.Object({ total: Type.Integer(), failed: Type.Integer() }, strict)),
    last_healthy_at: Type.Optional(NullableTime),
    since_last_healthy_ms: Type.Optional(NullableNumber),
    events_connection: Type.Optional(Type.String()),
    jobs: Type.Optional(JobStatsViewSchema),
    capabilities_fetched_at: Type.Optional(NullableTime),
  },
  strict,
);

export const InstanceDetailSchema = Type.Object(
  { ...instanceFields, report: Nullable(InstanceHealthReportSchema) },
  strict,
);

export const ConnectionTestResultSchema = Type.Union([
  Type.Object(
    {
      ok: Type.Literal(true),
      comfyui_version: Type.String(),
      python_version: NullableString,
      pytorch_version: NullableString,
      devices: Type.Array(DeviceSummarySchema),
      round_trip_ms: Type.Number(),
      os: Type.Optional(Type.String()),
      ram_total: Type.Optional(Type.Number()),
      ram_free: Type.Optional(Type.Number()),
      vram_total: Type.Optional(Type.Number()),
      vram_free: Type.Optional(Type.Number()),
    },
    strict,
  ),
  Type.Object(
    {
      ok: Type.Literal(false),
      kind: Type.String(),
      message: Type.String(),
      status: Type.Optional(Type.Integer()),
      round_trip_ms: Type.Optional(Type.Number()),
    },
    strict,
  ),
]);

export const ConfigWarningSchema = Type.Object(
  {
    code: Type.String(),
    source: Type.String(),
    message: Type.String(),
    position: Type.Optional(
      Type.Object({ offset: Type.Integer(), line: Type.Integer(), column: Type.Integer() }, strict),
    ),
  },
  strict,
);

export const ImportSummarySchema = Type.Object(
  {
    added: Type.Array(Type.String()),
    updated: Type.Array(Type.String()),
    removed: Type.Array(Type.String()),
    migrated_from: NullableString,
  },
  strict,
);

export const InstanceLogsSchema = Type.Object(
  { instance_id: Type.String(), lines: Type.Array(Type.String()) },
  strict,
);

export const GatewayInstanceHealthSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    host: Type.String(),
    healthy: Type.Boolean(),
    health: Type.String(),
    status: Type.String(),
    active_jobs: Type.Integer(),
    last_check: NullableTime,
  },
  strict,
);

export const GatewayHealthSchema = Type.Object(
  {
    status: Type.Enum(['healthy', 'degraded'] as const),
    timestamp: Time,
    uptime: Type.Number(),
    comfyui_instances: Type.Array(GatewayInstanceHealthSchema),
    warnings: Type.Array(ConfigWarningSchema),
  },
  strict,
);

export const JobProgressSchema = Type.Object(
  {
    percent: NullableNumber,
    node: NullableString,
    step: Nullable(Type.Integer()),
    steps: Nullable(Type.Integer()),
    updated_at: Type.Optional(Type.Union([Type.Number(), Type.String(), Type.Null()])),
  },
  strict,
);

export const JobErrorInfoSchema = Type.Object(
  {
    code: Type.String(),
    message: Type.String(),
    node_id: NullableString,
    node_class: NullableString,
    exception_type: NullableString,
    exception_message: NullableString,
    details: Nullable(AnyRecord),
  },
  strict,
);

export const JobOutputSchema = Type.Object(
  {
    index: Type.Integer(),
    node_id: Type.String(),
    output_key: Type.String(),
    kind: Type.Enum(['file', 'value'] as const),
    filename: NullableString,
    subfolder: NullableString,
    type: NullableString,
    size: Nullable(Type.Integer()),
    sha256: Type.Optional(NullableString),
    mime: NullableString,
    value: Type.Optional(Type.Unknown()),
    url: Type.Optional(NullableString),
  },
  strict,
);

export const WebhookDeliverySchema = Type.Object(
  {
    id: Type.String(),
    event: Type.String(),
    url: Type.String(),
    status: Type.Enum(['pending', 'delivered', 'failed'] as const),
    attempts: Type.Integer(),
    last_status_code: Nullable(Type.Integer()),
    last_error: NullableString,
    next_attempt_at: NullableTime,
    delivered_at: NullableTime,
  },
  strict,
);

export const JobViewSchema = Type.Object(
  {
    id: Type.String(),
    status: Type.Enum(JOB_STATUSES),
    phase: Nullable(Type.Enum(JOB_PHASES)),
    cancel_requested: Type.Optional(Type.Boolean()),
    priority: Type.Integer(),
    seq: Type.Optional(Type.Integer()),
    owner: NullableString,
    pin: NullableString,
    tags: Type.Array(Type.String()),
    workflow: Type.Optional(AnyRecord),
    template: Nullable(Type.Object({ name: Type.String(), params: AnyRecord }, strict)),
    idempotency_key: Type.Optional(NullableString),
    metadata: Type.Optional(AnyRecord),
    webhook_url: Type.Optional(NullableString),
    timeout_ms: Type.Optional(Type.Integer()),
    max_attempts: Type.Optional(Type.Integer()),
    attempts: Type.Integer(),
    excluded_instances: Type.Optional(Type.Array(Type.String())),
    instance_id: NullableString,
    progress: Nullable(JobProgressSchema),
    error: Nullable(JobErrorInfoSchema),
    retry_of: NullableString,
    created_at: Time,
    queued_at: Type.Optional(Time),
    started_at: NullableTime,
    completed_at: NullableTime,
    processing_time_ms: Nullable(Type.Integer()),
    updated_at: Type.Optional(Time),
    outputs: Type.Optional(Type.Array(JobOutputSchema)),
    webhook: Type.Optional(Nullable(WebhookDeliverySchema)),
  },
  strict,
);

export const JobListSchema = Type.Object(
  { jobs: Type.Array(JobViewSchema), next_cursor: NullableString },
  strict,
);

export const AcceptedSchema = Type.Object(
  {
    job_id: Type.String(),
    status: Type.Enum(JOB_STATUSES),
    queue_position: Nullable(Type.Integer()),
    estimated_completion_seconds: NullableNumber,
    cancel_requested: Type.Optional(Type.Boolean()),
    retry_of: Type.Optional(Type.String()),
    job: Type.Optional(JobViewSchema),
  },
  strict,
);

export const JobEventDataSchema = Type.Object(
  {
    job_id: Type.String(),
    status: Type.Optional(Type.String()),
    phase: Type.Optional(Nullable(Type.Enum(JOB_PHASES))),
    attempt: Type.Optional(Type.Integer()),
    instance_id: Type.Optional(NullableString),
    percent: Type.Optional(NullableNumber),
    node: Type.Optional(NullableString),
    step: Type.Optional(Nullable(Type.Integer())),
    steps: Type.Optional(Nullable(Type.Integer())),
    outputs: Type.Optional(Type.Integer()),
    error: Type.Optional(Nullable(JobErrorInfoSchema)),
  },
  { additionalProperties: true },
);

export const JobEventSchema = Type.Object(
  { id: Type.Integer(), type: Type.String(), time: Time, data: JobEventDataSchema },
  strict,
);

export const ClusterEventSchema = Type.Object(
  { id: Type.Integer(), type: Type.String(), time: Time, data: Type.Unknown() },
  strict,
);

export const TemplateParameterSchema = Type.Object(
  {
    node: Type.String(),
    input: Type.String(),
    type: Type.Enum(TEMPLATE_PARAMETER_TYPES),
    default: Type.Optional(Type.Unknown()),
    required: Type.Optional(Type.Boolean()),
    description: Type.Optional(Type.String()),
    min: Type.Optional(Type.Number()),
    max: Type.Optional(Type.Number()),
    choices: Type.Optional(Type.Array(Type.Union([Type.String(), Type.Number()]))),
  },
  strict,
);

export const TemplateVariantSchema = Type.Object(
  {
    when: Type.String(),
    workflow: AnyRecord,
    description: Type.Optional(Type.String()),
  },
  strict,
);

export const TemplateViewSchema = Type.Object(
  {
    name: Type.String(),
    description: Type.String(),
    workflow: AnyRecord,
    parameters: Type.Record(Type.String(), TemplateParameterSchema),
    variants: Type.Array(TemplateVariantSchema),
    source: Type.Enum(['file', 'api', 'builtin'] as const),
    created_at: Time,
    updated_at: Time,
  },
  strict,
);

const keyFields = {
  id: Type.String(),
  name: NullableString,
  role: Type.Enum(API_KEY_ROLES),
  prefix: Type.String(),
  created_at: Time,
  last_used_at: NullableTime,
  revoked_at: NullableTime,
};

export const ApiKeyViewSchema = Type.Object(keyFields, strict);

export const CreatedApiKeySchema = Type.Object({ ...keyFields, key: Type.String() }, strict);

export const ErrorBodySchema = Type.Object(
  {
    error: Type.Object(
      { code: Type.String(), message: Type.String(), details: Type.Unknown() },
      strict,
    ),
  },
  strict,
);

// Compile-time proof that every schema is exactly its hand-written type.
type Equals<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;
type Assertions = [
  Assert<Equals<Static<typeof PathMappingSchema>, W.PathMapping>>,
  Assert<Equals<Static<typeof DeviceBriefSchema>, W.DeviceBrief>>,
  Assert<Equals<Static<typeof DeviceSummarySchema>, W.DeviceSummary>>,
  Assert<Equals<Static<typeof HealthDetailsSchema>, W.HealthDetails>>,
  Assert<Equals<Static<typeof InstanceFiguresSchema>, W.InstanceFigures>>,
  Assert<Equals<Static<typeof InstanceViewSchema>, W.InstanceView>>,
  Assert<Equals<Static<typeof HealthReasonSchema>, W.HealthReason>>,
  Assert<Equals<Static<typeof JobStatsViewSchema>, W.JobStatsView>>,
  Assert<Equals<Static<typeof InstanceHealthReportSchema>, W.InstanceHealthReport>>,
  Assert<Equals<Static<typeof InstanceDetailSchema>, Omit<W.InstanceDetail, never>>>,
  Assert<Equals<Static<typeof ConnectionTestResultSchema>, W.ConnectionTestResult>>,
  Assert<Equals<Static<typeof ConfigWarningSchema>, W.ConfigWarning>>,
  Assert<Equals<Static<typeof ImportSummarySchema>, W.ImportSummary>>,
  Assert<Equals<Static<typeof InstanceLogsSchema>, W.InstanceLogs>>,
  Assert<Equals<Static<typeof GatewayInstanceHealthSchema>, W.GatewayInstanceHealth>>,
  Assert<Equals<Static<typeof GatewayHealthSchema>, W.GatewayHealth>>,
  Assert<Equals<Static<typeof JobProgressSchema>, W.JobProgress>>,
  Assert<Equals<Static<typeof JobErrorInfoSchema>, W.JobErrorInfo>>,
  Assert<Equals<Static<typeof JobOutputSchema>, W.JobOutput>>,
  Assert<Equals<Static<typeof WebhookDeliverySchema>, W.WebhookDelivery>>,
  Assert<Equals<Static<typeof JobViewSchema>, W.JobView>>,
  Assert<Equals<Static<typeof JobListSchema>, W.JobList>>,
  Assert<Equals<Static<typeof AcceptedSchema>, W.Accepted>>,
  Assert<Equals<Static<typeof JobEventDataSchema>, W.JobEventData>>,
  Assert<Equals<Static<typeof JobEventSchema>, W.JobEvent>>,
  Assert<Equals<Static<typeof ClusterEventSchema>, W.ClusterEvent>>,
  Assert<Equals<Static<typeof TemplateParameterSchema>, W.TemplateParameter>>,
  Assert<Equals<Static<typeof TemplateVariantSchema>, W.TemplateVariant>>,
  Assert<Equals<Static<typeof TemplateViewSchema>, W.TemplateView>>,
  Assert<Equals<Static<typeof ApiKeyViewSchema>, W.ApiKeyView>>,
  Assert<Equals<Static<typeof CreatedApiKeySchema>, Omit<W.CreatedApiKey, never>>>,
  Assert<Equals<Static<typeof ErrorBodySchema>, W.ErrorBody>>,
];
/** Compile-time only: fails to type-check when a schema and its type differ. */
export type SchemaTypeAssertions = Assertions;
