import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ApiKeyRepository, apiKeyRepository, hashApiKey } from './api-key-repository.js';
import { openStore } from './open-store.js';
import type { Store } from './store.js';

let dir: string;
let store: Store;
let keys: ApiKeyRepository;
let now = 1_750_000_000_000;

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cc-keys-'));
  store = await openStore({ kind: 'sqlite', file: path.join(dir, 'cc.db'), migrate: false });
  await store.migrate();
  keys = apiKeyRepository(store, { clock: () => now });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ApiKeyRepository', () => {
  it('creates a key that authenticates, and stores only its hash and prefix', async () => {
    const { key, record } = await keys.create({ role: 'admin', name: 'ci' });
    expect(key).toMatch(/^cck_[A-Za-z0-9_-]{43}$/);
    expect(record).toMatchObject({ role: 'admin', name: 'ci', created_at: now, revoked_at: null });
    expect(key.startsWith(record.prefix)).toBe(true);
    expect(record.prefix).toHaveLength(12);

    expect(await keys.authenticate(key)).toEqual(record);
    const rows = await store.db
      .withTables<{ api_keys: Record<string, unknown> }>()
      .selectFrom('api_keys')
      .selectAll()
      .execute();
    expect(JSON.stringify(rows)).not.toContain(key);
    expect(rows[0]?.key_hash).toBe(hashApiKey(key));
  });

  it('refuses unknown, malformed and altered keys', async () => {
    const { key } = await keys.create({ role: 'user' });
    const last = key.at(-1) === 'A' ? 'B' : 'A';
    expect(await keys.authenticate(`${key.slice(0, -1)}${last}`)).toBeUndefined();
    expect(await keys.authenticate('')).toBeUndefined();
    expect(await keys.authenticate('Bearer x')).toBeUndefined();
    expect(await keys.authenticate(`${key}x`)).toBeUndefined();
  });

  it('revokes by id or unique prefix; a revoked key no longer authenticates', async () => {
    const a = await keys.create({ role: 'user', name: 'a' });
    const b = await keys.create({ role: 'admin', name: 'b' });
    expect(await keys.countActive()).toBe(2);
    now += 1000;
    const revoked = await keys.revoke(a.record.id);
    expect(revoked?.revoked_at).toBe(now);
    expect(await keys.authenticate(a.key)).toBeUndefined();
    expect(await keys.countActive()).toBe(1);
    expect((await keys.revoke(b.record.prefix))?.id).toBe(b.record.id);
    expect(await keys.authenticate(b.key)).toBeUndefined();
    expect(await keys.revoke('key_nothere')).toBeUndefined();
    // Revoking twice keeps the first time.
    now += 1000;
    expect((await keys.revoke(a.record.id))?.revoked_at).toBe(now - 1000);
  });

  it('lists newest first with last use', async () => {
    const a = await keys.create({ role: 'user', name: 'old' });
    now += 10;
    const b = await keys.create({ role: 'admin', name: 'new' });
    await keys.touch(a.record.id, now + 5);
    const list = await keys.list();
    expect(list.map((k) => k.id)).toEqual([b.record.id, a.record.id]);
    expect(list[1]?.last_used_at).toBe(now + 5);
    expect(list[0]?.last_used_at).toBeNull();
  });

  it('rejects an unknown role', async () => {
    await expect(keys.create({ role: 'root' as 'admin' })).rejects.toThrow(/unknown role/);
  });

  it('migrating again is a no-op', async () => {
    const report = await store.migrate();
    expect(report.applied).toEqual([]);
    expect(report.current).toContain('0003_api_keys');
  });
});
