import type {
  AlertRepository,
  EventBus,
  HealthSampleRepository,
  InstanceStatsRepository,
} from '../../store/index.js';
import type { InstanceConnection } from '../connection.js';
import type { FleetEvents, InstanceView } from '../events.js';
import type { Settings } from '../settings.js';
import type { HealthEvents } from './health-events.js';

/** What the monitor needs from the fleet; `InstanceRegistry` provides it. */
export interface MonitoredFleet {
  readonly bus: EventBus<FleetEvents>;
  list(): InstanceView[];
  get(id: string): InstanceView | undefined;
  /** URLs and auth headers (secrets: used only to build the ComfyUI client). */
  connection(id: string): InstanceConnection;
  /** Resolved tunables (HEALTH_CHECK_INTERVAL, COMFYUI_TIMEOUT, MAX_CONNECTIONS_PER_INSTANCE). */
  readonly settings?: { settings: Partial<Settings> };
}

/** The parts of the store the monitor writes; `Store` provides them. */
export interface HealthStore {
  readonly healthSamples: Pick<
    HealthSampleRepository,
    'record' | 'recent' | 'prune' | 'deleteInstance'
  >;
  readonly alerts: Pick<AlertRepository, 'raise' | 'clear' | 'list'>;
  readonly instanceStats: Pick<InstanceStatsRepository, 'save' | 'get' | 'delete'>;
}

