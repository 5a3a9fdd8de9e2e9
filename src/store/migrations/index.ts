import { fleetTables } from './0001-fleet-tables.js';
import { jobTables } from './0002-jobs.js';
import { apiKeyTables } from './0003-api-keys.js';
import type { StoreMigration } from './migration.js';

export type { StoreDialect, StoreMigration } from './migration.js';
export { withId } from './migration.js';

/**
 * Every schema step in the order it runs. Append only: the jobs issue adds `0002_jobs` (and so
 * on) at the end; a step that has run on some database is never edited again.
 */
export const STORE_MIGRATIONS: readonly StoreMigration[] = [fleetTables, jobTables, apiKeyTables];
