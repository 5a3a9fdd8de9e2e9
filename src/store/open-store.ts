import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Kysely, PostgresDialect, type SqliteDatabase, SqliteDialect } from 'kysely';
import type { HealthRingLimits } from './health-sample-repository.js';
import { defaultStoreFile } from './paths.js';
import type { Database } from './schema.js';
import { Store } from './store.js';

interface CommonStoreOptions {
  /** Run pending migrations before returning (default true). */
  migrate?: boolean;
  /** Health-sample ring limits (defaults: 24 h, 2,880 samples per instance). */
  healthRing?: Partial<HealthRingLimits>;
}

/** Embedded SQLite (the default). */
export interface SqliteStoreOptions extends CommonStoreOptions {
  kind: 'sqlite';
  /** Database file; default `<data dir>/comfy-cluster.db`. `':memory:'` for a throwaway store. */
  file?: string;
  /** How long a writer waits for a lock before SQLITE_BUSY (ms, default 5,000). */
  busyTimeoutMs?: number;
}

/** PostgreSQL (for several gateway nodes sharing one database). */
export interface PostgresStoreOptions extends CommonStoreOptions {
  kind: 'postgres';
  connectionString: string;
  /** Pool size (default 10). */
  maxConnections?: number;
}

export type StoreOptions = SqliteStoreOptions | PostgresStoreOptions;

/** PostgreSQL type oid of int8/bigint; its values are read as numbers (our ms timestamps fit). */
const PG_INT8_OID = 20;

function withoutPassword(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'postgres';
  }
}

/**
 * Opens (and by default migrates) the store.
 *
 * SQLite runs in WAL mode with a busy timeout and foreign keys on; its directory is created if
 * missing. PostgreSQL reads bigint columns as numbers.
 *
 * @example
 * const store = await openStore({ kind: 'sqlite', file: path.join(dir, 'cc.db') });
 * const pgStore = await openStore({ kind: 'postgres', connectionString: 'postgres://cc@127.0.0.1/cc' });
 */
export async function openStore(options: StoreOptions): Promise<Store> {
  const store = options.kind === 'sqlite' ? await openSqlite(options) : await openPostgres(options);
  if (options.migrate !== false) {
    try {
      await store.migrate();
    } catch (err) {
      await store.close();
      throw err;
    }
  }
  return store;
}

async function openSqlite(options: SqliteStoreOptions): Promise<Store> {
  const { default: SqliteDatabase } = await import('better-sqlite3');
  const file = options.file ?? defaultStoreFile();
  const inMemory = file === ':memory:';
  if (!inMemory) mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const sqlite = new SqliteDatabase(inMemory ? file : path.resolve(file));
  try {
    if (!inMemory) sqlite.pragma('journal_mode = WAL');
    // A checkpoint copies the WAL into the database and fsyncs, on the committing (event loop)
    // thread. Checkpointing every 16,384 pages (64 MB of WAL at 4 KB pages) instead of SQLite's
    // 1,000 writes the hot pages of the jobs table and its indexes back far less often: in
    // bench/dispatch commits took half the time.
    sqlite.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    // NORMAL is durable across application crashes in WAL mode (only an OS crash can lose the
    // last transactions), and avoids an fsync per commit.
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    sqlite.pragma('foreign_keys = ON');
  } catch (err) {
    sqlite.close();
    throw err;
  }
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: withStatementCache(sqlite, STATEMENT_CACHE_SIZE) }),
  });
  return new Store(
    db,
    'sqlite',
    inMemory ? file : path.resolve(file),
    options.healthRing ? { healthRing: options.healthRing } : {},
  );
}

/** WAL pages between automatic checkpoints (SQLite's default is 1,000). */
const WAL_AUTOCHECKPOINT_PAGES = 16_384;

/** Distinct SQL texts kept prepared; Kysely compiles one text per query shape, so few are live. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely's SQLite driver prepares every query again; preparing costs more than running our small
 * statements. Kysely's compiled SQL is stable per query shape (values are bound as parameters),
 * so statements are kept by SQL text, least recently used dropped first. Reusing a statement is
 * safe: the driver runs one query at a time on its single connection, and SQLite re-prepares a
 * statement itself after a schema change.
 */
function withStatementCache(sqlite: SqliteDatabase, size: number): SqliteDatabase {
  const cache = new Map<string, ReturnType<SqliteDatabase['prepare']>>();
  return {
    prepare(sql) {
      let stmt = cache.get(sql);
      if (stmt) {
        // Move to the back of the insertion order (most recently used).
        cache.delete(sql);
      } else {
        stmt = sqlite.prepare(sql);
        if (cache.size >= size) {
          const oldest = cache.keys().next();
          if (!oldest.done) cache.delete(oldest.value);
        }
      }
      cache.set(sql, stmt);
      return stmt;
    },
    close() {
      cache.clear();
      sqlite.close();
    },
  };
}

async function openPostgres(options: PostgresStoreOptions): Promise<Store> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 10,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === PG_INT8_OID
          ? (v: string) => Number(v)
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return new Store(
    db,
    'postgres',
    withoutPassword(options.connectionString),
    options.healthRing ? { healthRing: options.healthRing } : {},
  );
}
