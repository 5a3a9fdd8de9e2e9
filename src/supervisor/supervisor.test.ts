import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InProcessEventBus } from '../store/index.js';
import { planInstances } from './instance-plan.js';
import { assertPortFree } from './port-check.js';
import { signalGroup } from './process-tree.js';
import { Supervisor, type SupervisorBusEvents } from './supervisor.js';
import { FAKE_COMFYUI, freePort } from './testing/test-helpers.js';

let dir: string;
let supervisor: Supervisor | null = null;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cc-sup-'));
});

afterEach(async () => {
  if (supervisor) {
    const pids = supervisor.states().flatMap((s) => (s.pid === null ? [] : [s.pid]));
    await supervisor.stopAll();
    for (const pid of pids) signalGroup(pid, 'SIGKILL');
    supervisor = null;
  }
  await rm(dir, { recursive: true, force: true });
});

/** A two-GPU plan whose "python" is node running the fake ComfyUI (it accepts the same flags). */
async function twoGpuPlan() {
  // The plan needs two consecutive free ports: probe a few candidates.
  let portStart = await freePort();
  for (let i = 0; i < 10; i++) {
    if (
      await assertPortFree('127.0.0.1', portStart + 1).then(
        () => true,
        () => false,
      )
    )
      break;
    portStart = await freePort();
  }
  const plan = planInstances(
    {
      gpus: [0, 1].map((index) => ({ index, name: 'GPU', memoryTotalMiB: 1, memoryUsedMiB: 0 })),
      cpuOnly: false,
    },
    { installDir: dir, dataDir: join(dir, 'data'), portStart, pythonPath: process.execPath },
  );
  for (const instance of plan.instances) instance.args[0] = FAKE_COMFYUI; // main.py → the fake
  return plan;
}

describe('Supervisor', () => {
  it('runs the preflight, starts every planned instance and publishes on the bus', async () => {
    const bus = new InProcessEventBus<SupervisorBusEvents>();
    const published: string[] = [];
    bus.subscribe('supervisor.instance.status', (c) => published.push(`${c.name}:${c.status}`));
    const order: string[] = [];
    supervisor = new Supervisor({
      runDir: join(dir, 'run'),
      readiness: { intervalMs: 50, timeoutMs: 5000 },
      restart: { delayMs: 100 },
      stopGraceMs: 2000,
      bus,
      preflight: async () => {
        order.push('preflight');
      },
    });
    supervisor.on('status', (c) => order.push(`${c.name}:${c.status}`));
    const plan = await twoGpuPlan();
    for (const instance of plan.instances) supervisor.add(instance);

    const result = await supervisor.startAll();
    expect(result.failed).toEqual([]);
    expect(result.running.sort()).toEqual(['comfyui-gpu0', 'comfyui-gpu1']);
    expect(order[0]).toBe('preflight');
    expect(published.filter((p) => p.endsWith(':running')).sort()).toEqual([
      'comfyui-gpu0:running',
      'comfyui-gpu1:running',
    ]);
    // The planned flags reached the process: it reports them in /system_stats argv.
    const [gpu1] = plan.instances.slice(1);
    const stats = (await fetch(`${gpu1?.url}/system_stats`).then((r) => r.json())) as {
      system: { argv: string[] };
    };
    expect(stats.system.argv).toContain(gpu1?.dirs.user);
    expect(supervisor.state('comfyui-gpu1')).toMatchObject({ status: 'running', gpuIndex: 1 });

    await supervisor.restart('comfyui-gpu1', 'job hung');
    expect(
      supervisor
        .get('comfyui-gpu1')
        ?.logTail(50)
        .map((l) => l.text),
    ).toContain('restart: job hung');
    await supervisor.stopAll();
    expect(supervisor.states().map((s) => s.status)).toEqual(['stopped', 'stopped']);
  });

  it('starts nothing when the preflight (install check) fails', async () => {
    supervisor = new Supervisor({
      runDir: join(dir, 'run'),
      preflight: async () => {
        throw new Error('ComfyUI is not installed in /opt/ComfyUI: run comfy-cluster install');
      },
    });
    const plan = await twoGpuPlan();
    for (const instance of plan.instances) supervisor.add(instance);
    await expect(supervisor.startAll()).rejects.toThrow(/not installed/);
    expect(supervisor.states().map((s) => s.status)).toEqual(['stopped', 'stopped']);
  });

  it('reports instances that fail without failing the others', async () => {
    supervisor = new Supervisor({
      runDir: join(dir, 'run'),
      readiness: { intervalMs: 50, timeoutMs: 300 },
    });
    const port = await freePort();
    supervisor.addProcess({
      name: 'good',
      command: process.execPath,
      args: [FAKE_COMFYUI, '--port', String(port)],
      host: '127.0.0.1',
      port,
      log: { file: join(dir, 'good.log') },
      // Its own bound: a loaded machine can take longer than 300 ms to start node.
      readiness: { timeoutMs: 15_000 },
    });
    const other = await freePort();
    supervisor.addProcess({
      name: 'never-ready',
      command: process.execPath,
      args: [FAKE_COMFYUI, '--port', String(other), '--fake-not-ready'],
      host: '127.0.0.1',
      port: other,
      log: { file: join(dir, 'bad.log') },
    });
    expect(() =>
      supervisor?.addProcess({
        name: 'good',
        command: 'x',
        args: [],
        host: '127.0.0.1',
        port: 1,
        log: { file: join(dir, 'x.log') },
      }),
    ).toThrow(/already supervised/);
    const result = await supervisor.startAll();
    expect(result.running).toEqual(['good']);
    expect(result.failed).toEqual([
      { name: 'never-ready', error: expect.stringMatching(/did not answer .* within 300 ms/) },
    ]);
    expect(supervisor.state('never-ready')?.error?.code).toBe('STARTUP_TIMEOUT');
  });
});
