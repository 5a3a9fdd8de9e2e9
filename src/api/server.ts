import { mkdtemp, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import {
  type HealthEvents,
  HealthMonitor,
  type HealthMonitorOptions,
} from '../fleet/health/index.js';
import {
  configDir,
  type FleetEvents,
  type InstanceCreate,
  InstanceRegistry,
  type SettingKey,
} from '../fleet/index.js';
import type { RunnerOptions } from '../scheduler/dispatch/index.js';
import {
  apiKeyRepository,
  defaultDataDir,
  type EventBus,
  InProcessEventBus,
  openStore,
  STORE_FILE_NAME,
} from '../store/index.js';
import {
  defaultInstallDir,
  type LocalFleetOptions,
  type LocalFleetPlan,
  type ManagedFleet,
  ManagedFleetError,
  type ManagedFleetOptions,
  PlanError,
  planLocalFleet,
  readSupervisorEnv,
  startManagedFleet,
} from '../supervisor/index.js';
import { buildApp, registerJobApi } from './app.js';
import type { AuthMode } from './auth/authenticate.js';
import type { AppOptions } from './context.js';
import { createLogger, type LoggerOptions } from './logging/logger.js';
import { withoutInstanceVariables } from './quick-instances.js';
import { type JobLayer, openJobLayer } from './routes/jobs/index.js';

/** Default address: this machine only. */
export const DEFAULT_LISTEN = '127.0.0.1';
/** Default port (ComfyUI itself uses 8188). */
export const DEFAULT_GATEWAY_PORT = 8190;

/** The gateway could not start; `message` is one line telling what to do. */
export class GatewayStartError extends Error {
  constructor(
    message: string,
    readonly kind: 'usage' | 'failed' = 'failed',
  ) {
    super(message);
    this.name = 'GatewayStartError';
  }
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h.startsWith('::ffff:127.');
}

/** The URL clients use for `host:port` (a wildcard bind is shown as is). */
export function listenUrl(host: string, port: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

/**
 * How the gateway authenticates on `host`: `required` beyond loopback, `auto` on loopback or
 * with `insecure`. Beyond loopback without `insecure` at least one active key must exist;
 * otherwise a {@link GatewayStartError} says how to create one.
 *
 * @example
 * authModeFor('0.0.0.0', { insecure: false, activeKeys: 1 }); // 'required'
 */
export function authModeFor(
  host: string,
  options: { insecure: boolean; activeKeys: number },
): AuthMode {
  if (isLoopback(host) || options.insecure) return 'auto';
  if (options.activeKeys === 0) {
    throw new GatewayStartError(
      `refusing to listen on ${host} without an API key: create one with \`comfy-cluster keys create --role admin --data-dir\` (same data dir as the gateway), or pass --insecure to run without authentication`,
      'usage',
    );
  }
  return 'required';
}

/** ComfyUI on this machine: managed instances started before the gateway accepts jobs. */
export interface LocalGatewayOptions {
  /** A plan made already (`launch` prints it first); else one is made from `fleet`. */
  plan?: LocalFleetPlan;
  /** Flags for {@link planLocalFleet} (install dir, port start, GPUs, emulate, ...). */
  fleet?: LocalFleetOptions;
  /** Restart, readiness, stop-grace and log settings (tests shorten them). */
  supervisor?: ManagedFleetOptions['supervisor'];
  /** Every status change of a managed instance (launch prints them). */
  onStatus?: ManagedFleetOptions['onStatus'];
  /** After the instances are ready, wait this long at most for the monitor to call them healthy. Default 30 000 ms. */
  healthyTimeoutMs?: number;
  /** A job stalled on a managed instance restarts it at most once per this period. Default 10 min. */
  stallRestartIntervalMs?: number;
}

/** Options of {@link startGateway}: the `serve` flags plus seams for tests. */
export interface GatewayOptions {
  host?: string;
  port?: number;
  /** Listen beyond loopback without any API key (authentication stays off until one exists). */
  insecure?: boolean;
  /** Store and session files (default COMFY_CLUSTER_DATA_DIR or the platform data dir). */
  dataDir?: string;
  /** comfyui_instances.json (default: the fleet's rules: COMFY_CLUSTER_CONFIG, config dir). */
  configFile?: string;
  /** Quick start: these instances only, kept in a session file, never in the config file. */
  quickInstances?: InstanceCreate[];
  env?: NodeJS.ProcessEnv;
  /** Command-line values of the tunables (`--log-level` → `log_level`). */
  flags?: Partial<Record<SettingKey, unknown>>;
  corsOrigins?: string[];
  app?: Omit<AppOptions, 'auth' | 'corsOrigins'>;
  /** Where log lines go besides LOG_DIRECTORY (default standard output). */
  logDestination?: LoggerOptions['destination'];
  monitor?: Partial<Omit<HealthMonitorOptions, 'fleet' | 'bus' | 'store' | 'logger'>>;
  /**
   * Template files, one JSON per template (default COMFY_CLUSTER_TEMPLATES, else
   * `<config dir>/templates`; a missing folder is fine). Built-ins are always there.
   */
  templatesDir?: string;
  /** Hosts URL inputs may be fetched from (default COMFY_CLUSTER_ALLOW_INPUT_HOSTS; none = off). */
  allowInputHosts?: string[];
  /** The built dashboard served at `/` (default dist/web); false serves none. */
  dashboardDir?: string | false;
  /** Longest `wait=true` in ms (default 600 000). */
  maxWaitMs?: number;
  /** Runner timings: stall timeout, polling (tests shorten them). */
  runner?: RunnerOptions;
  /** Webhook signing secret (default COMFY_CLUSTER_WEBHOOK_SECRET, else `<data dir>/webhook_secret`). */
  webhookSecret?: string;
  /**
   * Run ComfyUI on this machine too (`serve --local`, ENABLE_COMFYUI=true, `launch`): install
   * check, one managed instance per GPU started and waited for, then the gateway listens.
   */
  local?: LocalGatewayOptions;
}

/** A running gateway. */
export interface RunningGateway {
  app: FastifyInstance;
  url: string;
  registry: InstanceRegistry;
  monitor: HealthMonitor;
  /** Job services, dispatcher and job service. */
  jobs: JobLayer;
  /** The managed instances (with `local`), already started. */
  managed?: ManagedFleet;
  /** Closes the server (streams included), the monitor, the registry, the store and the logs. */
  close(): Promise<void>;
}

/** Plans the local instances; a plan no machine can satisfy is a usage error. */
async function planLocal(
  fleet: LocalFleetOptions,
  env: NodeJS.ProcessEnv,
  dataDir: string,
): Promise<LocalFleetPlan> {
  try {
    return await planLocalFleet({ env, dataDir, ...fleet });
  } catch (err) {
    if (err instanceof PlanError) throw new GatewayStartError(err.message, 'usage');
    throw err;
  }
}

/**
 * Starts the managed instances and waits (bounded) until the monitor calls the ready ones
 * healthy, so the first jobs find them. Failures of single instances are logged, not thrown.
 */
async function startLocal(
  local: LocalGatewayOptions,
  plan: LocalFleetPlan,
  registry: InstanceRegistry,
  monitor: HealthMonitor,
  logger: FastifyBaseLogger,
): Promise<ManagedFleet> {
  let fleet: ManagedFleet;
  try {
    fleet = await startManagedFleet({
      local: plan,
      registry,
      ...(local.supervisor ? { supervisor: local.supervisor } : {}),
      ...(local.onStatus ? { onStatus: local.onStatus } : {}),
    });
  } catch (err) {
    if (err instanceof ManagedFleetError) throw new GatewayStartError(err.message, 'failed');
    throw err;
  }
  const { running, failed, leftovers } = fleet.started;
  for (const l of leftovers) {
    logger.warn(
      { instance: l.name, pid: l.pid, outcome: l.outcome },
      'leftover of an earlier gateway',
    );
  }
  for (const f of failed) logger.error({ instance: f.name }, `managed instance failed: ${f.error}`);
  // A first health check now rather than at the monitor's next tick; then wait (bounded) for
  // a verdict on each, so the first jobs find them. A degraded instance still takes work.
  await Promise.allSettled(running.map((id) => monitor.checkNow(id)));
  const deadline = Date.now() + (local.healthyTimeoutMs ?? 30_000);
  const answered = (id: string) => ['healthy', 'degraded'].includes(monitor.health(id).health);
  while (Date.now() < deadline && !running.every(answered)) await sleep(50);
  for (const id of running) {
    const state = fleet.supervisor.state(id);
    logger.info(
      { instance: id, pid: state?.pid ?? null, url: state?.url, health: monitor.health(id).health },
      'managed instance running',
    );
  }
  return fleet;
}

/**
 * Starts the gateway: the store under the data dir (migrated), the fleet from config file and
 * environment (or the quick-start instances), the health monitor, and the HTTP app listening on
 * `host:port` (default 127.0.0.1:8190). Beyond loopback it refuses to start without an API key
 * unless `insecure`. Throws {@link GatewayStartError} with a one-line reason.
 *
 * @example
 * const gw = await startGateway({ port: 0, quickInstances: parseQuickInstances('127.0.0.1:8188') });
 * console.log(gw.url);
 * await gw.close();
 */
export async function startGateway(options: GatewayOptions = {}): Promise<RunningGateway> {
  const env = options.env ?? process.env;
  const host = options.host ?? DEFAULT_LISTEN;
  const port = options.port ?? DEFAULT_GATEWAY_PORT;
  const cleanups: Array<() => Promise<void> | void> = [];
  const closeAll = async () => {
    while (cleanups.length > 0) {
      try {
        await cleanups.pop()?.();
      } catch {
        // keep closing the rest
      }
    }
  };
  try {
    const dataDir = options.dataDir ?? defaultDataDir(env);
    const store = await openStore({
      kind: 'sqlite',
      file: path.join(dataDir, STORE_FILE_NAME),
      migrate: false,
    });
    cleanups.push(() => store.close());
    await store.migrate();
    const apiKeys = apiKeyRepository(store);

    const auth = authModeFor(host, {
      insecure: options.insecure === true,
      activeKeys: isLoopback(host) ? 0 : await apiKeys.countActive(),
    });

    const bus = new InProcessEventBus<FleetEvents & HealthEvents>();
    let configFile = options.configFile;
    let registryEnv = env;
    if (options.quickInstances) {
      const session = await mkdtemp(path.join(tmpdir(), 'comfy-cluster-session-'));
      cleanups.push(() => rm(session, { recursive: true, force: true }));
      configFile = path.join(session, 'comfyui_instances.json');
      registryEnv = withoutInstanceVariables(env);
    }
    const registry = await InstanceRegistry.open({
      ...(configFile === undefined ? {} : { configFile }),
      env: registryEnv,
      flags: options.flags ?? {},
      bus,
    });
    cleanups.push(() => registry.close());
    for (const instance of options.quickInstances ?? []) await registry.create(instance);

    const { settings } = registry.settings;
    const log = createLogger({
      level: settings.log_level,
      directory: settings.log_directory,
      ...(options.logDestination ? { destination: options.logDestination } : {}),
    });
    cleanups.push(() => log.close());
    for (const w of registry.warnings)
      log.logger.warn({ source: w.source, code: w.code }, w.message);

    const monitor = new HealthMonitor({
      ...options.monitor,
      fleet: registry,
      bus,
      store,
      logger: log.logger,
    });
    cleanups.push(() => monitor.close());
    monitor.start();

    let managed: ManagedFleet | undefined;
    let localPlan: LocalFleetPlan | undefined;
    if (options.local) {
      localPlan = options.local.plan ?? (await planLocal(options.local.fleet ?? {}, env, dataDir));
      for (const w of localPlan.warnings) log.logger.warn({ source: 'supervisor' }, w);
      managed = await startLocal(options.local, localPlan, registry, monitor, log.logger);
      const fleet = managed;
      cleanups.push(() => fleet.close());
    }

    const templatesDir =
      options.templatesDir ??
      (env.COMFY_CLUSTER_TEMPLATES ||
        path.join(
          options.configFile ? path.dirname(path.resolve(options.configFile)) : configDir({ env }),
          'templates',
        ));
    const webhookSecret = options.webhookSecret ?? env.COMFY_CLUSTER_WEBHOOK_SECRET;
    // Crash recovery runs here (jobs left processing are re-attached or requeued).
    const jobs = await openJobLayer({
      store,
      registry,
      monitor,
      bus: bus as unknown as EventBus<Record<string, unknown>>,
      dataDir,
      templatesDir,
      jobTimeoutMs: settings.job_timeout_ms,
      maxConcurrentJobs: settings.max_concurrent_jobs,
      ...(options.runner ? { runner: options.runner } : {}),
      ...(webhookSecret ? { webhookSecret } : {}),
    });
    cleanups.push(() => jobs.close());
    if (managed) {
      const stop = managed.escalateStalls(jobs.dispatcher, {
        ...(options.local?.stallRestartIntervalMs === undefined
          ? {}
          : { minIntervalMs: options.local.stallRestartIntervalMs }),
        log: log.logger,
      });
      cleanups.push(stop);
    }
    for (const p of jobs.templates.problems) {
      log.logger.warn({ template_problem: p }, 'template file skipped');
    }
    const allowInputHosts =
      options.allowInputHosts ??
      (env.COMFY_CLUSTER_ALLOW_INPUT_HOSTS ?? '')
        .split(',')
        .map((h) => h.trim())
        .filter((h) => h !== '');

    const supervisorEnv = readSupervisorEnv(env).values;
    const app = await buildApp(
      {
        registry,
        monitor,
        store,
        apiKeys,
        logger: log.logger,
        inFlight: (id) => jobs.dispatcher.fleet.inFlight(id).length,
        ...(managed ? { supervisor: managed.supervisor } : {}),
        local: localPlan
          ? { enabled: true, installDir: localPlan.emulated ? null : localPlan.installDir }
          : {
              enabled: supervisorEnv.enableComfyui === true,
              installDir: defaultInstallDir(env),
            },
      },
      {
        ...options.app,
        auth,
        ...(options.corsOrigins ? { corsOrigins: options.corsOrigins } : {}),
      },
    );
    cleanups.push(() => app.close());
    await registerJobApi(app, jobs, {
      allowInputHosts,
      ...(options.dashboardDir === undefined ? {} : { dashboardDir: options.dashboardDir }),
      ...(options.maxWaitMs === undefined ? {} : { maxWaitMs: options.maxWaitMs }),
    });
    try {
      await app.listen({ host, port });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') {
        throw new GatewayStartError(
          `port ${port} on ${host} is already in use (choose another with --port)`,
        );
      }
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
        throw new GatewayStartError(`cannot listen on ${host}: no such address on this machine`);
      }
      throw err;
    }
    const address = app.server.address();
    const bound = typeof address === 'object' && address ? address.port : port;
    const url = listenUrl(host, bound);
    log.logger.info(
      {
        url,
        auth,
        data_dir: dataDir,
        config_file: options.quickInstances ? null : registry.configFile,
        instances: registry.list().length,
        managed: managed?.supervisor.names().length ?? 0,
      },
      'gateway listening',
    );
    let closed: Promise<void> | undefined;
    return {
      app,
      url,
      registry,
      monitor,
      jobs,
      ...(managed ? { managed } : {}),
      close: () => {
        closed ??= closeAll();
        return closed;
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
