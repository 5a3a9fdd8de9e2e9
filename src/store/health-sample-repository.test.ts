import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from './open-store.js';
import type { Store } from './store.js';

let dir: string;
let store: Store;
const T0 = 1_750_000_000_000;

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cc-health-'));
  store = await openStore({
    kind: 'sqlite',
    file: path.join(dir, 'cc.db'),
    healthRing: { maxPerInstance: 5, maxAgeMs: 60_000 },
  });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('health samples ring buffer', () => {
  it('keeps only the newest samples per instance as it records', async () => {
    for (let i = 0; i < 8; i++) {
      await store.healthSamples.record({
        instance_id: 'a',
        sampled_at: T0 + i * 1000,
        health: 'healthy',
        ok: true,
        latency_ms: i,
      });
    }
    await store.healthSamples.record({
      instance_id: 'b',
      sampled_at: T0,
      health: 'unhealthy',
      ok: false,
      error: 'ECONNREFUSED',
    });
    const a = await store.healthSamples.recent('a');
    expect(a.map((s) => s.latency_ms)).toEqual([7, 6, 5, 4, 3]);
    expect(await store.healthSamples.count('b')).toBe(1);
    const [b] = await store.healthSamples.recent('b');
    expect(b).toMatchObject({
      ok: false,
      health: 'unhealthy',
      error: 'ECONNREFUSED',
      latency_ms: null,
    });
  });

  it('prune drops samples past the age and beyond a tighter cap, per instance', async () => {
    for (let i = 0; i < 5; i++) {
      await store.healthSamples.record({
        instance_id: 'a',
        sampled_at: T0 + i * 30_000,
        health: 'healthy',
        ok: true,
      });
      await store.healthSamples.record({
        instance_id: 'b',
        sampled_at: T0 + i * 30_000,
        health: 'degraded',
        ok: true,
      });
    }
    // now = T0 + 150 s, maxAge 60 s -> samples at T0+90 s and later stay (i = 3, 4).
    const deleted = await store.healthSamples.prune(T0 + 150_000);
    expect(deleted).toBe(6);
    expect((await store.healthSamples.recent('a')).map((s) => s.sampled_at)).toEqual([
      T0 + 120_000,
      T0 + 90_000,
    ]);

    const again = await store.healthSamples.prune(T0 + 150_000, { maxPerInstance: 1 });
    expect(again).toBe(2);
    expect(await store.healthSamples.count('a')).toBe(1);
    expect(await store.healthSamples.count('b')).toBe(1);
  });

  it('recent filters by time and limit, newest first', async () => {
    for (let i = 0; i < 4; i++) {
      await store.healthSamples.record({
        instance_id: 'a',
        sampled_at: T0 + i,
        health: 'healthy',
        ok: true,
      });
    }
    const r = await store.healthSamples.recent('a', { since: T0 + 1, limit: 2 });
    expect(r.map((s) => s.sampled_at)).toEqual([T0 + 3, T0 + 2]);
  });

  it('deleteInstance forgets one instance only', async () => {
    await store.healthSamples.record({
      instance_id: 'a',
      sampled_at: T0,
      health: 'healthy',
      ok: true,
    });
    await store.healthSamples.record({
      instance_id: 'b',
      sampled_at: T0,
      health: 'healthy',
      ok: true,
    });
    expect(await store.healthSamples.deleteInstance('a')).toBe(1);
    expect(await store.healthSamples.count('a')).toBe(0);
    expect(await store.healthSamples.count('b')).toBe(1);
  });
});

describe('instance stats snapshots', () => {
  it('saves, replaces, lists and deletes', async () => {
    const base = {
      instance_id: 'a',
      updated_at: T0,
      jobs_total: 2,
      jobs_succeeded: 1,
      jobs_failed: 1,
      avg_run_ms: 1234.5,
      last_error: 'OOM',
      last_error_at: T0 - 5,
      details: { queue_wait_ms_p50: 12 },
    };
    await store.instanceStats.save(base);
    await store.instanceStats.save({
      ...base,
      updated_at: T0 + 1,
      jobs_total: 3,
      jobs_succeeded: 2,
    });
    expect(await store.instanceStats.get('a')).toEqual({
      ...base,
      updated_at: T0 + 1,
      jobs_total: 3,
      jobs_succeeded: 2,
    });
    await store.instanceStats.save({ ...base, instance_id: 'b', details: {} });
    expect((await store.instanceStats.list()).map((s) => s.instance_id)).toEqual(['a', 'b']);
    expect(await store.instanceStats.delete('a')).toBe(true);
    expect(await store.instanceStats.get('a')).toBeUndefined();
  });
});

describe('alerts', () => {
  it('raises once per open (instance, kind), clears, and lists newest first', async () => {
    const first = await store.alerts.raise({
      instance_id: 'a',
      kind: 'unhealthy',
      reason: '3 failed checks',
      raised_at: T0,
    });
    const dup = await store.alerts.raise({
      instance_id: 'a',
      kind: 'unhealthy',
      reason: 'again',
      raised_at: T0 + 1,
    });
    expect(first.created).toBe(true);
    expect(dup).toEqual({ alert: first.alert, created: false });
    await store.alerts.raise({
      instance_id: 'a',
      kind: 'low_vram',
      reason: 'VRAM 3% free',
      value: 0.03,
      raised_at: T0 + 2,
    });

    expect(await store.alerts.clear('a', 'unhealthy', T0 + 10)).toBe(1);
    const open = await store.alerts.list({ instanceId: 'a', open: true });
    expect(open.map((a) => a.kind)).toEqual(['low_vram']);
    expect(open[0]?.value).toBeCloseTo(0.03);
    const cleared = await store.alerts.list({ open: false });
    expect(cleared).toEqual([{ ...first.alert, cleared_at: T0 + 10 }]);

    // After clearing, the same kind can be raised again as a new alert.
    const next = await store.alerts.raise({
      instance_id: 'a',
      kind: 'unhealthy',
      reason: 'down again',
      raised_at: T0 + 20,
    });
    expect(next.created).toBe(true);
    expect(next.alert.id).not.toBe(first.alert.id);

    expect(await store.alerts.pruneCleared(T0 + 11)).toBe(1);
    expect((await store.alerts.list()).length).toBe(2);
  });
});
