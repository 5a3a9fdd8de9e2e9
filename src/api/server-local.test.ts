/**
 * startGateway with managed instances (`local`): the emulator runs in ComfyUI's place as child
 * processes the supervisor starts, restarts and stops; the fleet, health routes, logs route and
 * jobs see them like any instance.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { openGateway } from '../scheduler/dispatch/testing/gateway.js';
import { planLocalFleet, startManagedFleet } from '../supervisor/index.js';
import { type RunningGateway, startGateway } from './server.js';
import { FAST_MONITOR, until } from './testing/harness.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cc-local-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const quiet = () =>
  new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });

function listen(port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer((s) => s.destroy());
    server.once('error', () => resolve(null));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** Two consecutive loopback ports that were free a moment ago. */
async function portPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const first = await listen(0);
    const address = first?.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const second = port > 0 && port < 65535 ? await listen(port + 1) : null;
    await new Promise((r) => (first ? first.close(r) : r(null)));
    await new Promise((r) => (second ? second.close(r) : r(null)));
    if (second) return port;
  }
  throw new Error('no two consecutive free ports');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function startLocal(portStart: number, dir: string): Promise<RunningGateway> {
  const gw = await startGateway({
    port: 0,
    logDestination: quiet(),
    monitor: FAST_MONITOR,
    dataDir: path.join(dir, 'data'),
    env: { COMFY_CLUSTER_CONFIG: path.join(dir, 'comfyui_instances.json') },
    local: {
      fleet: { emulate: true, gpus: 2, portStart, extraArgs: ['--speed', '50'] },
      supervisor: {
        restart: { delayMs: 200, maxRestarts: 3 },
        readiness: { intervalMs: 50, timeoutMs: 20_000 },
        stopGraceMs: 3000,
      },
      healthyTimeoutMs: 10_000,
    },
  });
  const pids = () => gw.managed?.supervisor.states().flatMap((s) => (s.pid ? [s.pid] : [])) ?? [];
  cleanups.push(async () => {
    const left = pids();
    await gw.close();
    for (const pid of left) if (alive(pid)) process.kill(-pid, 'SIGKILL');
  });
  return gw;
}

const workflow = {
  '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
  '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'local' } },
};

async function runJob(gw: RunningGateway): Promise<{ status: string; instance_id: string }> {
  const res = await fetch(`${gw.url}/api/v1/jobs?wait=true&timeout=20`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ workflow }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { status: string; instance_id: string };
}

