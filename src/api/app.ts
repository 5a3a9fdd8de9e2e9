import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { EventBus, EventMap } from '../store/index.js';
import { installAuth } from './auth/authenticate.js';
import type { ApiContext, AppDeps, AppOptions } from './context.js';
import { installErrorHandling } from './error-handler.js';
import { EventHub } from './events/event-hub.js';
import { GatewayMetrics } from './metrics/gateway-metrics.js';
import { registerCors } from './plugins/cors.js';
import { registerMultipart } from './plugins/multipart.js';
import { registerRateLimit } from './plugins/rate-limit.js';
import { registerSwagger } from './plugins/swagger.js';
import { registerWebsocket } from './plugins/websocket.js';
import { comfyRoutes } from './routes/comfy/index.js';
import { configRoutes } from './routes/config/index.js';
import { eventsRoutes } from './routes/events/index.js';
import { healthRoutes } from './routes/health/index.js';
import { instancesRoutes } from './routes/instances/index.js';
import { type JobLayer, jobsRoutes, registerJobMetrics } from './routes/jobs/index.js';
import { keysRoutes } from './routes/keys/index.js';
import { metricsRoutes } from './routes/metrics/index.js';
import { seedRoutes } from './routes/seed/index.js';
import { templatesRoutes } from './routes/templates/index.js';
import { registerDashboard } from './static/dashboard.js';
import type {} from './types.js';
import { schemaValidatorCompiler } from './validation/schema-validator.js';

/** Events of the fleet and the health monitor that the event streams carry. */
export const INSTANCE_EVENT_TYPES = [
  'instance.added',
  'instance.changed',
  'instance.removed',
  'instance.status',
  'instance.active',
  'instance.health',
  'instance.capabilities',
  'alert.raised',
  'alert.cleared',
] as const;

/** Per API key (or IP): a runaway script is stopped, busy clients and benchmarks are not. */
export const DEFAULT_RATE_LIMIT = { max: 30_000, windowMs: 60_000 } as const;

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

