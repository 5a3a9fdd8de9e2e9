import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../../emulator/index.js';
import { parseQuickInstances } from '../../quick-instances.js';
import { type RunningGateway, startGateway } from '../../server.js';
import { until } from '../../testing/harness.js';
import { emptySave } from './testing.js';

describe('quick start', () => {
  const closers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    while (closers.length > 0) await closers.pop()?.();
  });

  it('startGateway with --instances, POST /api/v1/jobs, download the output over HTTP', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cc-quick-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const emus: RunningEmulator[] = [];
    for (let i = 0; i < 2; i++) {
      const e = await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY });
      closers.push(() => e.close());
      emus.push(e);
    }
    const gw: RunningGateway = await startGateway({
      port: 0,
      dataDir: dir,
      env: {},
      quickInstances: parseQuickInstances(emus.map((e) => `127.0.0.1:${e.port}`).join(',')),
      templatesDir: path.join(dir, 'templates'),
      dashboardDir: path.join(dir, 'no-dashboard'),
      logDestination: { write: () => true } as never,
      monitor: { intervalMs: 200, probeInitialDelayMs: 100 },
    });
    closers.push(() => gw.close());

    const submitted = await fetch(`${gw.url}/api/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workflow: emptySave('quick') }),
    });
    expect(submitted.status).toBe(202);
    const { job_id } = (await submitted.json()) as { job_id: string };
    let job: { status: string; outputs: Array<{ url: string; mime: string }> } | undefined;
    await until(
      async () => {
        job = (await (await fetch(`${gw.url}/api/v1/jobs/${job_id}`)).json()) as typeof job;
        return job?.status === 'completed';
      },
      10_000,
      'job completed',
    );
    const out = job?.outputs[0];
    expect(out?.mime).toBe('image/png');
    const file = await fetch(`${gw.url}${out?.url}`);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('image/png');
    const bytes = Buffer.from(await file.arrayBuffer());
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');

    // The dashboard is not built here: / says so; API paths never fall back to it.
    const home = await fetch(`${gw.url}/`);
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('npm run build');
    const missing = await fetch(`${gw.url}/api/v1/nothing`, { headers: { accept: 'text/html' } });
    expect(missing.status).toBe(404);

    // Templates are listed (built-ins) and job metrics are exported.
    const templates = (await (await fetch(`${gw.url}/api/v1/templates`)).json()) as {
      templates: Array<{ name: string }>;
    };
    expect(templates.templates.map((t) => t.name)).toEqual(
      expect.arrayContaining(['remove-background', 'upscale-image']),
    );
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/comfy_cluster_jobs\{status="completed"\} 1/);
    expect(metrics).toContain('comfy_cluster_job_run_seconds_bucket');
    const seed = (await (
      await fetch(`${gw.url}/metrics`, { headers: { accept: 'application/json' } })
    ).json()) as { jobsProcessed: number };
    expect(seed.jobsProcessed).toBe(1);
  });

  it('a job left processing by a stopped gateway finishes after a restart on the same data dir', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cc-restart-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const emu = await startEmulator({ port: 0, speed: 0.01 });
    closers.push(() => emu.close());
    const start = () =>
      startGateway({
        port: 0,
        dataDir: dir,
        env: {},
        quickInstances: parseQuickInstances(`127.0.0.1:${emu.port}`),
        templatesDir: path.join(dir, 'templates'),
        dashboardDir: false,
        logDestination: { write: () => true } as never,
        monitor: { intervalMs: 200, probeInitialDelayMs: 100 },
      });
    const first = await start();
    const r = await fetch(`${first.url}/api/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workflow: emptySave('restart') }),
    });
    const { job_id } = (await r.json()) as { job_id: string };
    await until(
      async () => (await first.jobs.service.get(job_id))?.status === 'processing',
      10_000,
      'processing',
    );
    await first.close();
    emu.setSpeed(Number.POSITIVE_INFINITY);
    const second = await start();
    closers.push(() => second.close());
    await until(
      async () => (await second.jobs.service.get(job_id))?.status === 'completed',
      15_000,
      'completed after restart',
    );
    const job = (await (await fetch(`${second.url}/api/v1/jobs/${job_id}`)).json()) as {
      outputs: unknown[];
    };
    expect(job.outputs).toHaveLength(1);
  });
});
