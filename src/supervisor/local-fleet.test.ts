import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { comfyFiles, createRepo } from './fixtures/stand-in-repos.js';
import { NotInstalledError } from './installation-status.js';
import { installComfyUI } from './installer.js';
import { createLocalSupervisor, planLocalFleet } from './local-fleet.js';
import { signalGroup } from './process-tree.js';
import type { Supervisor } from './supervisor.js';
import { freePort } from './testing/test-helpers.js';

const smiFixtures = fileURLToPath(new URL('./fixtures/nvidia-smi/', import.meta.url));
let root: string;
let supervisor: Supervisor | null = null;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cc-local-'));
});
afterEach(async () => {
  if (supervisor) {
    const pids = supervisor.states().flatMap((s) => (s.pid === null ? [] : [s.pid]));
    await supervisor.stopAll();
    for (const pid of pids) signalGroup(pid, 'SIGKILL');
    supervisor = null;
  }
  await rm(root, { recursive: true, force: true });
});

async function fakeSmi(fixture: string): Promise<string> {
  const path = join(root, 'nvidia-smi');
  await writeFile(path, `#!/bin/sh\ncat '${join(smiFixtures, fixture)}'\n`);
  await chmod(path, 0o755);
  return path;
}

describe('planLocalFleet', () => {
  it('emulate: the emulator with ComfyUI flags in its place, GPUs from --gpus over NUM_GPUS, no nvidia-smi', async () => {
    const local = await planLocalFleet({
      env: { NUM_GPUS: '4' },
      dataDir: join(root, 'data'),
      emulate: true,
      gpus: 2,
      portStart: 9100,
      nvidiaSmiPath: join(root, 'no-such-nvidia-smi'),
    });
    expect(local.emulated).toBe(true);
    expect(local.warnings).toEqual([]);
    expect(local.plan.instances.map((i) => [i.name, i.port, i.deviceName])).toEqual([
      ['comfyui-gpu0', 9100, 'emulated GPU'],
      ['comfyui-gpu1', 9101, 'emulated GPU'],
    ]);
    const [first] = local.plan.instances;
    expect(first?.command).toBe(process.execPath);
    expect(first?.args.join(' ')).toMatch(
      /emulator\/main\.(ts|js) --listen 127\.0\.0\.1 --port 9100 /,
    );
    expect(first?.env.CUDA_VISIBLE_DEVICES).toBe('0');
    const cpu = await planLocalFleet({
      env: {},
      dataDir: join(root, 'data'),
      emulate: true,
      cpu: true,
    });
    expect(cpu.plan.instances.map((i) => i.name)).toEqual(['comfyui-cpu']);
    expect(cpu.plan.instances[0]?.args).toContain('--cpu');
  });

  it('plans from nvidia-smi and the environment', async () => {
    const local = await planLocalFleet({
      env: {
        COMFYUI_PORT_START: '9100',
        COMFY_CLUSTER_DATA_DIR: join(root, 'data'),
        NUM_GPUS: 'x',
      },
      installDir: join(root, 'ComfyUI'),
      nvidiaSmiPath: await fakeSmi('2-gpus-a6000.txt'),
    });
    expect(local.plan.instances.map((i) => `${i.name}@${i.port}`)).toEqual([
      'comfyui-gpu0@9100',
      'comfyui-gpu1@9101',
    ]);
    expect(local.runDir).toBe(join(root, 'data', 'run'));
    expect(local.warnings).toEqual(['NUM_GPUS="x" ignored: expected an integer from 0 to 64']);
  });

  it('will not start instances before ComfyUI is installed', async () => {
    const local = await planLocalFleet({
      env: { COMFYUI_CPU_ONLY: '1' },
      installDir: join(root, 'ComfyUI'),
      dataDir: join(root, 'data'),
    });
    supervisor = createLocalSupervisor(local);
    await expect(supervisor.startAll()).rejects.toThrow(NotInstalledError);
    await expect(supervisor.startAll()).rejects.toThrow(
      /no ComfyUI in .*: run comfy-cluster install/,
    );
  });

  it('launches: install check, then the planned instance runs from the venv and answers', async () => {
    const repo = join(root, 'repos', 'ComfyUI');
    createRepo(repo, comfyFiles('0.3.1'));
    const installDir = join(root, 'ComfyUI');
    await installComfyUI({ dir: installDir, repo, torch: { mode: 'skip' }, venvWithPip: false });
    const local = await planLocalFleet({
      env: { NUM_GPUS: '1' },
      installDir,
      dataDir: join(root, 'data'),
      portStart: await freePort(),
      nvidiaSmiPath: join(root, 'absent-nvidia-smi'),
    });
    supervisor = createLocalSupervisor(local, { readiness: { intervalMs: 50, timeoutMs: 10_000 } });
    const result = await supervisor.startAll();
    expect(result).toEqual({ running: ['comfyui-gpu0'], failed: [], leftovers: [] });
    const [instance] = local.plan.instances;
    const stats = (await fetch(`${instance?.url}/system_stats`).then((r) => r.json())) as {
      system: { argv: string[]; cuda_visible_devices: string };
    };
    expect(stats.system.cuda_visible_devices).toBe('0');
    expect(stats.system.argv).toEqual(instance?.args);
  });
});
