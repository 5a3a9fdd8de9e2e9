/**
 * `/api/v1/templates`: list and get (users), create / replace / delete (admins), and
 * `POST /api/v1/templates/{name}/run` (users): a job from the template's named parameters.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { type Template, TemplateDefinitionSchema } from '../../../jobs/index.js';
import { ApiError } from '../../errors.js';
import { errorResponses } from '../../schemas.js';
import { ownerFor, principalOf } from '../jobs/index.js';
import type { JobLayer } from '../jobs/job-layer.js';
import { jobView } from '../jobs/job-view.js';

const tags = ['templates'];
const security = [{ bearerAuth: [] }];

const NameParams = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128 }),
});

const TemplateViewSchema = Type.Object({}, { additionalProperties: true });

const RunBody = Type.Object(
  {
    params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    inputs: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 64 })),
    priority: Type.Optional(Type.Integer({ minimum: -1000, maximum: 1000 })),
    pin: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    tags: Type.Optional(Type.Array(Type.String(), { maxItems: 32 })),
    timeout_ms: Type.Optional(Type.Integer({ minimum: 1000 })),
    max_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
    idempotency_key: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    webhook_url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    owner: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  },
  { additionalProperties: false },
);

/** A template for the API (times ISO-8601). */
export function templateView(t: Template): Record<string, unknown> {
  return {
    ...t,
    created_at: new Date(t.created_at).toISOString(),
    updated_at: new Date(t.updated_at).toISOString(),
  };
}

/**
 * Registers the template routes.
 *
 * @example
 * await app.register(templatesRoutes, { layer });
 */
export async function templatesRoutes(
  fastify: FastifyInstance,
  options: { layer: JobLayer },
): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const repo = options.layer.services.templates;
  const service = options.layer.service;

  const getOr404 = async (name: string) => {
    const t = await repo.get(name);
    if (!t) throw new ApiError('not_found', `no template ${name}`);
    return t;
  };

  app.get(
    '/api/v1/templates',
    {
      config: { access: 'user', logLevel: 'debug' },
      schema: {
        tags,
        security,
        summary: 'Every template (built-in, from the templates folder, or created here)',
        response: { 200: Type.Object({ templates: Type.Array(TemplateViewSchema) }) },
      },
    },
    async () => ({ templates: (await repo.list()).map(templateView) }),
  );

  app.get(
    '/api/v1/templates/:name',
    {
      config: { access: 'user', logLevel: 'debug' },
      schema: {
        tags,
        security,
        summary: 'A template: workflow, parameters, variants',
        params: NameParams,
        response: { 200: TemplateViewSchema, ...errorResponses(404) },
      },
    },
    async (request) => templateView(await getOr404(request.params.name)),
  );

  app.put(
    '/api/v1/templates/:name',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        security,
        summary: 'Create or replace a template (the body name, if any, must match the path)',
        params: NameParams,
        body: Type.Partial(TemplateDefinitionSchema),
        response: { 200: TemplateViewSchema, 201: TemplateViewSchema, ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      if (request.body.name !== undefined && request.body.name !== name) {
        throw new ApiError('validation_failed', 'the body name differs from the path', [
          { path: 'name', message: `must be ${JSON.stringify(name)} or absent` },
        ]);
      }
      const existed = (await repo.get(name)) !== undefined;
      const saved = await repo.save(
        { description: '', parameters: {}, variants: [], ...request.body, name } as never,
        'api',
      );
      return reply.code(existed ? 200 : 201).send(templateView(saved));
    },
  );

  app.post(
    '/api/v1/templates',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        security,
        summary: 'Create a template (409 when the name is taken)',
        body: TemplateDefinitionSchema,
        response: { 201: TemplateViewSchema, ...errorResponses(400, 409) },
      },
    },
    async (request, reply) => {
      if (await repo.get(request.body.name)) {
        throw new ApiError('conflict', `template ${request.body.name} exists (PUT replaces it)`);
      }
      const saved = await repo.save(request.body, 'api');
      return reply
        .code(201)
        .header('location', `/api/v1/templates/${encodeURIComponent(saved.name)}`)
        .send(templateView(saved));
    },
  );

  app.delete(
    '/api/v1/templates/:name',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        security,
        summary: 'Delete a template (a built-in comes back at the next start)',
        params: NameParams,
        response: { 204: Type.Null(), ...errorResponses(404) },
      },
    },
    async (request, reply) => {
      if (!(await repo.delete(request.params.name))) {
        throw new ApiError('not_found', `no template ${request.params.name}`);
      }
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/templates/:name/run',
    {
      config: { access: 'user' },
      schema: {
        tags,
        security,
        summary: 'Run a template with parameters (202 like POST /api/v1/jobs)',
        params: NameParams,
        body: Type.Optional(RunBody),
        response: {
          202: Type.Object({}, { additionalProperties: true }),
          ...errorResponses(400, 404, 503),
        },
      },
    },
    async (request, reply) => {
      await getOr404(request.params.name);
      const body = (request.body ?? {}) as Record<string, unknown>;
      const owner = ownerFor(principalOf(request), body);
      const { owner: _o, ...rest } = body;
      const r = await service.submit(
        { ...rest, template: request.params.name, params: body.params ?? {} },
        owner === null ? {} : { owner },
      );
      return reply
        .code(202)
        .header('location', `/api/v1/jobs/${r.job.id}`)
        .send({
          job_id: r.job.id,
          status: r.job.status,
          queue_position: r.queue_position,
          estimated_completion_seconds: r.estimated_completion_seconds,
          job: jobView(r.job),
        });
    },
  );
}
