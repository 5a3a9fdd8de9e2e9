/**
 * `/api/v1/instances`: the fleet's instances (admin). Listing with health and figures, CRUD,
 * lifecycle, test connection, health history, capabilities, the active instance, export and
 * import. Credentials never leave the gateway: answers show `auth: { type, redacted: true }`.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { ComfyError } from '../../../comfy/index.js';
import { isMonitored, testConnection } from '../../../fleet/health/index.js';
import { connectionOf, type InstanceView, normalizeInstance } from '../../../fleet/index.js';
import { ApiError, validationFailed } from '../../errors.js';
import { AnyObject, errorResponses } from '../../schemas.js';
import { instanceLogsRoute } from './logs.js';
import { isLocalAddress, portAvailability } from './port-availability.js';
import {
  ActiveBody,
  ActiveSchema,
  CapabilitiesQuery,
  CapabilitiesSchema,
  ExportQuery,
  HistoryQuery,
  HistorySchema,
  IdParams,
  ImportQuery,
  ImportSummarySchema,
  InstanceCreateBody,
  InstanceDetailSchema,
  InstanceItemSchema,
  InstanceListSchema,
  InstanceUpdateBody,
  PortAvailabilitySchema,
  PortsQuery,
  TestQuery,
  TestResultSchema,
  UnsavedTestQuery,
  UnsavedTestResultSchema,
} from './schemas.js';

const tags = ['instances'];
const security = [{ bearerAuth: [] }];

/** ISO-8601 or ms since epoch → ms; undefined when absent; throws validation_failed otherwise. */
function parseTime(value: string | undefined, path: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw validationFailed([
      {
        path,
        message: `must be an ISO-8601 time or ms since epoch, got ${JSON.stringify(value.slice(0, 40))}`,
      },
    ]);
  }
  return ms;
}

/**
 * Registers the instances routes.
 *
 * @example
 * await app.register(instancesRoutes);
 */
