import type { ColumnDefinitionBuilder, CreateTableBuilder, Kysely } from 'kysely';

/** The SQL databases the store runs on. */
export type StoreDialect = 'sqlite' | 'postgres';

/**
 * One schema step. Names sort in the order they run (`0001_...`, `0002_...`); new steps are
 * appended to the list in `./index.ts`, never inserted before an existing one.
 *
 * @example
 * const m: StoreMigration = {
 *   name: '0003_jobs',
 *   async up(db, dialect) {
 *     await withId(db.schema.createTable('jobs'), dialect).addColumn('name', 'text').execute();
 *   },
 * };
 */
export interface StoreMigration {
  readonly name: string;
  up(db: Kysely<unknown>, dialect: StoreDialect): Promise<void>;
  down?(db: Kysely<unknown>, dialect: StoreDialect): Promise<void>;
}

/**
 * Adds an auto-incrementing integer primary key `id`, spelled the way each dialect wants it
 * (`integer primary key autoincrement` on SQLite, `bigserial primary key` on PostgreSQL).
 *
 * @example
 * await withId(db.schema.createTable('alerts'), 'sqlite').addColumn('kind', 'text').execute();
 */
export function withId<T extends string>(
  table: CreateTableBuilder<T, never>,
  dialect: StoreDialect,
): CreateTableBuilder<T, 'id'> {
  return dialect === 'postgres'
    ? table.addColumn('id', 'bigserial', (c) => c.primaryKey())
    : table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
}

/** Column modifier: NOT NULL. */
export const notNull = (c: ColumnDefinitionBuilder): ColumnDefinitionBuilder => c.notNull();
