/**
 * A whole gateway minus HTTP, for tests, benchmarks and the crash stand-in: a SQLite store in a
 * folder, the jobs layer, a registry with its config file there, the health monitor, one bus,
 * the dispatcher and the job service.
 */
import path from 'node:path';
import type { FleetEvents } from '../../../fleet/events.js';
import { type HealthEvents, HealthMonitor } from '../../../fleet/health/index.js';
import { InstanceRegistry } from '../../../fleet/index.js';
import { createJobServices, type JobServices } from '../../../jobs/index.js';
import { InProcessEventBus, openStore, type Store } from '../../../store/index.js';
import type { SchedulerOptions } from '../../scheduler.js';
import { Dispatcher } from '../dispatcher.js';
import type { JobEvents } from '../job-events.js';
import type { RunnerOptions } from '../job-runner.js';
import { JobService } from '../job-service.js';

export type GatewayEvents = FleetEvents & HealthEvents & JobEvents;

/** An instance to configure (only when the config file has none yet). */
export interface GatewayInstance {
  name: string;
  port: number;
  max_concurrent?: number;
  prefetch?: number;
  tags?: string[];
  priority?: number;
}

export interface GatewayOptions {
  dir: string;
  instances?: GatewayInstance[];
  scheduler?: SchedulerOptions;
  runner?: RunnerOptions;
  /** Health check period (ms). Default 200. */
  healthIntervalMs?: number;
  /** Start the dispatcher (recovery + queue) right away. Default true. */
  start?: boolean;
}

export interface Gateway {
  store: Store;
  services: JobServices;
  registry: InstanceRegistry;
  monitor: HealthMonitor;
  bus: InProcessEventBus<GatewayEvents>;
  dispatcher: Dispatcher;
  service: JobService;
  /** Instance ids in configuration order. */
  ids: string[];
  /** Resolves once every instance is healthy with its capabilities fetched. */
  ready(limitMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens a gateway over `dir` (store `cc.db`, data under `data/`, config file there).
 *
 * @example
 * const gw = await openGateway({ dir, instances: [{ name: 'a', port: emu.port }] });
 * await gw.ready();
 * const { job } = await gw.service.submit({ workflow });
 * await gw.close();
 */
export async function openGateway(options: GatewayOptions): Promise<Gateway> {
  const bus = new InProcessEventBus<GatewayEvents>();
  const store = await openStore({ kind: 'sqlite', file: path.join(options.dir, 'cc.db') });
  const services = createJobServices(store, { dataDir: path.join(options.dir, 'data') });
  const registry = await InstanceRegistry.open({
    configFile: path.join(options.dir, 'comfyui_instances.json'),
    env: {},
    bus,
  });
  const names = new Set(registry.list().map((i) => i.name));
  for (const inst of options.instances ?? []) {
    if (names.has(inst.name)) continue; // kept in the config file from an earlier run
    await registry.create({
      name: inst.name,
      host: '127.0.0.1',
      port: inst.port,
      max_concurrent: inst.max_concurrent ?? 1,
      prefetch: inst.prefetch ?? 1,
      tags: inst.tags ?? [],
      priority: inst.priority ?? 1,
    });
  }
  const interval = options.healthIntervalMs ?? 200;
  const monitor = new HealthMonitor({
    fleet: registry,
    bus,
    intervalMs: interval,
    checkTimeoutMs: 2_000,
    recheckDelayMs: 100,
    probeInitialDelayMs: 200,
    probeMaxDelayMs: 1_000,
    eventStream: {
      clientIdPrefix: 'cc-test-gateway',
      reconnectInitialDelayMs: 50,
      reconnectMaxDelayMs: 500,
    },
    logger: { warn: () => {} },
  }).start();
  const dispatcher = new Dispatcher({
    ...services,
    registry,
    monitor,
    bus,
    ...(options.scheduler ? { scheduler: options.scheduler } : {}),
    ...(options.runner ? { runner: options.runner } : {}),
  });
  const service = new JobService({ services, dispatcher, bus });
  const ids = registry.list().map((i) => i.id);
  const ready = async (limitMs = 15_000) => {
    const deadline = Date.now() + limitMs;
    while (
      !ids.every(
        (id) => monitor.capabilities(id) !== undefined && monitor.health(id).health === 'healthy',
      )
    ) {
      if (Date.now() > deadline) throw new Error('gateway: instances not ready in time');
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  if (options.start !== false) await dispatcher.start();
  return {
    store,
    services,
    registry,
    monitor,
    bus,
    dispatcher,
    service,
    ids,
    ready,
    close: async () => {
      service.close();
      await dispatcher.stop();
      await monitor.close();
      await registry.close();
      await store.close();
    },
  };
}
