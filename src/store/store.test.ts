import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STORE_MIGRATIONS, type StoreMigration } from './migrations/index.js';
import { migrateToLatest, StoreMigrationError } from './migrator.js';
import { openStore } from './open-store.js';
import type { Store } from './store.js';

let dir: string;
const stores: Store[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cc-store-'));
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function open(file = path.join(dir, 'nested', 'cc.db')): Promise<Store> {
  const s = await openStore({ kind: 'sqlite', file });
  stores.push(s);
  return s;
}

describe('openStore (sqlite)', () => {
  it('reuses prepared statements safely: a schema change, many distinct queries, a stream', async () => {
    const store = await open();
    await sql`create table t (a integer)`.execute(store.db);
    await sql`insert into t (a) values (${1})`.execute(store.db);
    const before = await sql<Record<string, unknown>>`select * from t`.execute(store.db);
    expect(before.rows).toEqual([{ a: 1 }]);
    await sql`alter table t add column b text default 'x'`.execute(store.db);
    // Same SQL text as above: the kept statement must see the new column.
    const after = await sql<Record<string, unknown>>`select * from t`.execute(store.db);
    expect(after.rows).toEqual([{ a: 1, b: 'x' }]);
    // More distinct texts than the cache keeps: old ones are dropped, queries still answer.
    for (let i = 0; i < 600; i++) {
      const r = await sql<{ v: number }>`select ${sql.lit(i)} as v`.execute(store.db);
      expect(r.rows[0]?.v).toBe(i);
    }
    const streamed: unknown[] = [];
    for await (const row of store.db
      .selectFrom('t' as never)
      .selectAll()
      .stream())
      streamed.push(row);
    expect(streamed).toEqual([{ a: 1, b: 'x' }]);
  });

  it('creates the file and its directory, in WAL mode with foreign keys and a busy timeout', async () => {
    const file = path.join(dir, 'nested', 'cc.db');
    const store = await open(file);
    expect(existsSync(file)).toBe(true);
    expect(store.location).toBe(file);
    const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(store.db);
    expect(mode.rows[0]?.journal_mode).toBe('wal');
    const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(store.db);
    expect(fk.rows[0]?.foreign_keys).toBe(1);
    const busy = await sql<{ timeout: number }>`pragma busy_timeout`.execute(store.db);
    expect(busy.rows[0]?.timeout).toBe(5000);
    // Checkpoints (an fsync on the event loop) far less often than SQLite's 1,000 pages.
    const cp = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(
      store.db,
    );
    expect(cp.rows[0]?.wal_autocheckpoint).toBe(16_384);
  });

  it('applies every migration once and records it; reopening applies nothing', async () => {
    const file = path.join(dir, 'cc.db');
    const first = await openStore({ kind: 'sqlite', file, migrate: false });
    const report = await first.migrate();
    expect(report.applied).toEqual(STORE_MIGRATIONS.map((m) => m.name));
    await first.close();

    const again = await open(file);
    const second = await again.migrate();
    expect(second.applied).toEqual([]);
    expect(second.current).toEqual(STORE_MIGRATIONS.map((m) => m.name));

    // The tables exist on disk (read with a separate plain connection).
    const raw = new SqliteDatabase(file, { readonly: true });
    const tables = raw
      .prepare("select name from sqlite_master where type = 'table' order by name")
      .all() as { name: string }[];
    raw.close();
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(['instance_alerts', 'instance_health_samples', 'instance_stats']),
    );
  });

  it('data survives closing and reopening the file', async () => {
    const file = path.join(dir, 'cc.db');
    const a = await openStore({ kind: 'sqlite', file });
    await a.healthSamples.record({
      instance_id: 'i1',
      sampled_at: 1_700_000_000_000,
      health: 'healthy',
      ok: true,
      latency_ms: 9,
    });
    await a.close();
    const b = await open(file);
    const [sample] = await b.healthSamples.recent('i1');
    expect(sample).toMatchObject({
      instance_id: 'i1',
      sampled_at: 1_700_000_000_000,
      ok: true,
      latency_ms: 9,
    });
  });

  it('a later migration appends to the list and runs on an existing database', async () => {
    const file = path.join(dir, 'cc.db');
    await (await openStore({ kind: 'sqlite', file })).close();
    const extra: StoreMigration = {
      name: '9999_test_extra',
      async up(db) {
        await db.schema.createTable('extra').addColumn('x', 'text').execute();
      },
    };
    const store = await open(file);
    const report = await migrateToLatest(store.db, 'sqlite', [...STORE_MIGRATIONS, extra]);
    expect(report.applied).toEqual(['9999_test_extra']);
  });

  it('a failing migration raises StoreMigrationError naming the step', async () => {
    const store = await openStore({ kind: 'sqlite', file: path.join(dir, 'x.db'), migrate: false });
    stores.push(store);
    const broken: StoreMigration = {
      name: '0001_broken',
      async up(db) {
        await sql`create table oops (`.execute(db);
      },
    };
    const err = await migrateToLatest(store.db, 'sqlite', [broken]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreMigrationError);
    expect((err as StoreMigrationError).migration).toBe('0001_broken');
    expect((err as Error).message).toContain('0001_broken');
  });

  it('close is idempotent', async () => {
    const store = await openStore({ kind: 'sqlite', file: ':memory:' });
    await store.close();
    await expect(store.close()).resolves.toBeUndefined();
  });
});
