export {
  type AlertQuery,
  AlertRepository,
  type InstanceAlert,
  type RaiseAlertInput,
} from './alert-repository.js';
export {
  API_KEY_PREFIX,
  API_KEY_ROLES,
  type ApiKeyRecord,
  ApiKeyRepository,
  type ApiKeyRole,
  type ApiKeyTable,
  apiKeyRepository,
  type CreatedApiKey,
  hashApiKey,
} from './api-key-repository.js';
export {
  type BusEvent,
  type EventBus,
  type EventHandler,
  type EventMap,
  type HandlerErrorReporter,
  InProcessEventBus,
  type Unsubscribe,
  type WildcardHandler,
} from './event-bus.js';
export { GroupCommit, type GroupCommitOptions, type TransactionWork } from './group-commit.js';
export {
  DEFAULT_HEALTH_RING,
  type HealthRingLimits,
  type HealthSample,
  type HealthSampleInput,
  HealthSampleRepository,
} from './health-sample-repository.js';
export {
  InstanceStatsRepository,
  type InstanceStatsSnapshot,
} from './instance-stats-repository.js';
export { InCodeMigrationProvider } from './migration-provider.js';
export {
  STORE_MIGRATIONS,
  type StoreDialect,
  type StoreMigration,
  withId,
} from './migrations/index.js';
export { type MigrationReport, migrateToLatest, StoreMigrationError } from './migrator.js';
export {
  openStore,
  type PostgresStoreOptions,
  type SqliteStoreOptions,
  type StoreOptions,
} from './open-store.js';
export {
  APP_NAME,
  type DataDirEnv,
  defaultDataDir,
  defaultStoreFile,
  STORE_FILE_NAME,
} from './paths.js';
export { PrecompiledQuery } from './precompiled-query.js';
export type { Database } from './schema.js';
export { Store } from './store.js';
