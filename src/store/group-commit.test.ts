import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Kysely, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';
import { openStore } from './open-store.js';
import type { Store } from './store.js';

interface T {
  t: { id: number; v: string };
}

let dir: string;
let store: Store;
let db: Kysely<T>;

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cc-group-commit-'));
  store = await openStore({ kind: 'sqlite', file: path.join(dir, 'cc.db') });
  await sql`create table t (id integer primary key, v text not null)`.execute(store.db);
  db = store.db as unknown as Kysely<T>;
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const insert =
  (id: number, v = 'a') =>
  (trx: Kysely<T>) =>
    trx.insertInto('t').values({ id, v }).returning('id').executeTakeFirstOrThrow();

describe('GroupCommit (sqlite)', () => {
  it('commits the writes of one turn in one transaction, each caller answered after it', async () => {
    const writes = new GroupCommit(db);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => writes.run(insert(i))));
    expect(results.map((r) => r.id)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(writes.stats).toEqual({ batches: 1, units: 20 });
    // Committed: a second connection to the file sees every row.
    const other = await openStore({ kind: 'sqlite', file: store.location, migrate: false });
    try {
      const rows = await sql<{ n: number }>`select count(*) as n from t`.execute(other.db);
      expect(rows.rows[0]?.n).toBe(20);
    } finally {
      await other.close();
    }
  });

  it('keeps compare-and-set meaning inside a batch: of two claims of one row, one wins', async () => {
    await db.insertInto('t').values({ id: 1, v: 'pending' }).execute();
    const writes = new GroupCommit(db);
    const claim = (who: string) =>
      writes.run(async (trx) => {
        const r = await trx
          .updateTable('t')
          .set({ v: who })
          .where('id', '=', 1)
          .where('v', '=', 'pending')
          .executeTakeFirst();
        return Number(r.numUpdatedRows);
      });
    const [a, b] = await Promise.all([claim('a'), claim('b')]);
    expect([a, b]).toEqual([1, 0]);
    expect(writes.stats.batches).toBe(1);
    const row = await db.selectFrom('t').selectAll().where('id', '=', 1).executeTakeFirst();
    expect(row?.v).toBe('a');
  });

  it('a failing write fails alone: the others of its batch are committed', async () => {
    await db.insertInto('t').values({ id: 5, v: 'taken' }).execute();
    const writes = new GroupCommit(db);
    const outcomes = await Promise.allSettled([
      writes.run(insert(4)),
      writes.run(insert(5)), // primary key taken
      writes.run(insert(6)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const ids = (await db.selectFrom('t').select('id').orderBy('id').execute()).map((r) => r.id);
    expect(ids).toEqual([4, 5, 6]);
    const kept = await db.selectFrom('t').select('v').where('id', '=', 5).executeTakeFirst();
    expect(kept?.v).toBe('taken');
  });

  it('splits a long queue into batches of at most maxBatch', async () => {
    const writes = new GroupCommit(db, { maxBatch: 4 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => writes.run(insert(i))));
    expect(writes.stats).toEqual({ batches: 3, units: 10 });
  });

  it('disabled: each write is a transaction of its own', async () => {
    const writes = new GroupCommit(db, { enabled: false });
    await Promise.all(Array.from({ length: 3 }, (_, i) => writes.run(insert(i))));
    expect(writes.stats).toEqual({ batches: 3, units: 3 });
  });

  it('GroupCommit.of shares one queue per database handle', () => {
    expect(GroupCommit.of(db)).toBe(GroupCommit.of(db));
  });
});
