import { type Static, Type } from 'typebox';

/**
 * The job model. These TypeBox schemas are the single source of the fields of a submission and of
 * a stored job; times are ms since epoch (the API shows them as ISO-8601).
 */

/** DESIGN vocabulary. */
export const JOB_STATUSES = ['pending', 'processing', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Detail while `processing`. */
export const JOB_PHASES = ['uploading', 'queued_on_instance', 'running', 'collecting'] as const;
export type JobPhase = (typeof JOB_PHASES)[number];

/** Statuses a job never leaves. */
export const FINISHED_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

/** Default `timeout_ms` (the `JOB_TIMEOUT` setting overrides it). */
export const DEFAULT_JOB_TIMEOUT_MS = 300_000;
/** Default `max_attempts`. */
export const DEFAULT_MAX_ATTEMPTS = 3;
/** Default retention of finished jobs, their outputs and unused inputs. */
export const DEFAULT_RETENTION_DAYS = 7;
/** `pin` value meaning "whichever instance is the fleet's active one". */
export const PIN_ACTIVE = 'active';

const SHA256_PATTERN = '^[0-9a-f]{64}$';

/**
 * A file given with a job: inline (`data`: a base64 data URL or plain base64) or a reference to an
 * input stored earlier (`hash`: its sha256). The workflow refers to it by `name` (LoadImage's
 * `image` set to that name), or `node` + `input` bind it explicitly.
 */
export const JobInputSubmissionSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255, description: 'file name the workflow uses' }),
    data: Type.Optional(
      Type.String({ minLength: 1, description: 'base64 data URL (data:image/png;base64,...)' }),
    ),
    hash: Type.Optional(
      Type.String({ pattern: SHA256_PATTERN, description: 'sha256 of an input stored earlier' }),
    ),
    node: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'node id' })),
    input: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'input name of that node' }),
    ),
  },
  { additionalProperties: false },
);
export type JobInputSubmission = Static<typeof JobInputSubmissionSchema>;

/**
 * What a client sends to create a job: an API-format `workflow`, or a `template` name with `params`
 * (exactly one of the two), plus scheduling and bookkeeping fields. Defaults are filled in by
 * `normalizeSubmission`.
 */
export const JobSubmissionSchema = Type.Object(
  {
    workflow: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: 'API-format workflow (ComfyUI "prompt"): node id → {class_type, inputs}',
      }),
    ),
    template: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    inputs: Type.Array(JobInputSubmissionSchema, { default: [], maxItems: 64 }),
    priority: Type.Integer({
      minimum: -1000,
      maximum: 1000,
      default: 0,
      description: 'higher runs first; FIFO within a priority',
    }),
    pin: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'an instance id, or "active"' }),
    ),
    tags: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
      default: [],
      uniqueItems: true,
      maxItems: 32,
      description: 'the instance must carry every one',
    }),
    timeout_ms: Type.Optional(Type.Integer({ minimum: 1000, maximum: 7 * 24 * 3_600_000 })),
    max_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
    idempotency_key: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 255,
        description: 'the same key (per owner) returns the same job',
      }),
    ),
    owner: Type.Optional(
      Type.String({ minLength: 1, maxLength: 255, description: 'API key id (fair share)' }),
    ),
    metadata: Type.Record(Type.String(), Type.Unknown(), {
      default: {},
      description: 'free client data, returned as given',
    }),
    webhook_url: Type.Optional(
      Type.String({ minLength: 1, maxLength: 2048, description: 'reserved for the API issue' }),
    ),
  },
  { additionalProperties: false },
);
/** A submission with its defaults filled in. */
export type JobSubmission = Static<typeof JobSubmissionSchema>;

/**
 * What callers may pass: defaulted fields optional, and input `data` may also be raw bytes
 * (the API hands multipart files over this way).
 */
export type JobSubmissionInput = Omit<
  Partial<JobSubmission>,
  'inputs' | 'priority' | 'tags' | 'metadata'
> & {
  inputs?: Array<Omit<JobInputSubmission, 'data'> & { data?: string | Uint8Array }>;
  priority?: number;
  tags?: string[];
  metadata?: Record<string, unknown>;
};

/** Progress while processing. */
export const JobProgressSchema = Type.Object({
  percent: Type.Union([Type.Number(), Type.Null()]),
  node: Type.Union([Type.String(), Type.Null()]),
  step: Type.Union([Type.Integer(), Type.Null()]),
  steps: Type.Union([Type.Integer(), Type.Null()]),
  updated_at: Type.Union([Type.Integer(), Type.Null()]),
});
export type JobProgress = Static<typeof JobProgressSchema>;

/**
 * Why a job failed (or an attempt was given up): a stable `code` (`execution_error`, `timeout`,
 * `instance_unreachable`, `attempts_exhausted`, ...), a message, and when a node raised, its id
 * and class and ComfyUI's exception type and message.
 */
export const JobErrorInfoSchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  node_id: Type.Union([Type.String(), Type.Null()]),
  node_class: Type.Union([Type.String(), Type.Null()]),
  exception_type: Type.Union([Type.String(), Type.Null()]),
  exception_message: Type.Union([Type.String(), Type.Null()]),
  details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
});
export type JobErrorInfo = Static<typeof JobErrorInfoSchema>;

