import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InstanceRegistry } from '../fleet/index.js';
import { FleetBridge } from './fleet-bridge.js';
import { fleetEntry } from './fleet-entry.js';
import { planInstances } from './instance-plan.js';
import { signalGroup } from './process-tree.js';
import { Supervisor } from './supervisor.js';
import { FAKE_COMFYUI, freePort, waitFor } from './testing/test-helpers.js';

let dir: string;
let supervisor: Supervisor;
let registry: InstanceRegistry;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cc-bridge-'));
  supervisor = new Supervisor({
    runDir: join(dir, 'run'),
    restart: { delayMs: 100, maxRestarts: 2 },
    readiness: { intervalMs: 50, timeoutMs: 5000 },
    stopGraceMs: 2000,
  });
  registry = await InstanceRegistry.open({
    configFile: join(dir, 'comfyui_instances.json'),
    env: {},
  });
});

afterEach(async () => {
  const pids = supervisor.states().flatMap((s) => (s.pid === null ? [] : [s.pid]));
  await supervisor.stopAll();
  for (const pid of pids) signalGroup(pid, 'SIGKILL');
  await registry.close();
  await rm(dir, { recursive: true, force: true });
});

async function plannedGpu0() {
  const [planned] = planInstances(
    { gpus: [{ index: 0, name: 'GPU', memoryTotalMiB: 1, memoryUsedMiB: 0 }], cpuOnly: false },
    {
      installDir: dir,
      dataDir: join(dir, 'data'),
      portStart: await freePort(),
      pythonPath: process.execPath,
    },
  ).instances;
  if (!planned) throw new Error('no plan');
  planned.args[0] = FAKE_COMFYUI; // node runs the fake in place of main.py
  return planned;
}

describe('FleetBridge', () => {
  it('lets the fleet lifecycle start and stop a managed instance, and reports crashes', async () => {
    const planned = await plannedGpu0();
    supervisor.add(planned);
    const bridge = new FleetBridge(supervisor, registry);
    registry.attachSupervisor(bridge);
    const entry = fleetEntry(planned, 'managed');
    await registry.create({
      id: entry.id,
      name: entry.name,
      host: entry.host,
      port: entry.port,
      kind: 'managed',
    });

    expect((await registry.start('comfyui-gpu0')).status).toBe('running');
    expect(supervisor.state('comfyui-gpu0')?.status).toBe('running');

    // A crash the fleet did not ask for: the registry hears "starting", then "running" again.
    await fetch(`${planned.url}/__emulator/exit?code=9`, { method: 'POST' }).catch(() => undefined);
    await waitFor(
      () => registry.resolve('comfyui-gpu0').status === 'starting',
      'the restart to be reported',
    );
    expect(registry.resolve('comfyui-gpu0').status_reason).toBe(
      'exit code 9: restart 1/2 in 100 ms',
    );
    await waitFor(() => registry.resolve('comfyui-gpu0').status === 'running', 'running again');

    expect((await registry.stop('comfyui-gpu0')).status).toBe('stopped');
    expect(supervisor.state('comfyui-gpu0')?.status).toBe('stopped');
    bridge.detach();
  });

  it('refuses a managed instance this machine has no plan for, naming what it runs', async () => {
    supervisor.add(await plannedGpu0());
    registry.attachSupervisor(new FleetBridge(supervisor, registry));
    await registry.create({
      id: 'elsewhere',
      name: 'elsewhere',
      host: '127.0.0.1',
      port: 9999,
      kind: 'managed',
    });
    await expect(registry.start('elsewhere')).rejects.toThrow(
      "no local plan for managed instance 'elsewhere' (id elsewhere): this machine runs comfyui-gpu0",
    );
    expect(registry.resolve('elsewhere').status).toBe('error');
  });
});
