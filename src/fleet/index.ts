export {
  type ConfigDocument,
  ConfigDocumentSchema,
  serializeConfig,
  validateConfigDocument,
} from './config-document.js';
export {
  type ConfigFileRead,
  readConfigFile,
  writeConfigFile,
  writeFileAtomic,
} from './config-file.js';
export {
  CONFIG_VERSION,
  ConfigVersionError,
  type MigrationOutcome,
  migrateConfig,
} from './config-migrations.js';
export {
  CONFIG_FILE_NAME,
  type ConfigLocationInput,
  configDir,
  resolveConfigFile,
} from './config-paths.js';
export { connectionOf, type InstanceConnection } from './connection.js';
export {
  defaultInstance,
  type Env,
  type EnvInstances,
  envInstanceId,
  instancesFromEnv,
} from './env-config.js';
export {
  ConfigFileError,
  FleetError,
  type FleetErrorCode,
  type ImportInstanceErrors,
  ImportRejectedError,
  InstanceNotFoundError,
  InstanceReadOnlyError,
  InstanceValidationError,
  LifecycleError,
  type TextPosition,
} from './errors.js';
export type { FleetEvents, InstanceView } from './events.js';
export {
  ALERT_KINDS,
  type AlertKind,
  type AlertView,
  type ConnectionTestReport,
  classifyFailure,
  clientForConnection,
  connectionTester,
  fetchCapabilities,
  type HealthEvents,
  type HealthLogger,
  HealthMonitor,
  type HealthMonitorOptions,
  type HealthReason,
  type HealthReasonCode,
  type HealthStore,
  type HistoryRange,
  type InstanceCapabilities,
  type InstanceConnectionHandle,
  type InstanceHealthReport,
  isMonitored,
  type JobResult,
  type JobStatsView,
  type MonitoredFleet,
  testConnection,
} from './health/index.js';
export type {
  CircuitState,
  ConnectionFailureKind,
  ConnectionTester,
  ConnectionTestResult,
  DeviceSummary,
  HealthSource,
  InstanceFigures,
  InstanceHealth,
  InstanceHealthSnapshot,
} from './health-types.js';
export { INSTANCE_HEALTH_STATES, UNKNOWN_HEALTH } from './health-types.js';
export { checkHost, formatHostPort, hostPortKey, parseHostPort, parsePort } from './host.js';
export {
  AUTH_TYPES,
  DEFAULT_HOST,
  DEFAULT_PORT,
  INSTANCE_KINDS,
  INSTANCE_SOURCES,
  INSTANCE_STATUSES,
  type Instance,
  type InstanceAuth,
  InstanceAuthSchema,
  type InstanceCreate,
  InstanceCreateSchema,
  type InstanceEntry,
  InstanceEntrySchema,
  type InstanceKind,
  InstanceSchema,
  type InstanceSource,
  type InstanceStatus,
  type InstanceUpdate,
  InstanceUpdateSchema,
  type PathMapping,
  PathMappingSchema,
} from './instance.js';
export { type ImportSummary, InstanceRegistry, type RegistryOptions } from './instance-registry.js';
export {
  applyUpdate,
  findConflicts,
  type NormalizeOptions,
  normalizeInstance,
} from './instance-validation.js';
export { describePosition, parseJsonText, positionAt } from './json-text.js';
export { acceptsNewWork, type InstanceSupervisor, initialStatus } from './lifecycle.js';
export { toLocalPath, toRemotePath } from './path-map.js';
export {
  type PublicInstance,
  publicInstance,
  type RedactedAuth,
  redactAuth,
  redactSecrets,
} from './redact.js';
export {
  type FileSettings,
  FileSettingsSchema,
  LOG_LEVELS,
  parseDuration,
  type ResolvedSettings,
  resolveSettings,
  SETTING_ENV,
  type SettingKey,
  type SettingOrigin,
  type Settings,
  SettingsSchema,
} from './settings.js';
export { type FieldError, schemaErrors } from './validation.js';
export type { ConfigWarning, ConfigWarningCode } from './warnings.js';

import type { FleetEvents as RegistryEvents } from './events.js';
import type { HealthEvents as MonitorEvents } from './health/index.js';
/** Everything the fleet publishes on the bus: registry changes plus health, capabilities, alerts. */
export type FleetBusEvents = RegistryEvents & MonitorEvents;
