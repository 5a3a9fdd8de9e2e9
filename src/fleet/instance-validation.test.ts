import { describe, expect, it } from 'vitest';
import { InstanceCreateSchema, InstanceSchema } from './instance.js';
import { applyUpdate, findConflicts, normalizeInstance } from './instance-validation.js';
import { schemaErrors } from './validation.js';

const NOW = '2025-06-01T12:00:00.000Z';
const opts = { shape: 'create' as const, source: 'api' as const, now: NOW, newId: () => 'new-id' };

function valid(input: Record<string, unknown>) {
  const r = normalizeInstance(input, opts);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.instance;
}

describe('normalizeInstance', () => {
  it('fills every default from the schema', () => {
    expect(valid({ host: '10.0.0.5' })).toEqual({
      id: 'new-id',
      name: '10.0.0.5:8188',
      description: '',
      host: '10.0.0.5',
      port: 8188,
      tls: false,
      kind: 'remote',
      gpu_device: null,
      env_vars: {},
      custom_nodes_path: null,
      max_concurrent: 1,
      prefetch: 1,
      timeout_ms: 300000,
      priority: 1,
      tags: [],
      enabled: true,
      auto_start: false,
      path_map: [],
      created_at: NOW,
      last_used_at: null,
      source: 'api',
    });
  });

  it('keeps given values, strips IPv6 brackets, and validates against the full schema', () => {
    const i = valid({
      name: 'gpu1',
      host: '[::1]',
      port: 8189,
      tags: ['sdxl'],
      path_map: [{ local: 'U:/', remote: '/home/me/ComfyUI/' }],
      auth: { type: 'bearer', token: 't0k' },
    });
    expect(i).toMatchObject({ name: 'gpu1', host: '::1', port: 8189, tags: ['sdxl'] });
    expect(schemaErrors(InstanceSchema, i)).toEqual([]);
  });

  it('reports every problem with a path and what to fix', () => {
    const r = normalizeInstance(
      {
        host: 'http://gpu1',
        port: 70000,
        maxConcurrent: 2,
        kind: 'local',
        tls: 'yes',
        tags: ['a', 'a'],
        path_map: [{ local: 'U:/' }],
        env_vars: { '1BAD': 'x' },
        priority: 1.5,
      },
      opts,
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const byPath = Object.fromEntries(r.errors.map((e) => [e.path, e.message]));
    expect(byPath).toEqual({
      host: "host must not include a scheme ('http://'); give the bare host and set tls: true for https",
      port: 'must be between 1 and 65535, got 70000',
      maxConcurrent: "unknown field; did you mean 'max_concurrent'?",
      kind: 'must be one of "remote", "managed", got "local" (a string)',
      tls: 'must be true or false, got "yes" (a string)',
      tags: 'must not contain the same value twice',
      'path_map[0].remote': 'is required',
      'env_vars["1BAD"]':
        "key must be a valid environment variable name (letters, digits and '_', not starting with a digit)",
      priority: 'must be an integer, got 1.5 (not an integer)',
    });
  });

  it('requires host and refuses server-managed fields on create', () => {
    const r = normalizeInstance({ created_at: NOW, source: 'file' }, opts);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.path).sort()).toEqual(['created_at', 'host', 'source']);
    expect(r.errors.find((e) => e.path === 'host')?.message).toBe('is required');
  });

  it('rejects a non-object and a bad id', () => {
    expect(normalizeInstance('10.0.0.5', opts)).toEqual({
      ok: false,
      errors: [{ path: '', message: 'must be an object, got "10.0.0.5" (a string)' }],
    });
    const r = normalizeInstance({ host: 'a', id: 'has space' }, opts);
    expect(!r.ok && r.errors[0]?.message).toContain('may contain only letters, digits');
  });

  it('entries (config file) may carry created_at and source; env is not a storable source', () => {
    const ok = normalizeInstance(
      { host: 'a', created_at: '2024-01-17T16:00:00Z', source: 'api' },
      { ...opts, shape: 'entry', source: 'file', prefix: 'instances[0]' },
    );
    expect(ok.ok && ok.instance).toMatchObject({
      created_at: '2024-01-17T16:00:00Z',
      source: 'api',
    });
    const bad = normalizeInstance(
      { host: 'a', created_at: 'yesterday', source: 'env' },
      { ...opts, shape: 'entry', source: 'file', prefix: 'instances[0]' },
    );
    expect(!bad.ok && bad.errors.map((e) => e.path)).toEqual([
      'instances[0].created_at',
      'instances[0].source',
    ]);
  });

  it('explains a wrong auth type and missing auth fields without echoing secrets', () => {
    const wrongType = schemaErrors(InstanceCreateSchema, { host: 'a', auth: { type: 'oauth' } });
    expect(wrongType).toEqual([
      {
        path: 'auth.type',
        message: 'must be one of "bearer", "basic", "header", got "oauth" (a string)',
      },
    ]);
    const missing = schemaErrors(InstanceCreateSchema, {
      host: 'a',
      auth: { type: 'basic', username: 'u', password: 12345678 },
    });
    expect(missing).toEqual([
      { path: 'auth.password', message: 'must be a string, got a number (value hidden)' },
    ]);
    expect(JSON.stringify(missing)).not.toContain('12345678');
  });
});

describe('findConflicts', () => {
  const a = valid({ name: 'gpu1', host: 'localhost', port: 8188 });

  it('finds duplicate name (any case), host:port (loopback aliases) and id', () => {
    const b = { ...valid({ name: 'GPU1', host: '127.0.0.1', port: 8188 }), id: a.id };
    const errors = findConflicts(b, [a], { prefix: 'instances[1]' });
    expect(errors.map((e) => e.path)).toEqual([
      'instances[1].id',
      'instances[1].name',
      'instances[1].host',
    ]);
    expect(errors[1]?.message).toBe(
      "name 'GPU1' is already used by instance 'gpu1' (id new-id, localhost:8188); names must be unique",
    );
    expect(errors[2]?.message).toContain('127.0.0.1:8188 is already used by');
  });

  it('ignores the instance itself on update', () => {
    expect(findConflicts(a, [a], { sameIdIsSelf: true })).toEqual([]);
  });
});

describe('applyUpdate', () => {
  const base = valid({ name: 'gpu1', host: 'gpu1.lan', auth: { type: 'bearer', token: 'x' } });

  it('changes only the given fields; auth null removes credentials', () => {
    const r = applyUpdate(base, { port: 8190, auth: null });
    expect(r.ok && r.instance).toMatchObject({ port: 8190, name: 'gpu1', host: 'gpu1.lan' });
    expect(r.ok && 'auth' in r.instance).toBe(false);
  });

  it('refuses id/source changes and bad values', () => {
    const r = applyUpdate(base, {
      id: 'other',
      source: 'env',
      max_concurrent: 0,
      host: 'bad host',
    });
    expect(!r.ok && r.errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      'id: cannot be changed (the gateway sets it)',
      'source: cannot be changed (the gateway sets it)',
      'max_concurrent: must be between 1 and 64, got 0',
      expect.stringMatching(/^host: host 'bad host' is not a valid hostname/),
    ]);
  });
});
