import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { InstanceHealthReport } from '../../fleet/health/index.js';
import {
  formatHostPort,
  INSTANCE_HEALTH_STATES,
  type InstanceHealthSnapshot,
  type InstanceView,
} from '../../fleet/index.js';

/** What the metrics read from the fleet and the health monitor. */
export interface MetricsSources {
  fleet: { list(): InstanceView[] };
  monitor: {
    health(id: string): InstanceHealthSnapshot;
    report(id: string): InstanceHealthReport | undefined;
  };
  /** Prompts of ours on an instance (the scheduler's count; default 0). */
  inFlight?: (instanceId: string) => number;
}

/** Gateway-wide job figures for the seed's JSON metrics; the job layer provides them. */
export interface JobTotals {
  processed: number;
  failed: number;
  /** Sum of processing times of the processed jobs, ms. */
  total_processing_ms: number;
}

/** The seed's JSON metrics (`GET /metrics` with `Accept: application/json`). */
export interface SeedMetrics {
  /** ms since the gateway started. */
  uptime: number;
  jobsProcessed: number;
  avgProcessingTime: number;
  errorRate: number;
  /** By `host:port`. */
  instanceStats: Record<string, { jobsProcessed: number; totalTime: number; errors: number }>;
}

type InstanceLabels = 'instance' | 'name';

