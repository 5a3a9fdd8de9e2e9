/**
 * Test harness for the API: a real SQLite store in a temp dir, a real registry with a temp
 * config file, real emulators as instances, the real health monitor (fast timings), the app,
 * and every pino line captured.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { type RunningEmulator, startEmulator } from '../../emulator/index.js';
import type { HealthEvents } from '../../fleet/health/index.js';
import { HealthMonitor, type HealthMonitorOptions } from '../../fleet/health/index.js';
import { type FleetEvents, InstanceRegistry } from '../../fleet/index.js';
import {
  type ApiKeyRepository,
  apiKeyRepository,
  InProcessEventBus,
  openStore,
  type Store,
} from '../../store/index.js';
import { buildApp } from '../app.js';
import type { AppDeps, AppOptions } from '../context.js';
import { createLogger } from '../logging/logger.js';

/** Health monitor timings for tests: a down instance is seen within about a second. */
export const FAST_MONITOR: Partial<HealthMonitorOptions> = {
  intervalMs: 200,
  checkTimeoutMs: 1_000,
  recheckDelayMs: 100,
  probeInitialDelayMs: 200,
  probeMaxDelayMs: 600,
  statsSaveDelayMs: 50,
  eventStream: {
    clientIdPrefix: 'api-test',
    reconnectInitialDelayMs: 50,
    reconnectMaxDelayMs: 300,
  },
};

export interface Harness {
  app: FastifyInstance;
  registry: InstanceRegistry;
  monitor: HealthMonitor;
  store: Store;
  keys: ApiKeyRepository;
  bus: InProcessEventBus<FleetEvents & HealthEvents>;
  dir: string;
  emulators: RunningEmulator[];
  /** Instance ids, in emulator order. */
  ids: string[];
  /** Every log line written so far (raw JSON text). */
  logs: string[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Emulators to start and add as instances (default 1). */
  emulators?: number;
  app?: AppOptions;
  deps?: Partial<AppDeps>;
  monitor?: Partial<HealthMonitorOptions>;
  logLevel?: string;
  /** Environment the registry reads (default empty). */
  env?: Record<string, string>;
}

/** Resolves once `predicate` holds; throws after `limitMs` naming `what`. */
export async function until(
  predicate: () => boolean | Promise<boolean>,
  limitMs: number,
  what: string,
): Promise<void> {
  const start = Date.now();
  while (!(await predicate())) {
    if (Date.now() - start > limitMs) throw new Error(`timed out after ${limitMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Builds everything; `close()` tears it down in reverse order and removes the temp dir.
 *
 * @example
 * const h = await harness({ emulators: 1 });
 * const res = await h.app.inject({ url: '/health' });
 * await h.close();
 */
export async function harness(options: HarnessOptions = {}): Promise<Harness> {
  const cleanups: Array<() => Promise<void> | void> = [];
  const close = async () => {
    while (cleanups.length > 0) await cleanups.pop()?.();
  };
  try {
    const dir = await mkdtemp(path.join(tmpdir(), 'cc-api-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const logs: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n')) if (line !== '') logs.push(line);
        done();
      },
    });
    const log = createLogger({ level: options.logLevel ?? 'debug', destination: sink });
    cleanups.push(() => log.close());

    const store = await openStore({
      kind: 'sqlite',
      file: path.join(dir, 'cc.db'),
      migrate: false,
    });
    cleanups.push(() => store.close());
    await store.migrate();
    const keys = apiKeyRepository(store);

    const emulators: RunningEmulator[] = [];
    for (let i = 0; i < (options.emulators ?? 1); i++) {
      const emu = await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY });
      cleanups.push(() => emu.close());
      emulators.push(emu);
    }

    const bus = new InProcessEventBus<FleetEvents & HealthEvents>();
    const registry = await InstanceRegistry.open({
      configFile: path.join(dir, 'comfyui_instances.json'),
      env: options.env ?? {},
      bus,
    });
    cleanups.push(() => registry.close());
    const ids: string[] = [];
    for (const [i, emu] of emulators.entries()) {
      const view = await registry.create({ name: `emu${i}`, host: '127.0.0.1', port: emu.port });
      ids.push(view.id);
    }
    const monitor = new HealthMonitor({
      ...FAST_MONITOR,
      ...options.monitor,
      fleet: registry,
      bus,
      store,
      logger: log.logger,
    });
    cleanups.push(() => monitor.close());
    monitor.start();

    const app = await buildApp(
      { registry, monitor, store, apiKeys: keys, logger: log.logger, ...options.deps },
      { rateLimit: false, ...options.app },
    );
    cleanups.push(() => app.close());
    return { app, registry, monitor, store, keys, bus, dir, emulators, ids, logs, close };
  } catch (err) {
    await close();
    throw err;
  }
}
