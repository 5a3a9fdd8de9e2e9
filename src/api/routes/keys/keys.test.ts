import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, harness, until } from '../../testing/harness.js';

let h: Harness;

beforeEach(async () => {
  h = await harness({ emulators: 0 });
});

afterEach(async () => {
  await h.close();
});

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('/api/v1/keys', () => {
  it('creates a key that works at once, lists keys without secrets, revokes idempotently', async () => {
    const boot = await h.keys.create({ role: 'admin', name: 'boot' });
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/keys',
      headers: bearer(boot.key),
      payload: { name: 'ci', role: 'user' },
    });
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body).toMatchObject({ name: 'ci', role: 'user', revoked_at: null, last_used_at: null });
    expect(body.key).toMatch(/^cck_[A-Za-z0-9_-]{43}$/);
    expect(body.key.startsWith(body.prefix)).toBe(true);
    expect(created.headers.location).toBe(`/api/v1/keys/${body.id}`);

    // The new user key authenticates right away (a user route), and is refused admin routes.
    const jobsAsUser = await h.app.inject({
      url: '/api/v1/events?types=nope',
      headers: bearer(body.key),
    });
    expect(jobsAsUser.statusCode).toBe(400); // past authentication: the query is what is wrong
    const listAsUser = await h.app.inject({ url: '/api/v1/keys', headers: bearer(body.key) });
    expect(listAsUser.statusCode).toBe(403);
    expect(listAsUser.json().error.code).toBe('forbidden');

    const list = await h.app.inject({ url: '/api/v1/keys', headers: bearer(boot.key) });
    expect(list.statusCode).toBe(200);
    const keys = list.json().keys as Array<Record<string, unknown>>;
    expect(keys.map((k) => k.name).sort()).toEqual(['boot', 'ci']);
    for (const k of keys) {
      expect(Object.keys(k).sort()).toEqual(
        ['created_at', 'id', 'last_used_at', 'name', 'prefix', 'revoked_at', 'role'].sort(),
      );
    }
    expect(list.body).not.toContain(body.key);

    const revoked = await h.app.inject({
      method: 'DELETE',
      url: `/api/v1/keys/${body.id}`,
      headers: bearer(boot.key),
    });
    expect(revoked.statusCode).toBe(200);
    const at = revoked.json().revoked_at;
    expect(typeof at).toBe('string');
    const again = await h.app.inject({
      method: 'DELETE',
      url: `/api/v1/keys/${body.id}`,
      headers: bearer(boot.key),
    });
    expect(again.statusCode).toBe(200);
    expect(again.json().revoked_at).toBe(at);
    // The key lookup cache holds a valid key for up to a second.
    await until(
      async () =>
        (await h.app.inject({ url: '/api/v1/events?types=nope', headers: bearer(body.key) }))
          .statusCode === 401,
      3_000,
      'the revoked key is refused',
    );
  });

  it('answers 404 for an unknown id and 400 for a bad body; non-admins get 403', async () => {
    const admin = await h.keys.create({ role: 'admin', name: 'a' });
    const user = await h.keys.create({ role: 'user', name: 'u' });
    const unknown = await h.app.inject({
      method: 'DELETE',
      url: '/api/v1/keys/key_000000000000',
      headers: bearer(admin.key),
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('not_found');
    // A prefix is not an id: nothing is revoked by a partial match.
    const byPrefix = await h.app.inject({
      method: 'DELETE',
      url: `/api/v1/keys/${user.record.prefix}`,
      headers: bearer(admin.key),
    });
    expect(byPrefix.statusCode).toBe(404);
    for (const payload of [
      { name: 'x', role: 'root' },
      { role: 'user' },
      { name: '  ', role: 'user' },
    ]) {
      const bad = await h.app.inject({
        method: 'POST',
        url: '/api/v1/keys',
        headers: bearer(admin.key),
        payload,
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.code).toBe('validation_failed');
    }
    for (const [method, url] of [
      ['GET', '/api/v1/keys'],
      ['POST', '/api/v1/keys'],
      ['DELETE', `/api/v1/keys/${admin.record.id}`],
    ] as const) {
      const r = await h.app.inject({
        method,
        url,
        headers: bearer(user.key),
        ...(method === 'POST' ? { payload: { name: 'x', role: 'admin' } } : {}),
      });
      expect(r.statusCode).toBe(403);
    }
    const noKey = await h.app.inject({ url: '/api/v1/keys' });
    expect(noKey.statusCode).toBe(401);
    expect((await h.keys.list()).every((k) => k.revoked_at === null)).toBe(true);
  });
});