/** An error to record: only `code` and `message` are needed. */
export type JobErrorInput = Pick<JobErrorInfo, 'code' | 'message'> &
  Partial<Omit<JobErrorInfo, 'code' | 'message'>>;

/** A job as stored. */
export const JobSchema = Type.Object({
  id: Type.String({ description: 'UUID; also the prompt_id on the instance' }),
  status: Type.Enum(JOB_STATUSES),
  phase: Type.Union([Type.Enum(JOB_PHASES), Type.Null()]),
  cancel_requested: Type.Boolean(),
  priority: Type.Integer(),
  /** FIFO sequence (also the listing order). */
  seq: Type.Integer(),
  owner: Type.Union([Type.String(), Type.Null()]),
  pin: Type.Union([Type.String(), Type.Null()]),
  tags: Type.Array(Type.String()),
  workflow: Type.Record(Type.String(), Type.Unknown()),
  template: Type.Union([
    Type.Object({ name: Type.String(), params: Type.Record(Type.String(), Type.Unknown()) }),
    Type.Null(),
  ]),
  idempotency_key: Type.Union([Type.String(), Type.Null()]),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  webhook_url: Type.Union([Type.String(), Type.Null()]),
  timeout_ms: Type.Integer(),
  max_attempts: Type.Integer(),
  /** Placements so far (the current attempt's number while processing). */
  attempts: Type.Integer(),
  /** Instances this job failed on; it is not placed there again. */
  excluded_instances: Type.Array(Type.String()),
  /** The instance of the current (or last) attempt. */
  instance_id: Type.Union([Type.String(), Type.Null()]),
  progress: Type.Union([JobProgressSchema, Type.Null()]),
  error: Type.Union([JobErrorInfoSchema, Type.Null()]),
  /** The failed or cancelled job this one retries. */
  retry_of: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.Integer(),
  /** When it last became pending (creation or requeue). */
  queued_at: Type.Integer(),
  /** Start of the current (or last) attempt. */
  started_at: Type.Union([Type.Integer(), Type.Null()]),
  /** When it reached a final status. */
  completed_at: Type.Union([Type.Integer(), Type.Null()]),
  /** completed_at - started_at of the final attempt. */
  processing_time_ms: Type.Union([Type.Integer(), Type.Null()]),
  updated_at: Type.Integer(),
});
export type Job = Static<typeof JobSchema>;

/** One placement of a job. */
export const JobAttemptSchema = Type.Object({
  job_id: Type.String(),
  n: Type.Integer(),
  instance_id: Type.String(),
  started_at: Type.Integer(),
  ended_at: Type.Union([Type.Integer(), Type.Null()]),
  outcome: Type.Union([
    Type.Enum(['completed', 'failed', 'requeued', 'cancelled'] as const),
    Type.Null(),
  ]),
  error_code: Type.Union([Type.String(), Type.Null()]),
  error_message: Type.Union([Type.String(), Type.Null()]),
});
export type JobAttempt = Static<typeof JobAttemptSchema>;

/** A recorded output: a file copied into the output store, or a value (text) a node showed. */
export const JobOutputSchema = Type.Object({
  index: Type.Integer(),
  node_id: Type.String(),
  /** Key in the node's UI output: `images`, `audio`, `text`, ... */
  output_key: Type.String(),
  kind: Type.Enum(['file', 'value'] as const),
  filename: Type.Union([Type.String(), Type.Null()]),
  subfolder: Type.Union([Type.String(), Type.Null()]),
  type: Type.Union([Type.String(), Type.Null()]),
  size: Type.Union([Type.Integer(), Type.Null()]),
  sha256: Type.Union([Type.String(), Type.Null()]),
  mime: Type.Union([Type.String(), Type.Null()]),
  /** Relative to the output store root (`<job id>/<attempt>/<n>-<name>`). */
  stored_path: Type.Union([Type.String(), Type.Null()]),
  value: Type.Unknown(),
});
export type JobOutput = Static<typeof JobOutputSchema>;

/**
 * Allowed status changes. Terminal states are final: a retry of a failed or cancelled job creates a
 * new job (new id, so a new prompt_id on the instances) linked by `retry_of`, which keeps every
 * finished job's outputs and history immutable.
 *
 * - pending → processing (claim), cancelled (cancel), failed (refused at placement)
 * - processing → completed | failed | cancelled, or back to pending (requeue)
 */
export const JOB_TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  pending: ['processing', 'cancelled', 'failed'],
  processing: ['completed', 'failed', 'cancelled', 'pending'],
  completed: [],
  failed: [],
  cancelled: [],
};

/**
 * Whether the state machine allows `from` → `to`.
 *
 * @example
 * canTransition('pending', 'processing'); // true
 * canTransition('completed', 'pending'); // false
 */
export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return JOB_TRANSITIONS[from].includes(to);
}

/**
 * True for `completed`, `failed` and `cancelled`.
 *
 * @example
 * isFinished('cancelled'); // true
 */
export function isFinished(status: JobStatus): boolean {
  return FINISHED_STATUSES.includes(status);
}