/** A pino-compatible logger (only these levels are used). */
export interface HealthLogger {
  warn(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
}

/** When an answering instance counts as `degraded`. */
export interface DegradedThresholds {
  /** Smoothed response time above this (ms) → `slow_response`. Default 5 000. */
  slowResponseMs: number;
  /** A device with less than this share of its VRAM free → `low_vram`. Default 0.05. */
  minVramFreeRatio: number;
  /** Failed share of the recent jobs at or above this → `job_failure_rate`. Default 0.5. */
  jobFailureRate: number;
  /** Recent jobs the rate looks at (default 20). */
  jobWindow: number;
  /** Fewest recent jobs before a rate counts (default 5). */
  minJobs: number;
  /** Jobs older than this (ms) leave the rate (default 10 min). */
  jobWindowMs: number;
}

/** When alerts are raised (seed: >5 job errors a minute, >90 % VRAM/RAM use, checks >30 s). */
export interface AlertThresholds {
  /** More job errors than this within `jobErrorWindowMs` → `job_errors`. Default 5. */
  jobErrors: number;
  /** Default 60 000. */
  jobErrorWindowMs: number;
  /** VRAM use above this share on any device → `vram_high`. Default 0.9. */
  vramUseRatio: number;
  /** RAM use above this share → `ram_high`. Default 0.9. */
  ramUseRatio: number;
  /** A check slower than this (ms), answered or timed out → `slow_check`. Default 30 000. */
  slowCheckMs: number;
}

/** The admin webhook alerts are POSTed to. */
export interface WebhookOptions {
  url: string;
  /** ms per attempt (default 5 000). */
  timeoutMs?: number;
  /** Attempts per alert, retries included (default 3). */
  maxAttempts?: number;
  /** First retry delay, doubled each time (default 1 000 ms). */
  retryDelayMs?: number;
  /** Deliveries waiting at most; the oldest is dropped beyond (default 100). */
  maxQueue?: number;
  /** Extra headers (e.g. a shared secret). */
  headers?: Record<string, string>;
}

/** Options of the WebSocket each instance keeps open (see ComfyEventStream). */
export interface EventStreamOptions {
  /** Prefix of the clientId (`<prefix>-<instance id>`), stable per gateway node. */
  clientIdPrefix: string;
  /** Reconnect backoff (defaults 250 ms → 5 000 ms, so a returning instance is seen quickly). */
  reconnectInitialDelayMs: number;
  reconnectMaxDelayMs: number;
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
}

/** Options of {@link HealthMonitor}. Only `fleet` is required. */
export interface HealthMonitorOptions {
  fleet: MonitoredFleet;
  /** Where health, capability and alert events go (default: a private in-process bus). */
  bus?: EventBus<HealthEvents>;
  /** Health history, alerts and job stats are kept here when given. */
  store?: HealthStore;
  /** ms between checks of a healthy instance (default HEALTH_CHECK_INTERVAL, 30 000). */
  intervalMs?: number;
  /** ms a check may take (default COMFYUI_TIMEOUT, 30 000). */
  checkTimeoutMs?: number;
  /** Consecutive failures (checks and reported dispatches) that open the circuit. Default 3. */
  failureThreshold?: number;
  /**
   * ms before re-checking after a failed check, so a down instance reaches the threshold in
   * about a second instead of threshold × interval. Default min(250, interval).
   */
  recheckDelayMs?: number;
  /** First and longest delay between probes of an open circuit (defaults 1 000 and the interval). */
  probeInitialDelayMs?: number;
  probeMaxDelayMs?: number;
  /** Readers asking for fresh state get the cached one if it is younger (default: the interval). */
  cacheTtlMs?: number;
  degraded?: Partial<DegradedThresholds>;
  alerts?: Partial<AlertThresholds>;
  /** Admin webhook for alerts: a URL or full options. */
  webhook?: string | WebhookOptions;
  /** HTTP timeout of the shared client for other callers (default COMFYUI_TIMEOUT). */
  requestTimeoutMs?: number;
  /** Connections per instance (default MAX_CONNECTIONS_PER_INSTANCE, 3). */
  maxConnectionsPerInstance?: number;
  /** ms for fetching /object_info and the model lists (default max(60 000, checkTimeoutMs)). */
  capabilitiesTimeoutMs?: number;
  eventStream?: Partial<EventStreamOptions>;
  /** Delay before job stats are written to the store (default 5 000 ms). */
  statsSaveDelayMs?: number;
  /** How often old health samples are pruned (default 1 h). */
  pruneIntervalMs?: number;
  logger?: HealthLogger;
  /** ms since epoch (default Date.now). */
  clock?: () => number;
}

/** Everything resolved, with defaults. */
export interface ResolvedMonitorOptions {
  intervalMs: number;
  checkTimeoutMs: number;
  failureThreshold: number;
  recheckDelayMs: number;
  probeInitialDelayMs: number;
  probeMaxDelayMs: number;
  cacheTtlMs: number;
  degraded: DegradedThresholds;
  alerts: AlertThresholds;
  webhook: (Required<Omit<WebhookOptions, 'headers'>> & { headers: Record<string, string> }) | null;
  requestTimeoutMs: number;
  maxConnectionsPerInstance: number;
  capabilitiesTimeoutMs: number;
  eventStream: EventStreamOptions;
  statsSaveDelayMs: number;
  pruneIntervalMs: number;
}

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`HealthMonitor: ${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

function ratio(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`HealthMonitor: ${name} must be a number >= 0, got ${String(value)}`);
  }
  return value;
}

function whole(name: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(
      `HealthMonitor: ${name} must be a whole number >= ${min}, got ${String(value)}`,
    );
  }
  return value;
}

function webhookOptions(value: HealthMonitorOptions['webhook']): ResolvedMonitorOptions['webhook'] {
  if (value === undefined) return null;
  const options: WebhookOptions = typeof value === 'string' ? { url: value } : value;
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new TypeError('HealthMonitor: webhook url is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`HealthMonitor: webhook url must be http(s), not ${url.protocol}`);
  }
  return {
    url: url.toString(),
    timeoutMs: positive('webhook.timeoutMs', options.timeoutMs, 5_000),
    maxAttempts: whole('webhook.maxAttempts', options.maxAttempts, 3),
    retryDelayMs: positive('webhook.retryDelayMs', options.retryDelayMs, 1_000),
    maxQueue: whole('webhook.maxQueue', options.maxQueue, 100),
    headers: { ...options.headers },
  };
}

/**
 * Fills in the defaults (from the fleet's settings where they exist) and checks every value;
 * throws a RangeError/TypeError naming the option otherwise.
 *
 * @example
 * const resolved = resolveMonitorOptions({ fleet: registry, intervalMs: 1000 });
 */
export function resolveMonitorOptions(options: HealthMonitorOptions): ResolvedMonitorOptions {
  if (!options || typeof options !== 'object' || !options.fleet) {
    throw new TypeError('HealthMonitor needs options with a fleet (the instance registry)');
  }
  const settings = options.fleet.settings?.settings ?? {};
  const intervalMs = positive(
    'intervalMs',
    options.intervalMs,
    settings.health_check_interval_ms ?? 30_000,
  );
  const checkTimeoutMs = positive(
    'checkTimeoutMs',
    options.checkTimeoutMs,
    settings.comfyui_timeout_ms ?? 30_000,
  );
  const probeInitialDelayMs = positive(
    'probeInitialDelayMs',
    options.probeInitialDelayMs,
    Math.min(1_000, intervalMs),
  );
  const d = options.degraded ?? {};
  const a = options.alerts ?? {};
  const s = options.eventStream ?? {};
  const stream: EventStreamOptions = {
    clientIdPrefix: s.clientIdPrefix ?? 'comfy-cluster',
    reconnectInitialDelayMs: positive(
      'eventStream.reconnectInitialDelayMs',
      s.reconnectInitialDelayMs,
      250,
    ),
    reconnectMaxDelayMs: positive('eventStream.reconnectMaxDelayMs', s.reconnectMaxDelayMs, 5_000),
  };
  if (typeof stream.clientIdPrefix !== 'string' || stream.clientIdPrefix === '') {
    throw new TypeError('HealthMonitor: eventStream.clientIdPrefix must be a non-empty string');
  }
  if (s.pingIntervalMs !== undefined) {
    stream.pingIntervalMs = positive('eventStream.pingIntervalMs', s.pingIntervalMs, 15_000);
  }
  if (s.pongTimeoutMs !== undefined) {
    stream.pongTimeoutMs = positive('eventStream.pongTimeoutMs', s.pongTimeoutMs, 10_000);
  }
  return {
    intervalMs,
    checkTimeoutMs,
    failureThreshold: whole('failureThreshold', options.failureThreshold, 3),
    recheckDelayMs: positive('recheckDelayMs', options.recheckDelayMs, Math.min(250, intervalMs)),
    probeInitialDelayMs,
    probeMaxDelayMs: Math.max(
      probeInitialDelayMs,
      positive('probeMaxDelayMs', options.probeMaxDelayMs, intervalMs),
    ),
    cacheTtlMs: ratio('cacheTtlMs', options.cacheTtlMs, intervalMs),
    degraded: {
      slowResponseMs: positive('degraded.slowResponseMs', d.slowResponseMs, 5_000),
      minVramFreeRatio: ratio('degraded.minVramFreeRatio', d.minVramFreeRatio, 0.05),
      jobFailureRate: ratio('degraded.jobFailureRate', d.jobFailureRate, 0.5),
      jobWindow: whole('degraded.jobWindow', d.jobWindow, 20),
      minJobs: whole('degraded.minJobs', d.minJobs, 5),
      jobWindowMs: positive('degraded.jobWindowMs', d.jobWindowMs, 10 * 60_000),
    },
    alerts: {
      jobErrors: whole('alerts.jobErrors', a.jobErrors, 5, 0),
      jobErrorWindowMs: positive('alerts.jobErrorWindowMs', a.jobErrorWindowMs, 60_000),
      vramUseRatio: ratio('alerts.vramUseRatio', a.vramUseRatio, 0.9),
      ramUseRatio: ratio('alerts.ramUseRatio', a.ramUseRatio, 0.9),
      slowCheckMs: positive('alerts.slowCheckMs', a.slowCheckMs, 30_000),
    },
    webhook: webhookOptions(options.webhook),
    requestTimeoutMs: positive(
      'requestTimeoutMs',
      options.requestTimeoutMs,
      settings.comfyui_timeout_ms ?? 30_000,
    ),
    maxConnectionsPerInstance: whole(
      'maxConnectionsPerInstance',
      options.maxConnectionsPerInstance,
      settings.max_connections_per_instance ?? 3,
    ),
    capabilitiesTimeoutMs: positive(
      'capabilitiesTimeoutMs',
      options.capabilitiesTimeoutMs,
      Math.max(60_000, checkTimeoutMs),
    ),
    eventStream: stream,
    statsSaveDelayMs: positive('statsSaveDelayMs', options.statsSaveDelayMs, 5_000),
    pruneIntervalMs: positive('pruneIntervalMs', options.pruneIntervalMs, 3_600_000),
  };
}
