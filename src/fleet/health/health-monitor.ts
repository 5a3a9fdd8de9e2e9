import type { ComfyClient, ComfyEventStream } from '../../comfy/index.js';
import {
  type EventBus,
  type HealthSample,
  type HealthSampleInput,
  InProcessEventBus,
  type Unsubscribe,
} from '../../store/index.js';
import type { InstanceView } from '../events.js';
import {
  type HealthSource,
  type InstanceHealth,
  type InstanceHealthSnapshot,
  UNKNOWN_HEALTH,
} from '../health-types.js';
import { AlertManager } from './alert-manager.js';
import type { InstanceCapabilities } from './capabilities.js';
import type { AlertView, HealthEvents } from './health-events.js';
import type { InstanceHealthReport } from './health-report.js';
import { InstanceMonitor, type InstanceMonitorHooks } from './instance-monitor.js';
import type { JobResult } from './job-stats.js';
import {
  type HealthLogger,
  type HealthMonitorOptions,
  type HealthStore,
  type MonitoredFleet,
  type ResolvedMonitorOptions,
  resolveMonitorOptions,
} from './monitor-options.js';
import { WebhookSender } from './webhook-sender.js';

/** Fields whose change means a new connection (new client and WebSocket). */
const CONNECTION_FIELDS = new Set(['host', 'port', 'tls', 'auth']);

/** Health samples waiting for the store at most; beyond, new ones are dropped (and counted). */
const MAX_PENDING_SAMPLES = 1_000;

/** Instances the monitor watches: routing enabled and the process up (running or draining). */
export function isMonitored(instance: Pick<InstanceView, 'enabled' | 'status'>): boolean {
  return instance.enabled && (instance.status === 'running' || instance.status === 'paused');
}

/** The per-instance connection the monitor owns, shared with the scheduler. */
export interface InstanceConnectionHandle {
  client: ComfyClient;
  events: ComfyEventStream;
}

/** Time range of {@link HealthMonitor.history}; times in ms since epoch, both inclusive. */
export interface HistoryRange {
  from?: number;
  to?: number;
  /** Newest samples kept at most (default: all in range, up to the ring size). */
  limit?: number;
}

const defaultLogger: HealthLogger = {
  warn: (obj, msg) => process.emitWarning(`${msg} ${JSON.stringify(obj)}`, 'HealthMonitor'),
};

/**
 * The health monitor of the whole fleet. Follows the registry (instances added, changed,
 * paused, stopped, removed) and keeps, per monitored instance, one ComfyUI client and one
 * WebSocket ({@link connectionFor}, for the scheduler too), the checks and circuit breaker, the
 * figures, the capabilities cache, job stats, health samples and alerts in the store, and events
 * on the bus (`instance.health`, `instance.capabilities`, `alert.raised`, `alert.cleared`).
 *
 * Readers get cached state ({@link report}, {@link health}); {@link refresh} checks only when the
 * cache is older than the TTL, and never more than one check per instance is in flight.
 *
 * @example
 * const monitor = new HealthMonitor({ fleet: registry, bus, store, webhook: 'https://ops.example/alerts' });
 * monitor.start();
 * bus.subscribe('instance.health', (e) => log.info(e, 'health'));
 * const report = await monitor.refresh('gpu1');
 * const { client, events } = monitor.connectionFor('gpu1')!;
 * monitor.reportDispatchFailure('gpu1', err);
 * monitor.recordJobResult('gpu1', { ok: true, execution_ms: 41_200 });
 * await monitor.close();
 */
export class HealthMonitor implements HealthSource {
  readonly bus: EventBus<HealthEvents>;
  readonly #options: ResolvedMonitorOptions;
  readonly #fleet: MonitoredFleet;
  readonly #store: HealthStore | undefined;
  readonly #logger: HealthLogger;
  readonly #clock: () => number;
  readonly #monitors = new Map<string, InstanceMonitor>();
  readonly #closing = new Set<Promise<void>>();
  readonly #alerts: AlertManager;
  readonly #webhook: WebhookSender | undefined;
  readonly #hooks: InstanceMonitorHooks;
  readonly #statsTimers = new Map<string, NodeJS.Timeout>();
  readonly #storeWrites = new Set<Promise<unknown>>();
  #unsubscribe: Unsubscribe[] = [];
  #pruneTimer: NodeJS.Timeout | undefined;
  #started = false;
  #closed: Promise<void> | undefined;
  #pendingSamples = 0;
  #droppedSamples = 0;

