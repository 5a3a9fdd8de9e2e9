import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import {
  type ComfyClient,
  ComfyError,
  ComfyEventStream,
  ComfyHttpError,
  ComfyTimeoutError,
  type ConnectionStateChange,
  type QueueState,
  type SystemStats,
} from '../../comfy/index.js';
import type { HealthSampleInput } from '../../store/index.js';
import type { InstanceConnection } from '../connection.js';
import type {
  ConnectionFailureKind,
  DeviceSummary,
  InstanceHealth,
  InstanceHealthSnapshot,
} from '../health-types.js';
import { fetchCapabilities, type InstanceCapabilities } from './capabilities.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { clientForConnection, deviceSummaries } from './connection-test.js';
import { classifyFailure, countsAgainstInstance } from './failure-kind.js';
import type { HealthReason, InstanceHealthReport } from './health-report.js';
import { type AlertConditions, alertConditions, degradedReasons } from './health-rules.js';
import { type JobResult, JobStats } from './job-stats.js';
import type { ResolvedMonitorOptions } from './monitor-options.js';

/** Where an instance monitor reports to (the fleet-wide HealthMonitor). */
export interface InstanceMonitorHooks {
  /** Health, circuit or reason codes changed. */
  changed(monitor: InstanceMonitor, previous: InstanceHealth): void;
  sample(sample: HealthSampleInput): void;
  alerts(instanceId: string, conditions: AlertConditions): void;
  capabilities(instanceId: string, capabilities: InstanceCapabilities): void;
  jobStatsChanged(instanceId: string): void;
  warn(obj: object, msg: string): void;
}

/** What one instance monitor is built from. */
export interface InstanceMonitorInit {
  id: string;
  connection: InstanceConnection;
  options: ResolvedMonitorOptions;
  clock: () => number;
  hooks: InstanceMonitorHooks;
}

/** Weight of the newest response time in the moving average. */
const EWMA_ALPHA = 0.3;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * Watches one instance: owns its ComfyUI client and WebSocket (shared with the scheduler),
 * checks `/system_stats` + `/queue` on the interval with at most one check in flight, re-checks
 * quickly after a failure, checks at once when the WebSocket drops, runs the circuit breaker
 * (probes with backoff while open; the WebSocket coming back probes at once), decides
 * healthy/degraded with named reasons, and caches the instance's capabilities per connection.
 *
 * @example
 * const m = new InstanceMonitor({ id, connection, options, clock: Date.now, hooks });
 * m.start();
 * await m.refresh(5000); // at most one check, shared by every caller
 * m.report().health;
 * await m.close();
 */
export class InstanceMonitor {
  readonly id: string;
  /** Shared with the scheduler (and used for capabilities). */
  readonly client: ComfyClient;
  readonly events: ComfyEventStream;
  // Checks have a pool of their own: a hung instance holding every shared connection (slow
  // transfers, a capabilities fetch) must not make checks wait in our queue instead of timing
  // out at the instance.
  readonly #checkClient: ComfyClient;
  readonly #options: ResolvedMonitorOptions;
  readonly #clock: () => number;
  readonly #hooks: InstanceMonitorHooks;
  readonly #breaker: CircuitBreaker;
  readonly #jobs: JobStats;
  readonly #lifetime = new AbortController();

  #closed = false;
  #started = false;
  #timer: NodeJS.Timeout | undefined;
  #inflight: Promise<void> | undefined;
  #again = false;
  #lastOutcome: 'ok' | 'failed' | 'inconclusive' | null = null;
  #wsEverConnected = false;
  /** The last dispatch report was a 5xx refusal: passing checks do not reset the failures. */
  #refusingDispatch = false;

