import { Type } from 'typebox';

export const JobIdParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 128 }),
});

export const OutputParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 128 }),
  n: Type.Integer({ minimum: 0, maximum: 100_000 }),
});

export const OutputQuery = Type.Object({
  download: Type.Optional(Type.Union([Type.Literal('1'), Type.Literal('true'), Type.Literal('0')])),
  access_token: Type.Optional(Type.String()),
});

export const SubmitQuery = Type.Object({
  wait: Type.Optional(Type.Boolean({ description: 'answer once the job is finished' })),
  timeout: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 86_400,
      description: 'seconds to wait at most (wait=true)',
    }),
  ),
});

export const ListQuery = Type.Object({
  status: Type.Optional(
    Type.String({ description: 'comma-separated: pending,processing,completed,failed,cancelled' }),
  ),
  instance: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  owner: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  from: Type.Optional(Type.String({ description: 'created at or after (ISO-8601)' })),
  to: Type.Optional(Type.String({ description: 'created before (ISO-8601)' })),
  template: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'only jobs of this template (within the page)',
    }),
  ),
  cursor: Type.Optional(Type.String({ maxLength: 1024 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
});

export const EventsQuery = Type.Object({
  last_event_id: Type.Optional(Type.Integer({ minimum: 0 })),
  access_token: Type.Optional(Type.String()),
});

export const AcceptedSchema = Type.Object(
  {
    job_id: Type.String(),
    status: Type.String(),
    queue_position: Type.Union([Type.Integer(), Type.Null()]),
    estimated_completion_seconds: Type.Union([Type.Number(), Type.Null()]),
    cancel_requested: Type.Optional(Type.Boolean()),
    retry_of: Type.Optional(Type.String()),
    job: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: true },
);

export const JobViewSchema = Type.Object(
  {},
  { additionalProperties: true, description: 'the job (times ISO-8601) with its outputs' },
);

export const JobListSchema = Type.Object({
  jobs: Type.Array(JobViewSchema),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});