/**
 * The gateway's Prometheus metrics, in a registry of its own (several gateways or tests in one
 * process do not collide): process defaults, HTTP requests and latency, and per-instance health,
 * circuit, in-flight prompts, queue, check latency, failures (checks and dispatches), checks and
 * jobs. Instance figures are read from the monitor when scraped. More metrics (the job layer's)
 * are registered on {@link registry}.
 *
 * @example
 * const metrics = new GatewayMetrics({ fleet: registry, monitor });
 * new Counter({ name: 'comfy_cluster_jobs_submitted_total', help: '...', registers: [metrics.registry] });
 * const text = await metrics.registry.metrics();
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly startedAt: number;
  readonly #sources: MetricsSources;
  readonly #clock: () => number;
  readonly #requests: Counter<'method' | 'route' | 'status_code'>;
  readonly #latency: Histogram<'method' | 'route'>;
  #jobTotals: (() => JobTotals) | undefined;

  constructor(sources: MetricsSources, options: { clock?: () => number; defaults?: boolean } = {}) {
    this.#sources = sources;
    this.#clock = options.clock ?? Date.now;
    this.startedAt = this.#clock();
    const registers = [this.registry];
    if (options.defaults !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: 'comfy_cluster_' });
    }
    this.#requests = new Counter({
      name: 'comfy_cluster_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status',
      labelNames: ['method', 'route', 'status_code'],
      registers,
    });
    this.#latency = new Histogram({
      name: 'comfy_cluster_http_request_duration_seconds',
      help: 'Time to answer HTTP requests, by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#instanceMetrics(registers);
  }

  /** Records one answered request (`route` is the pattern, e.g. `/api/v1/instances/:id`). */
  recordRequest(method: string, route: string, status: number, seconds: number): void {
    this.#requests.inc({ method, route, status_code: String(status) });
    this.#latency.observe({ method, route }, seconds);
  }

  /** Lets the job layer provide the gateway-wide job figures of the JSON metrics. */
  setJobTotals(source: () => JobTotals): void {
    this.#jobTotals = source;
  }

  /** The seed's JSON metrics. Job figures come from the job layer, else from the monitor. */
  json(): SeedMetrics {
    const instanceStats: SeedMetrics['instanceStats'] = {};
    let processed = 0;
    let failed = 0;
    let totalMs = 0;
    for (const view of this.#sources.fleet.list()) {
      const jobs = this.#sources.monitor.report(view.id)?.jobs;
      const stats = {
        jobsProcessed: jobs?.total ?? 0,
        totalTime: Math.round((jobs?.avg_execution_ms ?? 0) * (jobs?.succeeded ?? 0)),
        errors: jobs?.failed ?? 0,
      };
      instanceStats[formatHostPort(view.host, view.port)] = stats;
      processed += stats.jobsProcessed;
      failed += stats.errors;
      totalMs += stats.totalTime;
    }
    const totals = this.#jobTotals?.() ?? {
      processed,
      failed,
      total_processing_ms: totalMs,
    };
    return {
      uptime: this.#clock() - this.startedAt,
      jobsProcessed: totals.processed,
      avgProcessingTime: totals.processed > 0 ? totals.total_processing_ms / totals.processed : 0,
      errorRate: totals.processed > 0 ? totals.failed / totals.processed : 0,
      instanceStats,
    };
  }

  #instanceMetrics(registers: Registry[]): void {
    const sources = this.#sources;
    const each = (fn: (view: InstanceView, labels: Record<InstanceLabels, string>) => void) => {
      for (const view of sources.fleet.list()) fn(view, { instance: view.id, name: view.name });
    };
    const labelNames = ['instance', 'name'] as const;
    new Gauge({
      name: 'comfy_cluster_instance_up',
      help: 'Whether the instance answers health checks (healthy or degraded)',
      labelNames,
      registers,
      collect() {
        this.reset();
        each((v, l) => {
          const h = sources.monitor.health(v.id).health;
          this.set(l, h === 'healthy' || h === 'degraded' ? 1 : 0);
        });
      },
    });
    new Gauge({
      name: 'comfy_cluster_instance_health',
      help: 'Health state of the instance (1 for the current state)',
      labelNames: [...labelNames, 'state'],
      registers,
      collect() {
        this.reset();
        each((v, l) => {
          const h = sources.monitor.health(v.id).health;
          for (const state of INSTANCE_HEALTH_STATES)
            this.set({ ...l, state }, h === state ? 1 : 0);
        });
      },
    });
    new Gauge({
      name: 'comfy_cluster_instance_circuit_open',
      help: 'Whether the circuit breaker of the instance is open',
      labelNames,
      registers,
      collect() {
        this.reset();
        each((v, l) => this.set(l, sources.monitor.health(v.id).circuit === 'open' ? 1 : 0));
      },
    });
    new Gauge({
      name: 'comfy_cluster_instance_in_flight',
      help: 'Prompts of the gateway running or queued on the instance',
      labelNames,
      registers,
      collect() {
        this.reset();
        each((v, l) => this.set(l, sources.inFlight?.(v.id) ?? 0));
      },
    });
    new Gauge({
      name: 'comfy_cluster_instance_queue',
      help: "Prompts in the instance's own queue at the last check (all clients)",
      labelNames: [...labelNames, 'state'],
      registers,
      collect() {
        this.reset();
        each((v, l) => {
          const q = sources.monitor.report(v.id)?.queue;
          if (!q) return;
          this.set({ ...l, state: 'running' }, q.running);
          this.set({ ...l, state: 'pending' }, q.pending);
        });
      },
    });
    new Gauge({
      name: 'comfy_cluster_instance_check_latency_seconds',
      help: 'Response time of the last successful health check',
      labelNames,
      registers,
      collect() {
        this.reset();
        each((v, l) => {
          const ms = sources.monitor.report(v.id)?.response_ms.last;
          if (typeof ms === 'number') this.set(l, ms / 1000);
        });
      },
    });
    new Counter({
      name: 'comfy_cluster_instance_failures_total',
      help: 'Failed health checks plus failed dispatches of the instance, since monitoring began',
      labelNames,
      registers,
      collect() {
        this.reset();
        each((v, l) => {
          const n = sources.monitor.report(v.id)?.error_count ?? 0;
          this.inc(l, n);
        });
      },
    });
    new Counter({
      name: 'comfy_cluster_instance_checks_total',
      help: 'Health checks of the instance, by result',
      labelNames: [...labelNames, 'result'],
      registers,
      collect() {
        this.reset();
        each((v, l) => {
          const c = sources.monitor.report(v.id)?.checks;
          if (!c) return;
          this.inc({ ...l, result: 'ok' }, c.total - c.failed);
          this.inc({ ...l, result: 'failed' }, c.failed);
        });
      },
    });
    new Counter({
      name: 'comfy_cluster_instance_jobs_total',
      help: 'Jobs finished on the instance, by result',
      labelNames: [...labelNames, 'result'],
      registers,
      collect() {
        this.reset();
        each((v, l) => {
          const j = sources.monitor.report(v.id)?.jobs;
          if (!j) return;
          this.inc({ ...l, result: 'succeeded' }, j.succeeded);
          this.inc({ ...l, result: 'failed' }, j.failed);
        });
      },
    });
  }
}
