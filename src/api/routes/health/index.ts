/**
 * Operations: `/health` (seed shape, 503 when no instance is healthy), `/health/comfyui/...`
 * (installation, instances, per GPU, models), `/livez` and `/readyz`.
 */
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { Type } from 'typebox';
import { formatHostPort, type InstanceView } from '../../../fleet/index.js';
import { STORE_MIGRATIONS } from '../../../store/index.js';
import { installationStatus, type ManagedInstanceState } from '../../../supervisor/index.js';
import { ApiError } from '../../errors.js';
import { AnyObject, ErrorSchema, errorResponses, NullableTime } from '../../schemas.js';

const HealthSchema = Type.Object({
  status: Type.Union([Type.Literal('healthy'), Type.Literal('degraded')]),
  timestamp: Type.String({ description: 'ISO-8601' }),
  uptime: Type.Number({ description: 'seconds the gateway process has run' }),
  comfyui_instances: Type.Array(
    Type.Object({
      id: Type.String(),
      name: Type.String(),
      host: Type.String({ description: 'host:port' }),
      healthy: Type.Boolean(),
      health: Type.String(),
      status: Type.String(),
      active_jobs: Type.Integer(),
      last_check: NullableTime,
    }),
  ),
  warnings: Type.Array(AnyObject, { description: 'configuration problems (bad env values, ...)' }),
});

const ComfyHealthSchema = Type.Object({
  status: Type.Union([
    Type.Literal('healthy'),
    Type.Literal('degraded'),
    Type.Literal('unhealthy'),
  ]),
  timestamp: Type.String(),
  instances: Type.Object({
    total: Type.Integer(),
    healthy: Type.Integer(),
    degraded: Type.Integer(),
    unhealthy: Type.Integer(),
    unknown: Type.Integer(),
  }),
  local: Type.Object({
    enabled: Type.Boolean(),
    install_dir: Type.Union([Type.String(), Type.Null()]),
  }),
});

const ManagedSchema = Type.Union([
  Type.Object({
    status: Type.String(),
    pid: Type.Union([Type.Integer(), Type.Null()]),
    restarts: Type.Integer(),
    started_at: NullableTime,
    ready_at: NullableTime,
    error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
    log_file: Type.String(),
  }),
  Type.Null(),
]);

const InstanceHealthSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  host: Type.String(),
  port: Type.Integer(),
  kind: Type.String(),
  gpu_device: Type.Union([Type.String(), Type.Null()]),
  status: Type.String(),
  health: Type.String(),
  circuit: Type.String(),
  reasons: Type.Array(Type.String()),
  checked_at: NullableTime,
  latency_ms: Type.Union([Type.Number(), Type.Null()]),
  comfyui_version: Type.Union([Type.String(), Type.Null()]),
  vram_free: Type.Union([Type.Number(), Type.Null()]),
  vram_total: Type.Union([Type.Number(), Type.Null()]),
  queue: Type.Union([
    Type.Object({ running: Type.Integer(), pending: Type.Integer() }),
    Type.Null(),
  ]),
  managed: ManagedSchema,
});

const ModelsSchema = Type.Object({
  folders: Type.Record(Type.String(), Type.Record(Type.String(), Type.Array(Type.String())), {
    description: 'folder → file → ids of the instances that have it',
  }),
  instances: Type.Array(
    Type.Object({
      id: Type.String(),
      name: Type.String(),
      fetched_at: NullableTime,
      models: Type.Record(Type.String(), Type.Integer(), { description: 'folder → file count' }),
    }),
  ),
});

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Matches `0`, `gpu0`, `cuda:0`, `comfyui-gpu0` to a GPU index. */
function gpuIndex(text: string): number | null {
  const m = /^(?:comfyui-)?(?:gpu|cuda:?)?(\d{1,3})$/i.exec(text.trim());
  return m ? Number(m[1]) : null;
}

/**
 * Registers the health routes.
 *
 * @example
 * await app.register(healthRoutes);
 */