  constructor(options: HealthMonitorOptions) {
    this.#options = resolveMonitorOptions(options);
    this.#fleet = options.fleet;
    this.bus = options.bus ?? new InProcessEventBus<HealthEvents>();
    this.#store = options.store;
    this.#logger = options.logger ?? defaultLogger;
    this.#clock = options.clock ?? Date.now;
    this.#webhook = this.#options.webhook
      ? new WebhookSender(this.#options.webhook, this.#logger)
      : undefined;
    this.#alerts = new AlertManager({
      store: this.#store?.alerts,
      publish: (type, alert) => this.bus.publish(type, { alert }),
      webhook: this.#webhook,
      instanceName: (id) => this.#fleet.get(id)?.name ?? null,
      clock: this.#clock,
      logger: this.#logger,
    });
    this.#hooks = {
      changed: (monitor, previous) => this.#publishHealth(monitor, previous),
      sample: (sample) => this.#recordSample(sample),
      alerts: (id, conditions) => this.#alerts.sync(id, conditions),
      capabilities: (id, caps) =>
        this.bus.publish('instance.capabilities', {
          id,
          fetched_at: caps.fetched_at,
          node_classes: Object.keys(caps.node_classes).length,
          models: Object.fromEntries(Object.entries(caps.models).map(([k, v]) => [k, v.length])),
        }),
      jobStatsChanged: (id) => this.#scheduleStatsSave(id),
      warn: (obj, msg) => this.#logger.warn(obj, msg),
    };
  }

  /** Starts following the registry and checking every monitored instance. Idempotent. */
  start(): this {
    if (this.#started || this.#closed) return this;
    this.#started = true;
    const bus = this.#fleet.bus;
    this.#unsubscribe = [
      bus.subscribe('instance.added', (p) => this.#sync(p.instance.id, [])),
      bus.subscribe('instance.changed', (p) => this.#sync(p.instance.id, p.changes)),
      bus.subscribe('instance.status', (p) => this.#sync(p.id, [])),
      bus.subscribe('instance.removed', (p) => this.#forget(p.id)),
    ];
    for (const instance of this.#fleet.list()) this.#sync(instance.id, []);
    if (this.#store) {
      this.#clearOrphanAlerts();
      this.#pruneTimer = setInterval(() => this.#prune(), this.#options.pruneIntervalMs);
      this.#pruneTimer.unref();
    }
    return this;
  }

  /**
   * The settings in force. The webhook shows only whether one is set: its URL and headers may
   * carry secrets.
   */
  get settings(): Omit<ResolvedMonitorOptions, 'webhook'> & { webhook: boolean } {
    const { webhook, ...rest } = structuredClone(this.#options);
    return { ...rest, webhook: webhook !== null };
  }

  /** Ids of the instances being checked. */
  monitored(): string[] {
    return [...this.#monitors.keys()];
  }

  /** The fleet seam: cached snapshot, `unknown` for instances not monitored. */
  health(instanceId: string): InstanceHealthSnapshot {
    return this.#monitors.get(instanceId)?.snapshot() ?? { ...UNKNOWN_HEALTH, reasons: [] };
  }

  /** Everything known about one monitored instance (cached, no request), or undefined. */
  report(instanceId: string): InstanceHealthReport | undefined {
    return this.#monitors.get(instanceId)?.report();
  }

  /** Reports of every monitored instance (cached, no request). */
  reports(): InstanceHealthReport[] {
    return [...this.#monitors.values()].map((m) => m.report());
  }

  /**
   * The report, checked first if the cached state is older than `maxAgeMs` (default: the cache
   * TTL). However many callers ask at once, at most one check runs per instance; an open
   * circuit's probe schedule is not hurried by readers.
   */
  async refresh(
    instanceId: string,
    options: { maxAgeMs?: number } = {},
  ): Promise<InstanceHealthReport | undefined> {
    const m = this.#monitors.get(instanceId);
    if (!m) return undefined;
    await m.refresh(options.maxAgeMs ?? this.#options.cacheTtlMs);
    return m.closed ? undefined : m.report();
  }

  /** Checks now (probing an open circuit); shares a check already in flight. */
  async checkNow(instanceId: string): Promise<InstanceHealthReport | undefined> {
    const m = this.#monitors.get(instanceId);
    if (!m) return undefined;
    await m.check();
    return m.closed ? undefined : m.report();
  }

  /**
   * The instance's ComfyUI client and WebSocket, owned by the monitor (do not close them). A
   * connection change (host, port, tls, auth) replaces them: get them again after
   * `instance.changed`. Undefined for instances not monitored.
   */
  connectionFor(instanceId: string): InstanceConnectionHandle | undefined {
    const m = this.#monitors.get(instanceId);
    return m ? { client: m.client, events: m.events } : undefined;
  }

  /** Cached capabilities (fetched once per connection), or undefined before the first fetch. */
  capabilities(instanceId: string): InstanceCapabilities | undefined {
    return this.#monitors.get(instanceId)?.capabilities;
  }

  /** Fetches capabilities now (shares a fetch in flight); rejects for unmonitored instances. */
  refreshCapabilities(instanceId: string): Promise<InstanceCapabilities> {
    const m = this.#monitors.get(instanceId);
    if (!m) return Promise.reject(new Error(`instance '${instanceId}' is not monitored`));
    return m.refreshCapabilities();
  }

  /**
   * For the scheduler: a dispatch to the instance failed. Counts toward the circuit (and
   * triggers a check) when the error says the instance did not answer; a workflow the instance
   * rejected does not count. Returns whether it counted.
   */
  reportDispatchFailure(instanceId: string, error: unknown): boolean {
    return this.#monitors.get(instanceId)?.reportFailure(error) ?? false;
  }

  /** For the scheduler: a dispatch succeeded (resets consecutive failures of a closed circuit). */
  reportDispatchSuccess(instanceId: string): void {
    this.#monitors.get(instanceId)?.reportSuccess();
  }

  /** For the scheduler: a job finished on the instance (totals, mean time, failure rate, alerts). */
  recordJobResult(instanceId: string, result: JobResult): void {
    this.#monitors.get(instanceId)?.recordJob(result);
  }

  /** Health samples of one instance in a time range, oldest first (needs a store). */
  async history(instanceId: string, range: HistoryRange = {}): Promise<HealthSample[]> {
    if (!this.#store) return [];
    const rows = await this.#store.healthSamples.recent(
      instanceId,
      range.from === undefined ? {} : { since: range.from },
    );
    const to = range.to ?? Number.POSITIVE_INFINITY;
    const inRange = rows.filter((s) => s.sampled_at <= to);
    const limited = range.limit === undefined ? inRange : inRange.slice(0, range.limit);
    return limited.reverse();
  }

  /** Open alerts (of one instance, or all), newest first. */
  openAlerts(instanceId?: string): AlertView[] {
    return this.#alerts.open(instanceId);
  }

  /** Counters for diagnostics. */
  counters(): {
    monitored: number;
    samples_pending: number;
    samples_dropped: number;
    webhook: WebhookSender['counters'] | null;
  } {
    return {
      monitored: this.#monitors.size,
      samples_pending: this.#pendingSamples,
      samples_dropped: this.#droppedSamples,
      webhook: this.#webhook?.counters ?? null,
    };
  }

  /** Resolves when queued store writes, alert work and webhook deliveries are done (tests, shutdown). */
  async idle(): Promise<void> {
    await this.#alerts.idle();
    while (this.#storeWrites.size > 0) await Promise.allSettled([...this.#storeWrites]);
    await this.#webhook?.idle();
  }

  /** Stops everything: timers, checks, WebSockets, clients; flushes job stats and alerts. */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    clearInterval(this.#pruneTimer);
    const ids = [...this.#monitors.keys()];
    await Promise.all(ids.map((id) => this.#stop(id, { clearAlerts: false, announce: false })));
    await Promise.all([...this.#closing]);
    for (const timer of this.#statsTimers.values()) clearTimeout(timer);
    this.#statsTimers.clear();
    await this.#alerts.idle();
    while (this.#storeWrites.size > 0) await Promise.allSettled([...this.#storeWrites]);
    await this.#webhook?.close();
  }

  // ----- following the registry -----------------------------------------------------------

  #sync(id: string, changes: readonly string[]): void {
    if (this.#closed) return;
    const view = this.#fleet.get(id);
    const current = this.#monitors.get(id);
    if (!view || !isMonitored(view)) {
      if (current) void this.#stop(id, { clearAlerts: true, announce: true });
      return;
    }
    if (current && changes.some((f) => CONNECTION_FIELDS.has(f))) {
      void this.#stop(id, { clearAlerts: true, announce: true }).then(() => this.#sync(id, []));
      return;
    }
    if (!current) this.#add(id);
  }

  #add(id: string): void {
    let monitor: InstanceMonitor;
    try {
      monitor = new InstanceMonitor({
        id,
        connection: this.#fleet.connection(id),
        options: this.#options,
        clock: this.#clock,
        hooks: this.#hooks,
      });
    } catch (err) {
      this.#logger.warn(
        { instance: id, err: err instanceof Error ? err.message : String(err) },
        'cannot monitor instance: its address is not usable',
      );
      return;
    }
    this.#monitors.set(id, monitor);
    this.#alerts.load(id);
    this.#restoreStats(id, monitor);
    monitor.start();
  }

  #stop(id: string, how: { clearAlerts: boolean; announce: boolean }): Promise<void> {
    const monitor = this.#monitors.get(id);
    if (!monitor) return Promise.resolve();
    this.#monitors.delete(id);
    this.#saveStats(id, monitor);
    if (how.clearAlerts) this.#alerts.clearAll(id);
    if (how.announce && monitor.health !== 'unknown') {
      this.bus.publish('instance.health', {
        id,
        health: 'unknown',
        previous: monitor.health,
        circuit: 'closed',
        reasons: [],
        report: null,
      });
    }
    const closing = monitor.close().finally(() => this.#closing.delete(closing));
    this.#closing.add(closing);
    return closing;
  }

  #forget(id: string): void {
    void this.#stop(id, { clearAlerts: true, announce: true });
    const store = this.#store;
    if (!store) return;
    this.#track(
      this.#alerts
        .idle()
        .then(() =>
          Promise.all([store.healthSamples.deleteInstance(id), store.instanceStats.delete(id)]),
        ),
      id,
      'could not delete the history of a removed instance',
    );
  }

  // ----- events and persistence -----------------------------------------------------------

  #publishHealth(monitor: InstanceMonitor, previous: InstanceHealth): void {
    if (!this.#monitors.has(monitor.id)) return;
    const report = monitor.report();
    this.bus.publish('instance.health', {
      id: monitor.id,
      health: report.health,
      previous,
      circuit: report.circuit,
      reasons: report.reasons,
      report,
    });
  }

  #track(work: Promise<unknown>, id: string, problem: string): void {
    const tracked = work
      .catch((err: unknown) => {
        this.#logger.warn(
          { instance: id, err: err instanceof Error ? err.message : String(err) },
          problem,
        );
      })
      .finally(() => this.#storeWrites.delete(tracked));
    this.#storeWrites.add(tracked);
  }

  #recordSample(sample: HealthSampleInput): void {
    const store = this.#store;
    if (!store) return;
    if (this.#pendingSamples >= MAX_PENDING_SAMPLES) {
      this.#droppedSamples++;
      return;
    }
    this.#pendingSamples++;
    this.#track(
      store.healthSamples.record(sample).finally(() => {
        this.#pendingSamples--;
      }),
      sample.instance_id,
      'could not store a health sample',
    );
  }

  #restoreStats(id: string, monitor: InstanceMonitor): void {
    const store = this.#store;
    if (!store) return;
    this.#track(
      store.instanceStats.get(id).then((snapshot) => {
        if (snapshot && !monitor.closed) monitor.jobStats.restore(snapshot);
      }),
      id,
      'could not read the stored job stats',
    );
  }

  #scheduleStatsSave(id: string): void {
    if (!this.#store || this.#statsTimers.has(id)) return;
    const timer = setTimeout(() => {
      this.#statsTimers.delete(id);
      const monitor = this.#monitors.get(id);
      if (monitor) this.#saveStats(id, monitor);
    }, this.#options.statsSaveDelayMs);
    timer.unref();
    this.#statsTimers.set(id, timer);
  }

  #saveStats(id: string, monitor: InstanceMonitor): void {
    const store = this.#store;
    const timer = this.#statsTimers.get(id);
    if (timer) clearTimeout(timer);
    this.#statsTimers.delete(id);
    if (!store || monitor.jobStats.view(this.#clock()).total === 0) return;
    this.#track(
      store.instanceStats.save(monitor.jobStats.snapshot(id, this.#clock())),
      id,
      'could not store the job stats',
    );
  }

  #prune(): void {
    const store = this.#store;
    if (!store) return;
    this.#track(store.healthSamples.prune(this.#clock()), '*', 'could not prune health samples');
  }

  // Alerts a previous run left open for instances that no longer exist.
  #clearOrphanAlerts(): void {
    const store = this.#store;
    if (!store) return;
    this.#track(
      store.alerts.list({ open: true, limit: 10_000 }).then(async (rows) => {
        const known = new Set(this.#fleet.list().map((i) => i.id));
        const orphans = new Set(rows.map((r) => r.instance_id).filter((id) => !known.has(id)));
        for (const id of orphans) await store.alerts.clear(id, undefined, this.#clock());
      }),
      '*',
      'could not clear alerts of removed instances',
    );
  }
}
