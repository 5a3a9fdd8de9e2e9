import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Kysely, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from './open-store.js';
import { PrecompiledQuery } from './precompiled-query.js';
import type { Database } from './schema.js';
import type { Store } from './store.js';

let dir: string;
let store: Store;

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cc-precompiled-'));
  store = await openStore({ kind: 'sqlite', file: path.join(dir, 'cc.db') });
  await sql`create table t (a text, b integer, c text, d integer)`.execute(store.db);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

// A test table outside the schema: typed loosely for the builder.
type Loose = Kysely<Record<string, Record<string, unknown>>>;

describe('PrecompiledQuery', () => {
  it('binds each call’s arguments in their places, keeps constants, inside transactions too', async () => {
    const insert = new PrecompiledQuery((db: Loose, b: number, a: string) =>
      db.insertInto('t').values({ a, b, c: 'fixed', d: null }),
    );
    const select = new PrecompiledQuery((db: Loose, min: number) =>
      db.selectFrom('t').select(['a', 'b', 'c', 'd']).where('b', '>=', min).orderBy('b'),
    );
    const db = store.db as unknown as Loose;
    await insert.execute(db, 1, 'one');
    await db.transaction().execute(async (trx) => {
      await insert.execute(trx, 2, 'two');
      await insert.execute(trx, 3, 'three');
    });
    expect(await select.execute(db, 2)).toEqual([
      { a: 'two', b: 2, c: 'fixed', d: null },
      { a: 'three', b: 3, c: 'fixed', d: null },
    ]);
    expect(await select.executeTakeFirst(db, 3)).toEqual({ a: 'three', b: 3, c: 'fixed', d: null });
    expect(await select.executeTakeFirst(db, 9)).toBeUndefined();
  });

  it('binds named fields of one object argument', async () => {
    const insert = PrecompiledQuery.named(['b', 'a'], (db: Loose, v: { a: string; b: number }) =>
      db.insertInto('t').values({ a: v.a, b: v.b, c: v.a, d: 7 }),
    );
    const db = store.db as unknown as Loose;
    await insert.execute(db, { a: 'x', b: 1 });
    await insert.execute(db, { b: 2, a: 'y' });
    const rows = await db.selectFrom('t').selectAll().orderBy('b').execute();
    expect(rows).toEqual([
      { a: 'x', b: 1, c: 'x', d: 7 },
      { a: 'y', b: 2, c: 'y', d: 7 },
    ]);
  });

  it('refuses an argument used as SQL text instead of a value', async () => {
    const bad = new PrecompiledQuery((db: Loose, column: string) =>
      db.selectFrom('t').select(sql.ref(column).as('x')),
    );
    await expect(bad.execute(store.db as unknown as Loose, 'a')).rejects.toThrow(/SQL text/);
  });

  it('works on the typed store handle (job events)', async () => {
    const count = new PrecompiledQuery((db: Kysely<Database>, type: string) =>
      db
        .selectFrom('job_events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('type', '=', type),
    );
    expect(await count.executeTakeFirst(store.db, 'created')).toEqual({ n: 0 });
  });
});
