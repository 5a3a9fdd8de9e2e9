/**
 * api/: the gateway's HTTP server (Fastify). `buildApp` builds it without listening,
 * `startGateway` opens the store, fleet and monitor and listens.
 *
 * @example
 * import { startGateway } from './api/index.js';
 * const gw = await startGateway({ port: 8190 });
 * await gw.close();
 */
export { buildApp, DEFAULT_RATE_LIMIT, INSTANCE_EVENT_TYPES } from './app.js';
export { type AuthMode, type AuthOptions, installAuth } from './auth/authenticate.js';
export { ANONYMOUS_ADMIN, allows, type Principal, type RouteAccess } from './auth/principal.js';
export type { ApiContext, AppDeps, AppOptions, LocalComfyUI, SupervisorView } from './context.js';
export {
  defaultRenderer,
  type ErrorRegistry,
  installErrorHandling,
  type NotFoundRenderer,
  useErrorRenderer,
} from './error-handler.js';
export {
  API_ERRORS,
  ApiError,
  type ApiErrorBody,
  type ApiErrorCode,
  type ErrorMapper,
  type NormalizedError,
  normalizeError,
  validationFailed,
} from './errors.js';
export {
  type EventFilter,
  EventHub,
  type EventHubOptions,
  type EventSink,
  type EventVisibility,
  type StreamEvent,
  type VisibilityRule,
} from './events/event-hub.js';
export {
  createLogger,
  type GatewayLogger,
  type LoggerOptions,
  REDACTED_PATHS,
} from './logging/logger.js';
export { RotatingFile, type RotatingFileOptions } from './logging/rotating-file.js';
export {
  GatewayMetrics,
  type JobTotals,
  type MetricsSources,
  type SeedMetrics,
} from './metrics/gateway-metrics.js';
export {
  INSTANCE_ENV_VARIABLES,
  parseQuickInstances,
  QuickInstancesError,
  withoutInstanceVariables,
} from './quick-instances.js';
export { ErrorSchema, errorResponses } from './schemas.js';
export {
  authModeFor,
  DEFAULT_GATEWAY_PORT,
  DEFAULT_LISTEN,
  type GatewayOptions,
  GatewayStartError,
  isLoopback,
  listenUrl,
  type RunningGateway,
  startGateway,
} from './server.js';
export type { ErrorRenderer, RenderableError } from './types.js';
export { schemaValidatorCompiler } from './validation/schema-validator.js';