export async function healthRoutes(app: FastifyInstance): Promise<void> {
  const { deps } = app.api;
  const { registry, monitor } = deps;

  const managedState = (view: InstanceView): ManagedInstanceState | undefined =>
    view.kind === 'managed'
      ? deps.supervisor?.states().find((s) => s.name === view.id || s.name === view.name)
      : undefined;

  const activeJobs = (id: string): number => {
    if (deps.inFlight) return deps.inFlight(id);
    const q = monitor.report(id)?.queue;
    return q ? q.running + q.pending : 0;
  };

  const instanceHealth = (view: InstanceView) => {
    const snap = monitor.health(view.id);
    const report = monitor.report(view.id);
    const managed = managedState(view);
    return {
      id: view.id,
      name: view.name,
      host: view.host,
      port: view.port,
      kind: view.kind,
      gpu_device: view.gpu_device,
      status: view.status,
      health: snap.health,
      circuit: snap.circuit,
      reasons: snap.reasons,
      checked_at: snap.checked_at,
      latency_ms: snap.latency_ms,
      comfyui_version: snap.comfyui_version,
      vram_free: snap.vram_free,
      vram_total: snap.vram_total,
      queue: report?.queue ?? null,
      managed: managed
        ? {
            status: managed.status,
            pid: managed.pid,
            restarts: managed.restarts,
            started_at: iso(managed.startedAt),
            ready_at: iso(managed.readyAt),
            error: managed.error
              ? { code: managed.error.code, message: managed.error.message }
              : null,
            log_file: managed.logFile,
          }
        : null,
    };
  };

  const local = () => ({
    enabled: deps.local?.enabled ?? false,
    install_dir: deps.local?.installDir ?? null,
  });

  app.get(
    '/health',
    {
      config: { access: 'public', rateLimit: false },
      schema: {
        tags: ['operations'],
        summary: 'Gateway health: 503 with status "degraded" when no instance is healthy',
        response: { 200: HealthSchema, 503: HealthSchema },
      },
    },
    async (_request, reply) => {
      const instances = registry.list().map((view) => {
        const snap = monitor.health(view.id);
        return {
          id: view.id,
          name: view.name,
          host: formatHostPort(view.host, view.port),
          healthy: snap.health === 'healthy' || snap.health === 'degraded',
          health: snap.health,
          status: view.status,
          active_jobs: activeJobs(view.id),
          last_check: snap.checked_at,
        };
      });
      const healthy = instances.some((i) => i.healthy);
      return reply.code(healthy ? 200 : 503).send({
        status: healthy ? 'healthy' : 'degraded',
        timestamp: new Date().toISOString(),
        uptime: process.uptime(),
        comfyui_instances: instances,
        warnings: registry.warnings,
      });
    },
  );

  app.get(
    '/health/comfyui',
    {
      config: { access: 'user', rateLimit: false },
      schema: {
        tags: ['operations'],
        summary: 'ComfyUI health over all instances (503 when none answers)',
        response: { 200: ComfyHealthSchema, 503: ComfyHealthSchema, ...errorResponses() },
      },
    },
    async (_request, reply) => {
      const counts = { total: 0, healthy: 0, degraded: 0, unhealthy: 0, unknown: 0 };
      for (const view of registry.list()) {
        counts.total++;
        counts[monitor.health(view.id).health]++;
      }
      const status =
        counts.healthy > 0 && counts.healthy === counts.total
          ? 'healthy'
          : counts.healthy + counts.degraded > 0
            ? 'degraded'
            : 'unhealthy';
      return reply.code(status === 'unhealthy' ? 503 : 200).send({
        status,
        timestamp: new Date().toISOString(),
        instances: counts,
        local: local(),
      });
    },
  );

  app.get(
    '/health/comfyui/installation',
    {
      config: { access: 'user', rateLimit: false },
      schema: {
        tags: ['operations'],
        summary: 'Installation of the local ComfyUI (when local instances are enabled)',
        response: { 200: AnyObject, 503: AnyObject, ...errorResponses() },
      },
    },
    async (_request, reply) => {
      const l = local();
      if (l.enabled && l.install_dir === null) {
        return {
          enabled: true,
          installed: null,
          emulated: true,
          message:
            "the local instances run the emulator in ComfyUI's place (launch --emulate): no ComfyUI installation is used",
        };
      }
      if (!l.enabled || l.install_dir === null) {
        return {
          enabled: false,
          installed: null,
          message:
            'local ComfyUI instances are not enabled (set ENABLE_COMFYUI=true to install and run ComfyUI on this machine); remote instances need no installation here',
        };
      }
      const status = await installationStatus(l.install_dir);
      return reply.code(status.installed ? 200 : 503).send({ enabled: true, ...status });
    },
  );

  app.get(
    '/health/comfyui/instances',
    {
      config: { access: 'user', rateLimit: false },
      schema: {
        tags: ['operations'],
        summary: 'Health of every instance, with the supervisor state of local ones',
        response: {
          200: Type.Object({ instances: Type.Array(InstanceHealthSchema) }),
          ...errorResponses(),
        },
      },
    },
    async () => ({ instances: registry.list().map(instanceHealth) }),
  );

  app.get(
    '/health/comfyui/instances/:gpu',
    {
      config: { access: 'user', rateLimit: false },
      schema: {
        tags: ['operations'],
        summary:
          'Health of the instance of one GPU (index like 0, gpu0, cuda:0; or an instance id)',
        params: Type.Object({ gpu: Type.String({ minLength: 1, maxLength: 200 }) }),
        response: { 200: InstanceHealthSchema, ...errorResponses(404) },
      },
    },
    async (request) => {
      const { gpu } = request.params as { gpu: string };
      const index = gpuIndex(gpu);
      const views = registry.list();
      const byGpu =
        index === null
          ? undefined
          : views.find(
              (v) =>
                (v.gpu_device !== null && gpuIndex(v.gpu_device) === index) ||
                managedState(v)?.gpuIndex === index,
            );
      const lower = gpu.toLowerCase();
      const view = byGpu ?? views.find((v) => v.id === gpu || v.name.toLowerCase() === lower);
      if (!view) {
        throw new ApiError('instance_not_found', `no instance for GPU or id '${gpu}'`);
      }
      return instanceHealth(view);
    },
  );

  app.get(
    '/health/comfyui/models',
    {
      config: { access: 'user', rateLimit: false },
      schema: {
        tags: ['operations'],
        summary: 'Model files per folder and which instances have them',
        response: { 200: ModelsSchema, ...errorResponses() },
      },
    },
    async () => {
      const folders: Record<string, Record<string, string[]>> = {};
      const instances = registry.list().map((view) => {
        const caps = monitor.capabilities(view.id);
        const counts: Record<string, number> = {};
        for (const [folder, files] of Object.entries(caps?.models ?? {})) {
          counts[folder] = files.length;
          const byFile = folders[folder] ?? {};
          folders[folder] = byFile;
          for (const file of files) {
            const holders = byFile[file] ?? [];
            holders.push(view.id);
            byFile[file] = holders;
          }
        }
        return {
          id: view.id,
          name: view.name,
          fetched_at: caps?.fetched_at ?? null,
          models: counts,
        };
      });
      return { folders, instances };
    },
  );

  app.get(
    '/livez',
    {
      config: { access: 'public', rateLimit: false },
      schema: {
        tags: ['operations'],
        summary: 'The process is up',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  const expected = STORE_MIGRATIONS.map((m) => m.name);
  const ReadySchema = Type.Object({
    status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
    checks: Type.Object({ store: Type.String(), migrations: Type.String() }),
  });
  app.get(
    '/readyz',
    {
      config: { access: 'public', rateLimit: false },
      schema: {
        tags: ['operations'],
        summary: 'Ready for traffic: the store is open and migrated (503 otherwise)',
        response: { 200: ReadySchema, 503: ReadySchema, 500: ErrorSchema },
      },
    },
    async (_request, reply) => {
      const checks = { store: 'ok', migrations: 'ok' };
      if (app.api.closing) {
        checks.store = 'shutting down';
      } else {
        try {
          const rows = await sql<{ name: string }>`select name from kysely_migration`.execute(
            deps.store.db,
          );
          const done = new Set(rows.rows.map((r) => r.name));
          const missing = expected.filter((n) => !done.has(n));
          if (missing.length > 0) checks.migrations = `pending: ${missing.join(', ')}`;
        } catch (err) {
          checks.store = `not usable: ${err instanceof Error ? err.message : String(err)}`;
          checks.migrations = 'unknown';
        }
      }
      const ready = checks.store === 'ok' && checks.migrations === 'ok';
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
    },
  );
}