  #health: InstanceHealth = 'unknown';
  #reasons: HealthReason[] = [];
  #stateKey = 'unknown|closed|';
  #checks = 0;
  #failedChecks = 0;
  #errorCount = 0;
  #lastCheckAt: number | null = null;
  #lastOkAt: number | null = null;
  #lastHealthyAt: number | null = null;
  #lastError: { message: string; kind: ConnectionFailureKind; at: number } | null = null;
  #latencyLast: number | null = null;
  #latencyAvg: number | null = null;
  #system: {
    version: string | null;
    python: string | null;
    pytorch: string | null;
    ram: { total: number; free: number } | null;
  } = { version: null, python: null, pytorch: null, ram: null };
  #devices: DeviceSummary[] = [];
  #queue: { running: number; pending: number } | null = null;

  #capabilities: InstanceCapabilities | undefined;
  #capsStale = true;
  #capsInflight: Promise<InstanceCapabilities> | undefined;
  #capsAbort: AbortController | undefined;

  constructor(init: InstanceMonitorInit) {
    this.id = init.id;
    this.#options = init.options;
    this.#clock = init.clock;
    this.#hooks = init.hooks;
    // Every request in flight listens on the lifetime signal (a capabilities fetch alone queues
    // ~20); each listener goes when its request ends.
    setMaxListeners(0, this.#lifetime.signal);
    const o = init.options;
    this.#breaker = new CircuitBreaker({
      threshold: o.failureThreshold,
      probeInitialDelayMs: o.probeInitialDelayMs,
      probeMaxDelayMs: o.probeMaxDelayMs,
      clock: init.clock,
    });
    this.#jobs = new JobStats({
      rateWindow: o.degraded.jobWindow,
      minJobs: o.degraded.minJobs,
      rateMaxAgeMs: o.degraded.jobWindowMs,
      errorWindowMs: o.alerts.jobErrorWindowMs,
    });
    this.client = clientForConnection(init.connection, {
      timeoutMs: o.requestTimeoutMs,
      maxConnections: o.maxConnectionsPerInstance,
    });
    this.#checkClient = clientForConnection(init.connection, {
      timeoutMs: o.checkTimeoutMs,
      maxConnections: 2,
    });
    const s = o.eventStream;
    try {
      this.events = new ComfyEventStream({
        client: this.client,
        clientId: `${s.clientIdPrefix}-${init.id}`,
        reconnect: { initialDelayMs: s.reconnectInitialDelayMs, maxDelayMs: s.reconnectMaxDelayMs },
        ...(s.pingIntervalMs === undefined ? {} : { pingIntervalMs: s.pingIntervalMs }),
        ...(s.pongTimeoutMs === undefined ? {} : { pongTimeoutMs: s.pongTimeoutMs }),
      });
    } catch (err) {
      this.client.close();
      this.#checkClient.close();
      throw err;
    }
    this.events.on('state', (change) => this.#onSocketState(change));
  }

  /** Opens the WebSocket and runs the first check. Idempotent. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.events.start();
    void this.check();
  }

  get health(): InstanceHealth {
    return this.#health;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** ms since epoch of the last finished check, or null. */
  get lastCheckAt(): number | null {
    return this.#lastCheckAt;
  }

  get capabilities(): InstanceCapabilities | undefined {
    return this.#capabilities;
  }

  get jobStats(): JobStats {
    return this.#jobs;
  }

  /**
   * Checks now (probing if the circuit is open). Concurrent callers share the check in flight.
   */
  check(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#inflight) return this.#inflight;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    let probe = false;
    if (this.#breaker.state === 'open') {
      probe = this.#breaker.beginProbe();
      this.#evaluate(this.#clock());
    }
    const run = this.#checkOnce(probe).finally(() => {
      this.#inflight = undefined;
      if (this.#closed) return;
      if (this.#again && this.#breaker.state === 'closed') {
        this.#again = false;
        void this.check();
        return;
      }
      this.#again = false;
      this.#schedule();
    });
    this.#inflight = run;
    return run;
  }

  /**
   * The cached state when the last check is younger than `maxAgeMs`; otherwise one check (shared
   * with every other caller). Never probes an open circuit early: its backoff stands.
   */
  async refresh(maxAgeMs: number): Promise<void> {
    if (this.#closed) return;
    if (this.#inflight) return this.#inflight;
    if (this.#breaker.state !== 'closed') return;
    const age =
      this.#lastCheckAt === null ? Number.POSITIVE_INFINITY : this.#clock() - this.#lastCheckAt;
    if (age <= maxAgeMs) return;
    await this.check();
  }

  /** Fetches node classes and model lists now (shared with a fetch in flight). */
  refreshCapabilities(): Promise<InstanceCapabilities> {
    if (this.#closed) {
      return Promise.reject(
        new ComfyError('CLIENT_CLOSED', `instance ${this.id} is not monitored`),
      );
    }
    return this.#fetchCapabilities();
  }

  /**
   * A dispatch to this instance failed. Counts toward the circuit when the error means the
   * instance did not answer, refused the dispatch with a 5xx, or is not a ComfyUI error at all;
   * a workflow rejected by the instance (400 with node_errors) does not. Returns whether it counted.
   */
  reportFailure(error: unknown): boolean {
    if (this.#closed) return false;
    if (error instanceof ComfyError && !countsAgainstInstance(error)) return false;
    // It answered, with a 5xx: a check (GET /system_stats) would pass and prove nothing about
    // dispatch, so only a successful dispatch or a probe of the open circuit clears this.
    const refused = error instanceof ComfyHttpError;
    if (refused) this.#refusingDispatch = true;
    this.#onFailure(this.#clock(), null, error, 'dispatch');
    if (this.#breaker.state === 'closed' && !refused) this.#trigger();
    else if (!this.#inflight) this.#schedule();
    return true;
  }

  /** A dispatch succeeded: resets the consecutive failures while the circuit is closed. */
  reportSuccess(): void {
    if (this.#closed) return;
    this.#refusingDispatch = false;
    if (this.#breaker.state !== 'closed') return;
    if (this.#breaker.consecutiveFailures === 0) return;
    this.#breaker.recordSuccess();
    this.#evaluate(this.#clock());
  }

  /** A job finished on this instance. */
  recordJob(result: JobResult): void {
    if (this.#closed) return;
    const now = this.#clock();
    this.#jobs.record(result, now);
    this.#evaluate(now);
    this.#hooks.alerts(
      this.id,
      alertConditions({ jobErrors: this.#jobs.recentErrors(now) }, this.#options.alerts),
    );
    this.#hooks.jobStatsChanged(this.id);
  }

  /** The fleet seam's snapshot. */
  snapshot(): InstanceHealthSnapshot {
    const first = this.#devices[0];
    return {
      health: this.#health,
      circuit: this.#breaker.state,
      reasons: this.#reasons.map((r) => r.message),
      checked_at: iso(this.#lastCheckAt),
      latency_ms: this.#latencyLast === null ? null : Math.round(this.#latencyLast * 10) / 10,
      consecutive_failures: this.#breaker.consecutiveFailures,
      last_error: this.#lastError?.message ?? null,
      next_probe_at: iso(this.#breaker.nextProbeAt),
      comfyui_version: this.#system.version,
      vram_free: first ? first.vram_free : null,
      vram_total: first ? first.vram_total : null,
    };
  }

  /** Everything known about the instance. */
  report(): InstanceHealthReport {
    const now = this.#clock();
    const round = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);
    return {
      ...this.snapshot(),
      instance_id: this.id,
      reason_details: this.#reasons.map((r) => ({ ...r })),
      last_error_kind: this.#lastError?.kind ?? null,
      last_error_at: iso(this.#lastError?.at ?? null),
      response_ms: { last: round(this.#latencyLast), avg: round(this.#latencyAvg) },
      queue: this.#queue ? { ...this.#queue } : null,
      ram: this.#system.ram ? { ...this.#system.ram } : null,
      devices: this.#devices.map((d) => ({ ...d })),
      python_version: this.#system.python,
      pytorch_version: this.#system.pytorch,
      error_count: this.#errorCount,
      checks: { total: this.#checks, failed: this.#failedChecks },
      last_healthy_at: iso(this.#lastHealthyAt),
      since_last_healthy_ms:
        this.#lastHealthyAt === null ? null : Math.max(0, now - this.#lastHealthyAt),
      events_connection: this.events.state,
      jobs: this.#jobs.view(now),
      capabilities_fetched_at: this.#capabilities?.fetched_at ?? null,
    };
  }

  /** Stops checking; closes the WebSocket and the client (callers holding them see CLIENT_CLOSED). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#lifetime.abort();
    await this.events.close();
    this.client.close();
    this.#checkClient.close();
    await this.#inflight?.catch(() => undefined);
    await this.#capsInflight?.catch(() => undefined);
  }

  // ----- checks ---------------------------------------------------------------------------

  async #checkOnce(probe: boolean): Promise<void> {
    const at = this.#clock();
    const started = performance.now();
    const call = { timeoutMs: this.#options.checkTimeoutMs, signal: this.#lifetime.signal };
    let stats: SystemStats;
    let queue: QueueState;
    try {
      [stats, queue] = await Promise.all([
        this.#checkClient.getSystemStats(call),
        this.#checkClient.getQueue(call),
      ]);
    } catch (err) {
      if (this.#closed) return;
      // Our own pool was busy: says nothing about the instance.
      if (err instanceof ComfyTimeoutError && err.phase === 'queued' && !probe) {
        this.#lastOutcome = 'inconclusive';
        this.#hooks.warn({ instance: this.id }, 'health check skipped: no free connection in time');
        return;
      }
      this.#onFailure(at, performance.now() - started, err, 'check');
      return;
    }
    if (this.#closed) return;
    this.#onSuccess(at, performance.now() - started, stats, queue, probe);
  }

  #onSuccess(at: number, ms: number, stats: SystemStats, queue: QueueState, probe: boolean): void {
    this.#checks++;
    this.#lastCheckAt = at;
    this.#lastOkAt = at;
    this.#lastOutcome = 'ok';
    this.#latencyLast = ms;
    this.#latencyAvg =
      this.#latencyAvg === null ? ms : this.#latencyAvg + EWMA_ALPHA * (ms - this.#latencyAvg);
    const sys = stats.system;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    const str = (v: unknown) => (typeof v === 'string' ? v : null);
    const ramTotal = num(sys.ram_total);
    const ramFree = num(sys.ram_free);
    this.#system = {
      version: str(sys.comfyui_version),
      python: str(sys.python_version),
      pytorch: str(sys.pytorch_version),
      ram: ramTotal !== null && ramFree !== null ? { total: ramTotal, free: ramFree } : null,
    };
    this.#devices = deviceSummaries(stats);
    this.#queue = { running: queue.queue_running.length, pending: queue.queue_pending.length };

    // Only a probe closes an open circuit; a check begun before it opened does not.
    const state = this.#breaker.state;
    if ((state === 'closed' && !this.#refusingDispatch) || (state === 'half_open' && probe)) {
      this.#refusingDispatch = false;
      if (this.#breaker.recordSuccess() === 'closed') {
        // It may have restarted: different nodes or models; and let the socket retry now.
        this.#capsStale = true;
        if (this.events.state === 'reconnecting' || this.events.state === 'disconnected') {
          this.events.reconnectNow();
        }
      }
    }
    this.#evaluate(at);
    const first = this.#devices[0];
    this.#hooks.sample({
      instance_id: this.id,
      sampled_at: at,
      health: this.#health,
      ok: true,
      latency_ms: Math.round(ms),
      queue_running: this.#queue.running,
      queue_pending: this.#queue.pending,
      vram_free: first ? first.vram_free : null,
      vram_total: first ? first.vram_total : null,
      error: null,
    });
    this.#hooks.alerts(
      this.id,
      alertConditions(
        {
          circuit: this.#circuitFacts(),
          check: { ms, timedOut: false },
          devices: this.#devices,
          ram: this.#system.ram,
          jobErrors: this.#jobs.recentErrors(at),
        },
        this.#options.alerts,
      ),
    );
    if (this.#capsStale && this.#breaker.state === 'closed') {
      this.#fetchCapabilities().catch(() => undefined);
    }
  }

  #onFailure(at: number, ms: number | null, err: unknown, source: 'check' | 'dispatch'): void {
    const failure = classifyFailure(err);
    this.#errorCount++;
    this.#lastError = {
      message: source === 'dispatch' ? `dispatch failed: ${failure.message}` : failure.message,
      kind: failure.kind,
      at,
    };
    if (source === 'check') {
      this.#checks++;
      this.#failedChecks++;
      this.#lastCheckAt = at;
      this.#lastOutcome = 'failed';
    }
    if (this.#breaker.recordFailure() === 'opened') {
      // Do not let a capabilities fetch hold the shared connections of a dead instance.
      this.#capsAbort?.abort();
    }
    this.#evaluate(at);
    if (source === 'check') {
      this.#hooks.sample({
        instance_id: this.id,
        sampled_at: at,
        health: this.#health,
        ok: false,
        latency_ms: null,
        error: failure.message,
      });
    }
    this.#hooks.alerts(
      this.id,
      alertConditions(
        {
          circuit: this.#circuitFacts(),
          ...(ms === null ? {} : { check: { ms, timedOut: failure.kind === 'timeout' } }),
          jobErrors: this.#jobs.recentErrors(at),
        },
        this.#options.alerts,
      ),
    );
  }

  #circuitFacts(): { open: boolean; consecutiveFailures: number; lastError: string | null } {
    return {
      open: this.#breaker.state !== 'closed',
      consecutiveFailures: this.#breaker.consecutiveFailures,
      lastError: this.#lastError?.message ?? null,
    };
  }

  // Health from the circuit and the last figures; tells the hooks when state or reasons change.
  #evaluate(now: number): void {
    let health: InstanceHealth;
    let reasons: HealthReason[];
    if (this.#breaker.state !== 'closed') {
      const n = this.#breaker.consecutiveFailures;
      health = 'unhealthy';
      reasons = [
        {
          code: 'circuit_open',
          message: `circuit_open: ${n} consecutive failures${this.#lastError ? `; last: ${this.#lastError.message}` : ''}`,
          value: n,
          threshold: this.#breaker.threshold,
        },
      ];
    } else if (this.#lastOkAt === null) {
      health = 'unknown';
      reasons = [];
    } else {
      reasons = degradedReasons(
        {
          avgResponseMs: this.#latencyAvg,
          devices: this.#devices,
          jobFailure: this.#jobs.failureRate(now),
        },
        this.#options.degraded,
      );
      health = reasons.length > 0 ? 'degraded' : 'healthy';
      this.#lastHealthyAt = now;
    }
    this.#reasons = reasons;
    const key = `${health}|${this.#breaker.state}|${reasons.map((r) => r.code).join(',')}`;
    if (key === this.#stateKey) return;
    const previous = this.#health;
    this.#health = health;
    this.#stateKey = key;
    this.#hooks.changed(this, previous);
  }

  // Something suggests the instance may be down: check now (or right after the one in flight).
  #trigger(): void {
    if (this.#closed || !this.#started || this.#breaker.state !== 'closed') return;
    if (this.#inflight) {
      this.#again = true;
      return;
    }
    void this.check();
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#closed || this.#inflight) return;
    let delay: number;
    const state = this.#breaker.state;
    if (state === 'open') {
      delay = Math.max(0, (this.#breaker.nextProbeAt ?? this.#clock()) - this.#clock());
    } else if (state === 'half_open') {
      return;
    } else if (this.#lastOutcome === 'failed') {
      delay = this.#options.recheckDelayMs;
    } else {
      // ±10 % so instances added together drift apart instead of being checked in bursts.
      delay = this.#options.intervalMs * (0.9 + 0.2 * Math.random());
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.check();
    }, delay);
    this.#timer.unref();
  }

  #onSocketState(change: ConnectionStateChange): void {
    if (this.#closed) return;
    if (change.state === 'connected') {
      if (this.#wsEverConnected) {
        // A new connection: the instance may have restarted with other nodes or models.
        this.#capsStale = true;
        if (this.#inflight) this.#again = true;
        else void this.check();
      }
      this.#wsEverConnected = true;
      return;
    }
    if (
      change.previous === 'connected' &&
      (change.state === 'reconnecting' || change.state === 'disconnected')
    ) {
      this.#trigger();
    }
  }

  // ----- capabilities ---------------------------------------------------------------------

  #fetchCapabilities(): Promise<InstanceCapabilities> {
    if (this.#capsInflight) return this.#capsInflight;
    this.#capsStale = false;
    const abort = new AbortController();
    this.#capsAbort = abort;
    const signal = AbortSignal.any([this.#lifetime.signal, abort.signal]);
    setMaxListeners(0, signal);
    const run = fetchCapabilities(this.client, {
      timeoutMs: this.#options.capabilitiesTimeoutMs,
      signal,
      now: this.#clock,
    })
      .then((caps) => {
        if (this.#closed)
          throw new ComfyError('CLIENT_CLOSED', `instance ${this.id} is not monitored`);
        this.#capabilities = caps;
        this.#hooks.capabilities(this.id, caps);
        return caps;
      })
      .catch((err: unknown) => {
        if (!this.#closed) {
          this.#capsStale = true;
          this.#hooks.warn(
            { instance: this.id, err: err instanceof Error ? err.message : String(err) },
            'could not fetch the instance capabilities; retried after the next good check',
          );
        }
        throw err;
      })
      .finally(() => {
        this.#capsInflight = undefined;
        if (this.#capsAbort === abort) this.#capsAbort = undefined;
      });
    this.#capsInflight = run;
    return run;
  }
}
