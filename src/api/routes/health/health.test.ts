/**
 * /health, /health/comfyui/..., /livez, /readyz and /metrics against real emulators and the real
 * health monitor.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ManagedInstanceState } from '../../../supervisor/index.js';
import { type Harness, type HarnessOptions, harness, until } from '../../testing/harness.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function setup(options: HarnessOptions = {}): Promise<Harness> {
  const h = await harness(options);
  cleanups.push(() => h.close());
  return h;
}

interface HealthBody {
  status: string;
  timestamp: string;
  uptime: number;
  comfyui_instances: {
    id: string;
    host: string;
    healthy: boolean;
    active_jobs: number;
    last_check: string | null;
  }[];
  warnings: unknown[];
}

describe('/health', () => {
  it('is 200 healthy with the seed shape while an instance answers', async () => {
    const h = await setup();
    const id = h.ids[0] ?? '';
    await until(() => h.monitor.health(id).health === 'healthy', 5_000, 'healthy');
    const res = await h.app.inject({ url: '/health' });
    expect(res.statusCode).toBe(200);
    const body = JSON.parse(res.body) as HealthBody;
    expect(body.status).toBe('healthy');
    expect(Number.isNaN(Date.parse(body.timestamp))).toBe(false);
    expect(body.uptime).toBeGreaterThan(0);
    expect(body.comfyui_instances).toEqual([
      expect.objectContaining({
        id,
        host: `127.0.0.1:${h.emulators[0]?.port}`,
        healthy: true,
        active_jobs: 0,
        last_check: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      }),
    ]);
  });

  it('is 503 degraded when the only instance is down', async () => {
    const h = await setup();
    const id = h.ids[0] ?? '';
    await until(() => h.monitor.health(id).health === 'healthy', 5_000, 'healthy');
    await h.emulators[0]?.close();
    await until(() => h.monitor.health(id).health === 'unhealthy', 8_000, 'unhealthy');
    const res = await h.app.inject({ url: '/health' });
    expect(res.statusCode).toBe(503);
    const body = JSON.parse(res.body) as HealthBody;
    expect(body.status).toBe('degraded');
    expect(body.comfyui_instances[0]?.healthy).toBe(false);
    const comfy = await h.app.inject({ url: '/health/comfyui' });
    expect(comfy.statusCode).toBe(503);
    expect(JSON.parse(comfy.body)).toMatchObject({
      status: 'unhealthy',
      instances: { total: 1, unhealthy: 1 },
    });
  });

  it('shows configuration warnings', async () => {
    const h = await setup({ env: { JOB_TIMEOUT: 'forever' } });
    const body = JSON.parse((await h.app.inject({ url: '/health' })).body) as HealthBody;
    expect(JSON.stringify(body.warnings)).toContain('JOB_TIMEOUT');
  });
});

describe('/health/comfyui', () => {
  it('summarises, lists and finds instances by GPU, with supervisor state for managed ones', async () => {
    const states: ManagedInstanceState[] = [];
    const h = await setup({ deps: { supervisor: { states: () => states } } });
    const id = h.ids[0] ?? '';
    await until(() => h.monitor.health(id).health === 'healthy', 5_000, 'healthy');
    const managed = await h.registry.create({
      id: 'comfyui-gpu1',
      name: 'comfyui-gpu1',
      host: '127.0.0.1',
      port: 1,
      kind: 'managed',
      gpu_device: '1',
    });
    states.push({
      name: managed.id,
      status: 'error',
      pid: null,
      host: '127.0.0.1',
      port: 1,
      url: 'http://127.0.0.1:1',
      startedAt: 1_700_000_000_000,
      readyAt: null,
      restarts: 10,
      lastExit: null,
      error: { code: 'STARTUP_TIMEOUT', message: 'not ready after 300 s', at: 1, logTail: [] },
      logFile: '/var/log/comfyui-gpu1.log',
      gpuIndex: 1,
    });

    const summary = await h.app.inject({ url: '/health/comfyui' });
    expect(summary.statusCode).toBe(200);
    expect(JSON.parse(summary.body)).toMatchObject({
      status: 'degraded',
      instances: { total: 2, healthy: 1, unknown: 1 },
      local: { enabled: false },
    });

    const list = await h.app.inject({ url: '/health/comfyui/instances' });
    const { instances } = JSON.parse(list.body) as { instances: Record<string, unknown>[] };
    expect(instances.map((i) => i.id)).toEqual([id, managed.id]);
    expect(instances[0]).toMatchObject({ health: 'healthy', managed: null });

    for (const gpu of ['1', 'gpu1', 'cuda:1']) {
      const one = await h.app.inject({ url: `/health/comfyui/instances/${gpu}` });
      expect(one.statusCode).toBe(200);
      expect(JSON.parse(one.body)).toMatchObject({
        id: managed.id,
        status: 'stopped',
        managed: {
          status: 'error',
          restarts: 10,
          started_at: new Date(1_700_000_000_000).toISOString(),
          error: { code: 'STARTUP_TIMEOUT' },
        },
      });
    }
    const byId = await h.app.inject({ url: `/health/comfyui/instances/${id}` });
    expect(JSON.parse(byId.body)).toMatchObject({ id });
    const none = await h.app.inject({ url: '/health/comfyui/instances/gpu7' });
    expect(none.statusCode).toBe(404);
    expect(JSON.parse(none.body).error.code).toBe('instance_not_found');
  });

  it('says when local instances are not enabled, and reports an installation otherwise', async () => {
    const off = await setup();
    const res = await off.app.inject({ url: '/health/comfyui/installation' });
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ enabled: false });
    expect(JSON.parse(res.body).message).toContain('ENABLE_COMFYUI');

    const dir = await mkdtemp(path.join(tmpdir(), 'cc-install-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const on = await setup({ deps: { local: { enabled: true, installDir: dir } } });
    const missing = await on.app.inject({ url: '/health/comfyui/installation' });
    expect(missing.statusCode).toBe(503);
    expect(JSON.parse(missing.body)).toMatchObject({
      enabled: true,
      installed: false,
      install_dir: dir,
      problems: [expect.stringContaining('no ComfyUI')],
    });
  });

  it('lists model files per folder and which instances have them', async () => {
    const h = await setup({ emulators: 2 });
    for (const id of h.ids) {
      await until(() => h.monitor.capabilities(id) !== undefined, 5_000, 'capabilities');
    }
    const res = await h.app.inject({ url: '/health/comfyui/models' });
    expect(res.statusCode).toBe(200);
    const body = JSON.parse(res.body) as {
      folders: Record<string, Record<string, string[]>>;
      instances: { id: string; models: Record<string, number> }[];
    };
    const checkpoints = body.folders.checkpoints ?? {};
    const [file, holders] = Object.entries(checkpoints)[0] ?? [];
    expect(file).toBeDefined();
    expect(holders).toEqual(h.ids);
    expect(body.instances[0]?.models.checkpoints).toBe(Object.keys(checkpoints).length);
  });
});

describe('/livez, /readyz', () => {
  it('livez is up; readyz is ready while the store is open and migrated, 503 after', async () => {
    const h = await setup();
    expect(JSON.parse((await h.app.inject({ url: '/livez' })).body)).toEqual({ status: 'ok' });
    const ready = await h.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({
      status: 'ready',
      checks: { store: 'ok', migrations: 'ok' },
    });
    await h.monitor.close();
    await h.store.close();
    const gone = await h.app.inject({ url: '/readyz' });
    expect(gone.statusCode).toBe(503);
    expect(JSON.parse(gone.body)).toMatchObject({ status: 'not_ready' });
    expect((await h.app.inject({ url: '/livez' })).statusCode).toBe(200);
  });
});

describe('/metrics', () => {
  it('exposes Prometheus text with per-instance health and request counts', async () => {
    const h = await setup();
    const id = h.ids[0] ?? '';
    await until(() => h.monitor.health(id).health === 'healthy', 5_000, 'healthy');
    await h.app.inject({ url: '/api/v1/instances' });
    const res = await h.app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toContain(`comfy_cluster_instance_up{instance="${id}",name="emu0"} 1`);
    expect(res.body).toContain(
      `comfy_cluster_instance_health{instance="${id}",name="emu0",state="healthy"} 1`,
    );
    expect(res.body).toMatch(
      new RegExp(
        `comfy_cluster_instance_check_latency_seconds\\{instance="${id}",name="emu0"\\} \\d`,
      ),
    );
    expect(res.body).toContain(
      'comfy_cluster_http_requests_total{method="GET",route="/api/v1/instances",status_code="200"} 1',
    );
    expect(res.body).toContain('comfy_cluster_process_cpu_seconds_total');
  });

  it("answers the seed's JSON with Accept: application/json; the job layer can feed it", async () => {
    const h = await setup();
    const res = await h.app.inject({ url: '/metrics', headers: { accept: 'application/json' } });
    expect(res.statusCode).toBe(200);
    const body = JSON.parse(res.body) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(
      ['avgProcessingTime', 'errorRate', 'instanceStats', 'jobsProcessed', 'uptime'].sort(),
    );
    expect(body).toMatchObject({
      jobsProcessed: 0,
      errorRate: 0,
      instanceStats: { [`127.0.0.1:${h.emulators[0]?.port}`]: { jobsProcessed: 0, errors: 0 } },
    });
    h.app.api.metrics.setJobTotals(() => ({ processed: 4, failed: 1, total_processing_ms: 2000 }));
    const fed = JSON.parse(
      (await h.app.inject({ url: '/metrics', headers: { accept: 'application/json' } })).body,
    );
    expect(fed).toMatchObject({ jobsProcessed: 4, avgProcessingTime: 500, errorRate: 0.25 });
    // Prometheus' own Accept header still gets text.
    const prom = await h.app.inject({
      url: '/metrics',
      headers: { accept: 'text/plain;version=0.0.4;q=0.9,*/*;q=0.1' },
    });
    expect(prom.headers['content-type']).toMatch(/^text\/plain/);
  });
});
