import { type Kysely, Migrator } from 'kysely';
import { InCodeMigrationProvider } from './migration-provider.js';
import type { StoreDialect, StoreMigration } from './migrations/index.js';
import { STORE_MIGRATIONS } from './migrations/index.js';

/** What a migration run did. */
export interface MigrationReport {
  /** Names of the steps applied by this run, in order (empty when already up to date). */
  applied: string[];
  /** Names of all steps now recorded in the database. */
  current: string[];
}

/**
 * A schema step failed; `migration` names it when known. The database keeps the steps before it.
 *
 * @example
 * try { await store.migrate(); } catch (e) { if (e instanceof StoreMigrationError) log.fatal(e.migration); }
 */
export class StoreMigrationError extends Error {
  readonly code = 'store_migration_failed';
  readonly migration: string | undefined;

  constructor(message: string, migration: string | undefined, cause: unknown) {
    super(message, { cause });
    this.name = 'StoreMigrationError';
    this.migration = migration;
  }
}

/**
 * Brings the schema up to the latest step. Safe to call on every start and from several
 * processes at once (Kysely takes a lock table around the run).
 *
 * @example
 * const report = await migrateToLatest(db, 'sqlite');
 * console.log(report.applied); // ['0001_fleet_tables'] on a new file, [] afterwards
 */
export async function migrateToLatest<DB>(
  db: Kysely<DB>,
  dialect: StoreDialect,
  migrations: readonly StoreMigration[] = STORE_MIGRATIONS,
): Promise<MigrationReport> {
  const migrator = new Migrator({ db, provider: new InCodeMigrationProvider(dialect, migrations) });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    const why = error instanceof Error ? error.message : String(error);
    throw new StoreMigrationError(
      failed ? `store migration ${failed} failed: ${why}` : `store migration failed: ${why}`,
      failed,
      error,
    );
  }
  const infos = await migrator.getMigrations();
  return {
    applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName),
    current: infos.filter((m) => m.executedAt !== undefined).map((m) => m.name),
  };
}