describe('startGateway with local (managed) instances', () => {
  it('registers, starts and serves two managed instances; restarts a killed one; logs; stops all on close', async () => {
    const dir = await tempDir();
    const portStart = await portPair();
    const gw = await startLocal(portStart, dir);
    const managed = gw.managed;
    if (!managed) throw new Error('no managed fleet');
    expect(managed.started.running.sort()).toEqual(['comfyui-gpu0', 'comfyui-gpu1']);
    const views = gw.registry.list();
    expect(views.map((v) => [v.id, v.kind, v.port, v.status])).toEqual([
      ['comfyui-gpu0', 'managed', portStart, 'running'],
      ['comfyui-gpu1', 'managed', portStart + 1, 'running'],
    ]);
    expect(views.every((v) => gw.monitor.health(v.id).health === 'healthy')).toBe(true);

    const health = (await (await fetch(`${gw.url}/health`)).json()) as {
      comfyui_instances: { id: string; healthy: boolean }[];
    };
    expect(health.comfyui_instances.filter((i) => i.healthy)).toHaveLength(2);
    const gpu1 = (await (await fetch(`${gw.url}/health/comfyui/instances/1`)).json()) as {
      id: string;
      managed: { status: string; pid: number } | null;
    };
    expect(gpu1.id).toBe('comfyui-gpu1');
    expect(gpu1.managed?.status).toBe('running');
    expect(gpu1.managed?.pid).toBe(managed.supervisor.state('comfyui-gpu1')?.pid);
    const install = (await (await fetch(`${gw.url}/health/comfyui/installation`)).json()) as {
      enabled: boolean;
      emulated?: boolean;
    };
    expect(install).toMatchObject({ enabled: true, emulated: true });

    expect((await runJob(gw)).status).toBe('completed');

    // What the instance printed, through the API.
    const logs = await fetch(`${gw.url}/api/v1/instances/comfyui-gpu0/logs?lines=500`);
    expect(logs.status).toBe(200);
    const body = (await logs.json()) as { instance_id: string; name: string; lines: string[] };
    expect(body.instance_id).toBe('comfyui-gpu0');
    expect(
      body.lines.some((l) => l.endsWith(`To see the GUI go to: http://127.0.0.1:${portStart}`)),
    ).toBe(true);
    const two = (await (
      await fetch(`${gw.url}/api/v1/instances/comfyui-gpu0/logs?lines=2`)
    ).json()) as { lines: string[] };
    expect(two.lines).toEqual(body.lines.slice(-2));
    expect((await fetch(`${gw.url}/api/v1/instances/nope/logs`)).status).toBe(404);
    expect((await fetch(`${gw.url}/api/v1/instances/comfyui-gpu0/logs?lines=5001`)).status).toBe(
      400,
    );
    const remote = await gw.registry.create({
      name: 'far',
      host: '127.0.0.1',
      port: 9,
      enabled: false,
    });
    const notManaged = await fetch(`${gw.url}/api/v1/instances/${remote.id}/logs`);
    expect(notManaged.status).toBe(409);
    expect(((await notManaged.json()) as { error: { code: string } }).error.code).toBe(
      'not_managed',
    );

    // A crash: the supervisor restarts it after the delay; the fleet follows; jobs keep flowing.
    const before = managed.supervisor.state('comfyui-gpu1')?.pid;
    if (!before) throw new Error('no pid');
    process.kill(-before, 'SIGKILL');
    await until(
      () => {
        const s = managed.supervisor.state('comfyui-gpu1');
        return s?.status === 'running' && s.pid !== before;
      },
      15_000,
      'gpu1 restarted',
    );
    await until(() => gw.registry.get('comfyui-gpu1')?.status === 'running', 5_000, 'registry');
    expect(managed.supervisor.state('comfyui-gpu1')?.restarts).toBe(1);
    expect(alive(before)).toBe(false);
    for (let i = 0; i < 3; i++) expect((await runJob(gw)).status).toBe('completed');

    // A restart through the bridge (what a stalled job escalates to): new pid, reason shown.
    const beforeRestart = managed.supervisor.state('comfyui-gpu0')?.pid;
    await managed.bridge.restart('comfyui-gpu0', 'job x stalled (no events from the instance)');
    expect(managed.supervisor.state('comfyui-gpu0')?.pid).not.toBe(beforeRestart);
    expect(gw.registry.get('comfyui-gpu0')).toMatchObject({
      status: 'running',
      status_reason: 'restarted: job x stalled (no events from the instance)',
    });
    expect((await runJob(gw)).status).toBe('completed');

    const pids = managed.supervisor.states().map((s) => s.pid);
    expect(pids.every((p) => typeof p === 'number')).toBe(true);
    await gw.close();
    for (const pid of pids) expect(alive(pid as number)).toBe(false);
  }, 60_000);

  it('reports a taken port as that instance error and starts the other one', async () => {
    const dir = await tempDir();
    const portStart = await portPair();
    const holder = await listen(portStart + 1);
    if (!holder) throw new Error('port taken meanwhile');
    cleanups.push(() => new Promise<void>((r) => holder.close(() => r())));
    const gw = await startLocal(portStart, dir);
    expect(gw.managed?.started.running).toEqual(['comfyui-gpu0']);
    expect(gw.managed?.started.failed).toEqual([
      { name: 'comfyui-gpu1', error: expect.stringContaining(`${portStart + 1}`) },
    ]);
    const view = gw.registry.get('comfyui-gpu1');
    expect(view?.status).toBe('error');
    expect(view?.status_reason).toMatch(/in use/);
    expect(gw.registry.get('comfyui-gpu0')?.status).toBe('running');
    expect((await runJob(gw)).instance_id).toBe('comfyui-gpu0');
  }, 30_000);

  it('refuses to start without an install, naming comfy-cluster install', async () => {
    const dir = await tempDir();
    const error = await startGateway({
      port: 0,
      logDestination: quiet(),
      dataDir: path.join(dir, 'data'),
      env: { COMFY_CLUSTER_CONFIG: path.join(dir, 'comfyui_instances.json'), NUM_GPUS: '1' },
      local: { fleet: { installDir: path.join(dir, 'ComfyUI') } },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/comfy-cluster install/);
  });

  it('a job that stalls on a managed instance is requeued, completes elsewhere, and the instance is restarted', async () => {
    const dir = await tempDir();
    const portStart = await portPair();
    // The dispatch path with a short stall timeout (the gateway's is 120 s).
    const gw = await openGateway({ dir, runner: { stallTimeoutMs: 500 } });
    cleanups.push(() => gw.close());
    const local = await planLocalFleet({
      env: {},
      dataDir: path.join(dir, 'local'),
      emulate: true,
      gpus: 2,
      portStart,
    });
    const fleet = await startManagedFleet({
      local,
      registry: gw.registry,
      supervisor: { readiness: { intervalMs: 50, timeoutMs: 20_000 }, stopGraceMs: 3000 },
    });
    cleanups.push(() => fleet.close());
    const stop = fleet.escalateStalls(gw.dispatcher);
    cleanups.push(stop);
    await until(
      () =>
        ['comfyui-gpu0', 'comfyui-gpu1'].every(
          (id) =>
            gw.monitor.health(id).health === 'healthy' && gw.monitor.capabilities(id) !== undefined,
        ),
      10_000,
      'both healthy',
    );
    const hung = fleet.supervisor.state('comfyui-gpu0');
    if (!hung?.pid) throw new Error('no pid');
    // gpu0 hangs inside a node (no events) and is the only one taking work when the job comes.
    await fetch(`${hung.url}/__emulator/speed`, {
      method: 'POST',
      body: JSON.stringify({ speed: 1e-6 }),
    });
    await gw.registry.pause('comfyui-gpu1');
    const { job } = await gw.service.submit({ workflow });
    await until(
      async () => (await gw.services.jobs.get(job.id))?.phase === 'running',
      10_000,
      'running on gpu0',
    );
    await gw.registry.resume('comfyui-gpu1');

    const done = await gw.service.wait(job.id, { timeoutMs: 20_000 });
    expect(done).toMatchObject({ status: 'completed', instance_id: 'comfyui-gpu1', attempts: 2 });
    expect(done?.excluded_instances).toEqual(['comfyui-gpu0']);
    await until(
      () => {
        const s = fleet.supervisor.state('comfyui-gpu0');
        return s?.status === 'running' && s.pid !== hung.pid;
      },
      20_000,
      'gpu0 restarted',
    );
    await until(() => gw.registry.get('comfyui-gpu0')?.status === 'running', 5_000, 'fleet');
    expect(gw.registry.get('comfyui-gpu0')?.status_reason).toBe(
      `restarted: job ${job.id} stalled (no events from the instance)`,
    );
    const log =
      fleet.supervisor
        .get('comfyui-gpu0')
        ?.logTail(500)
        .map((l) => l.text) ?? [];
    expect(log).toContain(`restart: job ${job.id} stalled (no events from the instance)`);
    // The restarted instance works again (a fresh process: normal speed).
    await until(() => gw.monitor.health('comfyui-gpu0').health === 'healthy', 10_000, 'healthy');
    await gw.registry.pause('comfyui-gpu1');
    const again = await gw.service.submit({ workflow });
    const second = await gw.service.wait(again.job.id, { timeoutMs: 20_000 });
    expect(second).toMatchObject({ status: 'completed', instance_id: 'comfyui-gpu0' });
  }, 60_000);
});
