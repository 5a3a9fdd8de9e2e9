import { describe, expect, it } from 'vitest';
import type { GpuInfo } from './gpu-detect.js';
import { PlanError, planInstances } from './instance-plan.js';

const gpu = (index: number, name = 'NVIDIA RTX A6000'): GpuInfo => ({
  index,
  name,
  memoryTotalMiB: 49140,
  memoryUsedMiB: 0,
});
const gpus = (n: number) => Array.from({ length: n }, (_, i) => gpu(i));
const base = { installDir: '/opt/ComfyUI', dataDir: '/var/lib/cc', platform: 'linux' as const };

describe('planInstances', () => {
  it('plans one GPU instance with every per-instance flag', () => {
    const plan = planInstances({ gpus: gpus(1), cpuOnly: false }, base);
    expect(plan.warnings).toEqual([]);
    expect(plan.instances).toEqual([
      {
        name: 'comfyui-gpu0',
        gpuIndex: 0,
        device: 'cuda',
        deviceName: 'NVIDIA RTX A6000',
        listen: '127.0.0.1',
        host: '127.0.0.1',
        port: 8188,
        url: 'http://127.0.0.1:8188',
        command: '/opt/ComfyUI/venv/bin/python',
        args: [
          'main.py',
          '--listen',
          '127.0.0.1',
          '--port',
          '8188',
          '--temp-directory',
          '/var/lib/cc/instances/comfyui-gpu0',
          '--user-directory',
          '/var/lib/cc/instances/comfyui-gpu0/user',
          '--database-url',
          'sqlite:////var/lib/cc/instances/comfyui-gpu0/user/comfyui.db',
          '--input-directory',
          '/var/lib/cc/instances/comfyui-gpu0/input',
          '--output-directory',
          '/var/lib/cc/instances/comfyui-gpu0/output',
        ],
        cwd: '/opt/ComfyUI',
        env: { PYTHONUNBUFFERED: '1', CUDA_VISIBLE_DEVICES: '0', CUDA_DEVICE_ORDER: 'PCI_BUS_ID' },
        dirs: {
          root: '/var/lib/cc/instances/comfyui-gpu0',
          temp: '/var/lib/cc/instances/comfyui-gpu0/temp',
          user: '/var/lib/cc/instances/comfyui-gpu0/user',
          input: '/var/lib/cc/instances/comfyui-gpu0/input',
          output: '/var/lib/cc/instances/comfyui-gpu0/output',
          databaseUrl: 'sqlite:////var/lib/cc/instances/comfyui-gpu0/user/comfyui.db',
          log: '/var/lib/cc/logs/comfyui-gpu0.log',
        },
        createDirs: [
          '/var/lib/cc/instances/comfyui-gpu0',
          '/var/lib/cc/instances/comfyui-gpu0/user',
          '/var/lib/cc/instances/comfyui-gpu0/input',
          '/var/lib/cc/instances/comfyui-gpu0/output',
          '/var/lib/cc/logs',
        ],
      },
    ]);
  });

  it('plans two GPUs on consecutive ports with their own device each', () => {
    const { instances } = planInstances({ gpus: gpus(2), cpuOnly: false }, base);
    expect(instances.map((i) => [i.name, i.port, i.env.CUDA_VISIBLE_DEVICES])).toEqual([
      ['comfyui-gpu0', 8188, '0'],
      ['comfyui-gpu1', 8189, '1'],
    ]);
  });

  it('plans eight GPUs with no shared temp, user or database', () => {
    const { instances } = planInstances(
      { gpus: gpus(8), cpuOnly: false },
      { ...base, portStart: 9000 },
    );
    expect(instances.map((i) => i.port)).toEqual([9000, 9001, 9002, 9003, 9004, 9005, 9006, 9007]);
    for (const key of ['root', 'user', 'databaseUrl', 'output', 'input', 'log'] as const) {
      expect(new Set(instances.map((i) => i.dirs[key])).size).toBe(8);
    }
    expect(instances.every((i) => !i.args.includes('--cpu'))).toBe(true);
    expect(instances.every((i) => !i.args.includes('--cuda-device'))).toBe(true);
  });

  it('keeps nvidia-smi numbering for a subset of GPUs (port = start + index)', () => {
    const { instances } = planInstances({ gpus: [gpu(3), gpu(1)], cpuOnly: false }, base);
    expect(instances.map((i) => [i.name, i.port, i.env.CUDA_VISIBLE_DEVICES])).toEqual([
      ['comfyui-gpu1', 8189, '1'],
      ['comfyui-gpu3', 8191, '3'],
    ]);
  });

  it('plans one CPU instance for COMFYUI_CPU_ONLY, without CUDA variables', () => {
    const plan = planInstances({ gpus: [], cpuOnly: true }, base);
    expect(plan.warnings).toEqual([]);
    const [cpu] = plan.instances;
    expect(plan.instances).toHaveLength(1);
    expect(cpu).toMatchObject({ name: 'comfyui-cpu', gpuIndex: null, device: 'cpu', port: 8188 });
    expect(cpu?.args).toContain('--cpu');
    expect(cpu?.env).toEqual({ PYTHONUNBUFFERED: '1' });
  });

  it('warns when zero GPUs were found without COMFYUI_CPU_ONLY', () => {
    const plan = planInstances({ gpus: [], cpuOnly: false, reason: 'nvidia-smi not found' }, base);
    expect(plan.instances.map((i) => i.name)).toEqual(['comfyui-cpu']);
    expect(plan.warnings[0]).toMatch(/no GPU found \(nvidia-smi not found\): planning one CPU/);
  });

  it('shares input and output folders when asked, and appends extra args last', () => {
    const { instances } = planInstances(
      { gpus: gpus(2), cpuOnly: false },
      {
        ...base,
        io: 'shared',
        sharedOutputDirectory: '/mnt/out',
        listen: '0.0.0.0',
        extraArgs: ['--preview-method', 'auto'],
      },
    );
    expect(instances.map((i) => i.dirs.output)).toEqual(['/mnt/out', '/mnt/out']);
    expect(instances.map((i) => i.dirs.input)).toEqual([
      '/var/lib/cc/shared/input',
      '/var/lib/cc/shared/input',
    ]);
    expect(new Set(instances.map((i) => i.dirs.temp)).size).toBe(2);
    expect(instances[1]?.args.slice(-2)).toEqual(['--preview-method', 'auto']);
    expect(instances[1]?.args.slice(1, 3)).toEqual(['--listen', '0.0.0.0']);
    expect(instances[1]?.url).toBe('http://127.0.0.1:8189');
  });

  it('uses the given python and the Windows venv layout', () => {
    expect(
      planInstances(
        { gpus: gpus(1), cpuOnly: false },
        { ...base, pythonPath: '/usr/bin/python3.12' },
      ).instances[0]?.command,
    ).toBe('/usr/bin/python3.12');
    expect(
      planInstances({ gpus: gpus(1), cpuOnly: false }, { ...base, platform: 'win32' }).instances[0]
        ?.command,
    ).toMatch(/venv[/\\]Scripts[/\\]python\.exe$/);
  });

  it('refuses ports past 65535 and unusable listen addresses with a clear error', () => {
    expect(() =>
      planInstances({ gpus: gpus(8), cpuOnly: false }, { ...base, portStart: 65530 }),
    ).toThrow(
      new PlanError('comfyui-gpu6 would need port 65536: lower COMFYUI_PORT_START (65530)'),
    );
    expect(() =>
      planInstances({ gpus: gpus(1), cpuOnly: false }, { ...base, listen: ' ' }),
    ).toThrow(PlanError);
  });
});
