/** TypeBox schemas of the instances API (requests come from the fleet's own schemas). */
import { Type } from 'typebox';
import {
  AUTH_TYPES,
  INSTANCE_HEALTH_STATES,
  INSTANCE_STATUSES,
  InstanceSchema,
} from '../../../fleet/index.js';
import { AnyObject, NullableTime } from '../../schemas.js';

export {
  InstanceCreateSchema as InstanceCreateBody,
  InstanceUpdateSchema as InstanceUpdateBody,
} from '../../../fleet/index.js';

const { auth: _auth, ...publicFields } = InstanceSchema.properties;

const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

/** The monitor's snapshot without the state itself (that is `health`). */
export const HealthDetailsSchema = Type.Object({
  circuit: Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half_open')]),
  reasons: Type.Array(Type.String()),
  checked_at: NullableTime,
  latency_ms: NullableNumber,
  consecutive_failures: Type.Integer(),
  last_error: Type.Union([Type.String(), Type.Null()]),
  next_probe_at: NullableTime,
  comfyui_version: Type.Union([Type.String(), Type.Null()]),
  vram_free: NullableNumber,
  vram_total: NullableNumber,
  devices: Type.Array(
    Type.Object({
      name: Type.String(),
      type: Type.String(),
      vram_total: Type.Number(),
      vram_free: Type.Number(),
    }),
    { description: 'GPUs (or the CPU) at the last successful check; empty before one' },
  ),
});

/** Work figures of an instance. */
export const FiguresSchema = Type.Object({
  in_flight: Type.Integer({ description: 'prompts of the gateway running or queued there' }),
  instance_queue: Type.Union(
    [Type.Object({ running: Type.Integer(), pending: Type.Integer() }), Type.Null()],
    { description: "the instance's own queue at the last check (all clients)" },
  ),
  jobs_total: Type.Integer(),
  jobs_succeeded: Type.Integer(),
  jobs_failed: Type.Integer(),
  avg_run_ms: NullableNumber,
  last_job_at: NullableTime,
});

/**
 * An instance as the API shows it: its configuration (credentials reduced to their type), its
 * lifecycle status, health from the monitor and figures. Only these fields are ever serialized.
 */
export const InstanceItemSchema = Type.Object({
  ...publicFields,
  auth: Type.Union([
    Type.Object({ type: Type.Enum(AUTH_TYPES), redacted: Type.Literal(true) }),
    Type.Null(),
  ]),
  status: Type.Enum(INSTANCE_STATUSES),
  status_reason: Type.Union([Type.String(), Type.Null()]),
  active: Type.Boolean(),
  origin: Type.Union([Type.String(), Type.Null()], {
    description: 'the environment variable an env instance came from',
  }),
  health: Type.Enum(INSTANCE_HEALTH_STATES),
  health_details: HealthDetailsSchema,
  figures: FiguresSchema,
});

/** One instance with the monitor's full report. */
export const InstanceDetailSchema = Type.Object({
  ...InstanceItemSchema.properties,
  report: Type.Union([AnyObject, Type.Null()], {
    description:
      "the health monitor's full report (figures, devices, queue, jobs), null when not monitored",
  }),
});

export const InstanceListSchema = Type.Object({ instances: Type.Array(InstanceItemSchema) });

export const IdParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 200, description: "id, name or 'active'" }),
});

export const TestQuery = Type.Object({
  timeout_ms: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
});

export const TestResultSchema = Type.Object({
  instance_id: Type.String(),
  result: AnyObject,
});

export const UnsavedTestQuery = Type.Object({
  ...TestQuery.properties,
  credentials_of: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description:
        'id or name of a saved instance whose stored credentials to use when the body has no auth (testing edits before saving them)',
    }),
  ),
});

export const UnsavedTestResultSchema = Type.Object({
  result: Type.Object(
    {},
    {
      additionalProperties: true,
      description:
        '{ok: true, comfyui_version, devices, round_trip_ms, ...} or {ok: false, kind, message, status?}',
    },
  ),
});

export const PortsQuery = Type.Object({
  port: Type.Integer({ minimum: 1, maximum: 65_535 }),
  host: Type.String({
    minLength: 1,
    maxLength: 255,
    default: '127.0.0.1',
    description: 'an address of this machine (loopback, 0.0.0.0, ::, or an interface address)',
  }),
  exclude: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'id of the instance being edited (its own port is not a conflict)',
    }),
  ),
});

export const PortAvailabilitySchema = Type.Object({
  port: Type.Integer(),
  host: Type.String(),
  available: Type.Boolean(),
  reason: Type.Union([Type.String(), Type.Null()]),
  holder: Type.Optional(Type.Object({ pid: Type.Integer(), command: Type.String() })),
  used_by: Type.Optional(Type.Object({ id: Type.String(), name: Type.String() })),
  suggested: Type.Union([Type.Integer(), Type.Null()], {
    description: 'the first port from `port` upward that is free and no local instance uses',
  }),
});

export const HistoryQuery = Type.Object({
  from: Type.Optional(Type.String({ description: 'ISO-8601 time or ms since epoch' })),
  to: Type.Optional(Type.String({ description: 'ISO-8601 time or ms since epoch' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
});

export const HealthSampleSchema = Type.Object({
  sampled_at: Type.String(),
  health: Type.String(),
  ok: Type.Boolean(),
  latency_ms: NullableNumber,
  queue_running: NullableNumber,
  queue_pending: NullableNumber,
  vram_free: NullableNumber,
  vram_total: NullableNumber,
  error: Type.Union([Type.String(), Type.Null()]),
});

export const HistorySchema = Type.Object({
  instance_id: Type.String(),
  from: NullableTime,
  to: NullableTime,
  samples: Type.Array(HealthSampleSchema),
});

export const CapabilitiesQuery = Type.Object({
  refresh: Type.Boolean({ default: false, description: 'fetch again from the instance' }),
});

export const CapabilitiesSchema = Type.Object({
  instance_id: Type.String(),
  fetched_at: Type.String(),
  node_classes: AnyObject,
  models: Type.Record(Type.String(), Type.Array(Type.String())),
});

export const ActiveBody = Type.Object(
  { id: Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()]) },
  { additionalProperties: false },
);

export const ActiveSchema = Type.Object({ active: Type.Union([InstanceItemSchema, Type.Null()]) });

export const ExportQuery = Type.Object({
  include_secrets: Type.Boolean({ default: false }),
});

export const ImportQuery = Type.Object({
  mode: Type.Union([Type.Literal('replace'), Type.Literal('merge')], { default: 'replace' }),
});

export const ImportSummarySchema = Type.Object({
  added: Type.Array(Type.String()),
  updated: Type.Array(Type.String()),
  removed: Type.Array(Type.String()),
  migrated_from: Type.Union([Type.String(), Type.Null()]),
});
