import type { Migration, MigrationProvider } from 'kysely';
import { STORE_MIGRATIONS, type StoreDialect, type StoreMigration } from './migrations/index.js';

/**
 * Kysely migration provider over the in-code migration list (no files are read, so it works the
 * same from `src/` under tsx and from the compiled `dist/`).
 *
 * @example
 * const migrator = new Migrator({ db, provider: new InCodeMigrationProvider('sqlite') });
 * await migrator.migrateToLatest();
 */
export class InCodeMigrationProvider implements MigrationProvider {
  readonly #dialect: StoreDialect;
  readonly #migrations: readonly StoreMigration[];

  constructor(dialect: StoreDialect, migrations: readonly StoreMigration[] = STORE_MIGRATIONS) {
    this.#dialect = dialect;
    this.#migrations = migrations;
  }

  async getMigrations(): Promise<Record<string, Migration>> {
    const dialect = this.#dialect;
    const out: Record<string, Migration> = {};
    for (const m of this.#migrations) {
      const down = m.down;
      out[m.name] = down
        ? { up: (db) => m.up(db, dialect), down: (db) => down(db, dialect) }
        : { up: (db) => m.up(db, dialect) };
    }
    return out;
  }
}