function packageVersion(): string {
  try {
    const pkg = createRequire(import.meta.url)('../../package.json') as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function loggedUrl(url: string): string {
  return url.replace(/([?&](?:access_)?token=)[^&]*/gi, '$1[redacted]');
}

/**
 * Builds the gateway's HTTP app without listening (tests use `app.inject` or `listen({ port: 0 })`;
 * `server.ts` listens). The app uses what it is given and closes none of it. Further route
 * modules (jobs, ComfyUI-compatible routes) can be registered on the returned instance before it
 * is ready; they reach the services through `app.api`.
 *
 * @example
 * const app = await buildApp({ registry, monitor, store, apiKeys: apiKeyRepository(store), logger }, { auth: 'auto' });
 * const res = await app.inject({ method: 'GET', url: '/health' });
 * await app.close();
 */
export async function buildApp(deps: AppDeps, options: AppOptions = {}): Promise<FastifyInstance> {
  const bodyLimit = options.bodyLimitBytes ?? 16 * 1024 * 1024;
  const uploadLimit = options.uploadLimitBytes ?? 100 * 1024 * 1024;
  const auth = options.auth ?? 'auto';
  const app: FastifyInstance = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    // One line per request is written by our onResponse hook instead.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'req_id' }),
    bodyLimit,
    trustProxy: options.trustProxy ?? false,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
  });
  app.setValidatorCompiler(schemaValidatorCompiler);

  // An empty JSON body (a bodiless POST with a JSON content type) reads as no body.
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    void defaultJson(request, text, done);
  });

  const metrics = new GatewayMetrics({
    fleet: deps.registry,
    monitor: deps.monitor,
    ...(deps.inFlight ? { inFlight: deps.inFlight } : {}),
  });
  const events = new EventHub(
    [deps.registry.bus, deps.monitor.bus] as unknown as EventBus<EventMap>[],
    {
      ...(options.events?.heartbeatMs === undefined
        ? {}
        : { heartbeatMs: options.events.heartbeatMs }),
      ...(options.events?.maxConnections === undefined
        ? {}
        : { maxSubscribers: options.events.maxConnections }),
    },
  );
  events.registerTypes(INSTANCE_EVENT_TYPES);
  const errors = installErrorHandling(app);
  const context: ApiContext = {
    deps,
    options: { auth, bodyLimitBytes: bodyLimit, uploadLimitBytes: uploadLimit },
    metrics,
    events,
    errors,
    startedAt: metrics.startedAt,
    closing: false,
  };
  app.decorate('api', context);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  installAuth(app, { mode: auth, keys: deps.apiKeys });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? (request.is404 ? '(not found)' : '(unknown)');
    const seconds = reply.elapsedTime / 1000;
    metrics.recordRequest(request.method, route, reply.statusCode, seconds);
    // Reads are frequent and cheap: their line is debug, unless the route says otherwise.
    const level =
      reply.statusCode >= 500
        ? 'info'
        : (request.routeOptions.config?.logLevel ?? (READS.has(request.method) ? 'debug' : 'info'));
    request.log[level](
      {
        method: request.method,
        url: loggedUrl(request.url),
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        key_id: request.principal?.key_id ?? null,
        ip: request.ip,
      },
      'request',
    );
  });
  app.addHook('preClose', async () => {
    context.closing = true;
    await events.close();
  });

  await registerWebsocket(app);
  await registerRateLimit(app, options.rateLimit ?? DEFAULT_RATE_LIMIT);
  await registerMultipart(app, { fileSizeBytes: uploadLimit });
  await registerCors(app, options.corsOrigins);
  if (options.docs !== false) {
    await registerSwagger(app, { version: options.version ?? packageVersion() });
  }

  await app.register(healthRoutes);
  await app.register(metricsRoutes);
  await app.register(configRoutes);
  await app.register(instancesRoutes);
  await app.register(keysRoutes);
  await app.register(eventsRoutes, {
    ...(options.events?.maxBufferedBytes === undefined
      ? {}
      : { maxBufferedBytes: options.events.maxBufferedBytes }),
  });
  return app;
}

/** Options of {@link registerJobApi}. */
export interface JobApiOptions {
  /** Hosts URL inputs may be fetched from (default none: URL inputs are off). */
  allowInputHosts?: readonly string[];
  /** Longest `wait=true` (default 600 s). */
  maxWaitMs?: number;
  /** The built dashboard (default dist/web); false serves none. */
  dashboardDir?: string | false;
}

/**
 * Registers the job API over a job layer (jobs, templates, the seed's async routes, job metrics)
 * and the dashboard at `/`. Call before the app is ready.
 *
 * @example
 * const app = await buildApp(deps, options);
 * await registerJobApi(app, layer);
 * await app.listen({ port: 8190 });
 */
export async function registerJobApi(
  app: FastifyInstance,
  layer: JobLayer,
  options: JobApiOptions = {},
): Promise<void> {
  await app.register(jobsRoutes, {
    layer,
    ...(options.allowInputHosts ? { allowInputHosts: options.allowInputHosts } : {}),
    ...(options.maxWaitMs === undefined ? {} : { maxWaitMs: options.maxWaitMs }),
  });
  const offMetrics = registerJobMetrics(app.api.metrics, layer);
  layer.webhooks.registerMetrics(app.api.metrics.registry);
  app.addHook('onClose', async () => offMetrics());
  await app.register(templatesRoutes, { layer });
  await app.register(seedRoutes, { layer });
  // ComfyUI's own paths (/prompt, /ws, /view, ... and their /api mirrors); GET / and /assets/*
  // stay the dashboard's.
  await app.register(comfyRoutes, {
    service: layer.service,
    services: layer.services,
    bus: layer.jobBus,
  });
  if (options.dashboardDir !== false) {
    await registerDashboard(
      app,
      options.dashboardDir === undefined ? {} : { dir: options.dashboardDir },
    );
  }
}
