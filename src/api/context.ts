import type { FastifyBaseLogger } from 'fastify';
import type { HealthMonitor } from '../fleet/health/index.js';
import type { InstanceRegistry } from '../fleet/index.js';
import type { ApiKeyRepository, Store } from '../store/index.js';
import type { ManagedInstanceState } from '../supervisor/index.js';
import type { AuthMode } from './auth/authenticate.js';
import type { ErrorRegistry } from './error-handler.js';
import type { EventHub } from './events/event-hub.js';
import type { GatewayMetrics } from './metrics/gateway-metrics.js';

/** The supervisor as the health routes see it (local instances on this machine). */
export interface SupervisorView {
  states(): ManagedInstanceState[];
}

/** Local ComfyUI (ENABLE_COMFYUI) as configured for this gateway. */
export interface LocalComfyUI {
  enabled: boolean;
  /** The ComfyUI checkout the supervisor runs (COMFYUI_INSTALL_PATH or the default). */
  installDir: string | null;
}

/** What the app is built on. Nothing here is created or closed by the app. */
export interface AppDeps {
  registry: InstanceRegistry;
  monitor: HealthMonitor;
  store: Store;
  apiKeys: ApiKeyRepository;
  /** Local instances: their supervisor, when the gateway runs one. */
  supervisor?: SupervisorView;
  local?: LocalComfyUI;
  /** Prompts of ours on an instance (the scheduler's figure; default 0). */
  inFlight?: (instanceId: string) => number;
  logger?: FastifyBaseLogger;
}

/** Options of the HTTP surface. */
export interface AppOptions {
  /** See {@link AuthMode} (default `auto`). */
  auth?: AuthMode;
  /** Allowed CORS origins (`*` for any); CORS is off when empty or absent. */
  corsOrigins?: string[];
  /** Requests per window per API key (per IP without a key; default 30 000 a minute); false turns it off. */
  rateLimit?: { max: number; windowMs: number } | false;
  /** Largest JSON/text body (default 16 MiB). */
  bodyLimitBytes?: number;
  /** Largest uploaded file (default 100 MiB, as ComfyUI's --max-upload-size). */
  uploadLimitBytes?: number;
  /** Serve /docs and /api/v1/openapi.json (default true). */
  docs?: boolean;
  events?: { heartbeatMs?: number; maxConnections?: number; maxBufferedBytes?: number };
  /** Trust X-Forwarded-* from a reverse proxy (default false). */
  trustProxy?: boolean;
  /** Shown in the OpenAPI document. */
  version?: string;
}

/** Everything route modules reach through `app.api`. */
export interface ApiContext {
  deps: AppDeps;
  options: Required<Pick<AppOptions, 'auth' | 'bodyLimitBytes' | 'uploadLimitBytes'>>;
  metrics: GatewayMetrics;
  events: EventHub;
  errors: ErrorRegistry;
  /** ms since epoch when the app was built. */
  startedAt: number;
  /** True once the app is shutting down (readiness turns false). */
  closing: boolean;
}