export async function instancesRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = app.api;
  const { registry, monitor } = deps;

  const item = (view: InstanceView) => {
    const { health, ...details } = monitor.health(view.id);
    const report = monitor.report(view.id);
    const jobs = report?.jobs;
    const devices = (report?.devices ?? []).map(({ name, type, vram_total, vram_free }) => ({
      name,
      type,
      vram_total,
      vram_free,
    }));
    return {
      ...view,
      health,
      health_details: { ...details, devices },
      figures: {
        in_flight: deps.inFlight?.(view.id) ?? 0,
        instance_queue: report?.queue ?? null,
        jobs_total: jobs?.total ?? 0,
        jobs_succeeded: jobs?.succeeded ?? 0,
        jobs_failed: jobs?.failed ?? 0,
        avg_run_ms: jobs?.avg_execution_ms ?? null,
        last_job_at: jobs?.last_job_at ?? null,
      },
    };
  };

  app.get(
    '/api/v1/instances',
    {
      config: { logLevel: 'debug' },
      schema: {
        tags,
        security,
        summary: 'Every instance with its status, health and figures',
        response: { 200: InstanceListSchema, ...errorResponses() },
      },
    },
    async () => ({ instances: registry.list().map(item) }),
  );

  app.post(
    '/api/v1/instances',
    {
      schema: {
        tags,
        security,
        summary: 'Add an instance (saved to the config file)',
        body: InstanceCreateBody,
        response: { 201: InstanceItemSchema, ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      const view = await registry.create(request.body);
      return reply
        .code(201)
        .header('location', `/api/v1/instances/${encodeURIComponent(view.id)}`)
        .send(item(view));
    },
  );

  app.post(
    '/api/v1/instances/test',
    {
      schema: {
        tags,
        security,
        summary: 'Test the connection of an instance definition before saving it (nothing saved)',
        body: InstanceCreateBody,
        querystring: UnsavedTestQuery,
        response: { 200: UnsavedTestResultSchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const r = normalizeInstance(request.body, {
        shape: 'create',
        source: 'api',
        now: new Date().toISOString(),
      });
      if (!r.ok) throw validationFailed(r.errors);
      const connection = connectionOf(r.instance);
      const from = request.query.credentials_of;
      if (from !== undefined && r.instance.auth === undefined) {
        // Edits of a saved instance: its stored secret is used without ever being sent back.
        connection.headers = { ...registry.connection(registry.resolve(from).id).headers };
      }
      const result = await testConnection(connection, {
        timeoutMs: request.query.timeout_ms,
      });
      return { result };
    },
  );

  app.get(
    '/api/v1/instances/ports',
    {
      config: { logLevel: 'debug' },
      schema: {
        tags,
        security,
        summary:
          'Whether a managed instance could listen on a port of this machine, and a free port to use',
        description:
          'Probes by binding the port briefly (never by connecting), on addresses of this machine only.',
        querystring: PortsQuery,
        response: { 200: PortAvailabilitySchema, ...errorResponses(400) },
      },
    },
    async (request) => {
      const { port, host, exclude } = request.query;
      if (!isLocalAddress(host)) {
        throw validationFailed([
          {
            path: 'query.host',
            message:
              'must be an address of this machine (loopback, 0.0.0.0, :: or an interface address)',
          },
        ]);
      }
      return portAvailability({
        host: host.replace(/^\[(.*)\]$/, '$1'),
        port,
        instances: registry.list(),
        ...(exclude === undefined ? {} : { excludeId: exclude }),
      });
    },
  );

  app.get(
    '/api/v1/instances/active',
    {
      schema: {
        tags,
        security,
        summary: 'The active instance (clients pinned to "active" use it)',
        response: { 200: InstanceItemSchema, ...errorResponses(404) },
      },
    },
    async () => {
      const view = registry.active();
      if (!view) throw new ApiError('instance_not_found', 'no instance is configured');
      return item(view);
    },
  );

  app.put(
    '/api/v1/instances/active',
    {
      schema: {
        tags,
        security,
        summary: 'Make an instance the active one (null: back to the first instance)',
        body: ActiveBody,
        response: { 200: ActiveSchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const view = await registry.setActive(request.body.id);
      return { active: view ? item(view) : null };
    },
  );

  // Answers raw JSON text, so it is declared on the untyped instance.
  fastify.get<{ Querystring: { include_secrets: boolean } }>(
    '/api/v1/instances/export',
    {
      schema: {
        tags,
        security,
        summary: 'The config file content (credentials redacted unless include_secrets=true)',
        description: 'Answers the document as a JSON file (comfyui_instances.json).',
        querystring: ExportQuery,
        response: { ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      const text = registry.exportConfig({ includeSecrets: request.query.include_secrets });
      return reply
        .type('application/json; charset=utf-8')
        .header('content-disposition', 'attachment; filename="comfyui_instances.json"')
        .send(text);
    },
  );

  app.post(
    '/api/v1/instances/import',
    {
      schema: {
        tags,
        security,
        summary:
          'Import a config document (any supported version): all of it or nothing, with errors per instance',
        description:
          'Send the document as a JSON body, or as a file in a multipart/form-data request.',
        querystring: ImportQuery,
        body: {
          content: {
            'application/json': { schema: AnyObject },
            'multipart/form-data': {
              schema: Type.Unknown({
                description: 'a form with the config file in any file field',
              }),
            },
          },
        },
        response: { 200: ImportSummarySchema, ...errorResponses(400, 413, 415) },
      },
    },
    async (request) => {
      const mode = request.query.mode;
      if (request.isMultipart()) {
        const file = await request.file();
        if (!file) {
          throw validationFailed([{ path: 'file', message: 'is required: send the config file' }]);
        }
        const text = (await file.toBuffer()).toString('utf8');
        return registry.importConfig(text, { mode });
      }
      return registry.importConfig(request.body, { mode });
    },
  );

  app.get(
    '/api/v1/instances/:id',
    {
      config: { logLevel: 'debug' },
      schema: {
        tags,
        security,
        summary: "One instance by id, name or 'active', with the monitor's full report",
        params: IdParams,
        response: { 200: InstanceDetailSchema, ...errorResponses(404) },
      },
    },
    async (request) => {
      const view = registry.resolve(request.params.id);
      return { ...item(view), report: monitor.report(view.id) ?? null };
    },
  );

  app.patch(
    '/api/v1/instances/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Change some fields (auth: null removes the credentials)',
        params: IdParams,
        body: InstanceUpdateBody,
        response: { 200: InstanceItemSchema, ...errorResponses(400, 404, 409) },
      },
    },
    async (request) => item(await registry.update(request.params.id, request.body)),
  );

  app.delete(
    '/api/v1/instances/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Remove an instance (a running managed one must be stopped first)',
        params: IdParams,
        response: { 204: Type.Null({ description: 'removed' }), ...errorResponses(404, 409) },
      },
    },
    async (request, reply) => {
      await registry.delete(request.params.id);
      return reply.code(204).send(null);
    },
  );

  for (const action of ['start', 'stop', 'pause', 'resume'] as const) {
    app.post(
      `/api/v1/instances/:id/${action}`,
      {
        schema: {
          tags,
          security,
          summary: {
            start: 'Start: route work here (remote) or start the process (managed)',
            stop: 'Stop: route no work here (remote) or stop the process (managed)',
            pause: 'Drain: finish what runs, take nothing new',
            resume: 'End a pause',
          }[action],
          params: IdParams,
          response: { 200: InstanceItemSchema, ...errorResponses(404, 409) },
        },
      },
      async (request) => item(await registry[action](request.params.id)),
    );
  }

  await instanceLogsRoute(fastify);

  app.post(
    '/api/v1/instances/:id/test',
    {
      schema: {
        tags,
        security,
        summary: 'Test the connection: ComfyUI version, devices and round trip, or why it failed',
        params: IdParams,
        querystring: TestQuery,
        response: { 200: TestResultSchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const view = registry.resolve(request.params.id);
      const result = await testConnection(registry.connection(view.id), {
        timeoutMs: request.query.timeout_ms,
      });
      return { instance_id: view.id, result };
    },
  );

  app.get(
    '/api/v1/instances/:id/health',
    {
      config: { logLevel: 'debug' },
      schema: {
        tags,
        security,
        summary: 'Health-check history from the store, oldest first',
        params: IdParams,
        querystring: HistoryQuery,
        response: { 200: HistorySchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const view = registry.resolve(request.params.id);
      const from = parseTime(request.query.from, 'query.from');
      const to = parseTime(request.query.to, 'query.to');
      if (from !== undefined && to !== undefined && from > to) {
        throw validationFailed([{ path: 'query.from', message: 'must not be after query.to' }]);
      }
      const samples = await monitor.history(view.id, {
        ...(from === undefined ? {} : { from }),
        ...(to === undefined ? {} : { to }),
        ...(request.query.limit === undefined ? {} : { limit: request.query.limit }),
      });
      return {
        instance_id: view.id,
        from: from === undefined ? null : new Date(from).toISOString(),
        to: to === undefined ? null : new Date(to).toISOString(),
        samples: samples.map(({ id: _id, instance_id: _instance, sampled_at, ...rest }) => ({
          sampled_at: new Date(sampled_at).toISOString(),
          ...rest,
        })),
      };
    },
  );

  app.get(
    '/api/v1/instances/:id/capabilities',
    {
      config: { logLevel: 'debug' },
      schema: {
        tags,
        security,
        summary: 'Node classes (object_info) and model files per folder',
        params: IdParams,
        querystring: CapabilitiesQuery,
        response: { 200: CapabilitiesSchema, ...errorResponses(404, 409, 502, 504) },
      },
    },
    async (request) => {
      const view = registry.resolve(request.params.id);
      if (!isMonitored(view)) {
        throw new ApiError(
          'instance_not_monitored',
          `instance '${view.name}' is ${view.enabled ? view.status : 'disabled'}; start it to read its capabilities`,
        );
      }
      const cached = request.query.refresh ? undefined : monitor.capabilities(view.id);
      try {
        const caps = cached ?? (await monitor.refreshCapabilities(view.id));
        return { instance_id: view.id, ...caps };
      } catch (err) {
        // Stopped while we asked: the monitor no longer follows it.
        if (!(err instanceof ComfyError) && monitor.connectionFor(view.id) === undefined) {
          throw new ApiError(
            'instance_not_monitored',
            `instance '${view.name}' stopped being monitored`,
          );
        }
        throw err;
      }
    },
  );
}
