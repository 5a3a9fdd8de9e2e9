import { join, resolve } from 'node:path';
import type { GpuInfo } from './gpu-detect.js';

/** Default port of GPU 0's instance (COMFYUI_PORT_START). */
export const DEFAULT_PORT_START = 8188;
/** Default bind address: loopback, because ComfyUI has no access control of its own. */
export const DEFAULT_LISTEN = '127.0.0.1';

/** Inputs of {@link planInstances}. Paths may be relative (resolved against the process cwd). */
export interface PlanSettings {
  /** The ComfyUI checkout (holds main.py). */
  installDir: string;
  /** Interpreter that runs main.py. Default: the install's venv python. */
  pythonPath?: string;
  /** Root of per-instance state: `<dataDir>/instances/<name>/…` and `<dataDir>/logs/`. */
  dataDir: string;
  /** Port of GPU 0 (or of the CPU instance). Default 8188. */
  portStart?: number;
  /** ComfyUI's --listen value. Default 127.0.0.1; use 0.0.0.0 to serve other hosts. */
  listen?: string;
  /**
   * `per-instance` (default): each instance has its own input/ and output/ (no SaveImage counter
   * races). `shared`: all use the same two folders.
   */
  io?: 'per-instance' | 'shared';
  /** With io=shared. Default `<dataDir>/shared/input`. */
  sharedInputDirectory?: string;
  /** With io=shared. Default `<dataDir>/shared/output`. */
  sharedOutputDirectory?: string;
  /** Appended to every instance's ComfyUI arguments, as given. */
  extraArgs?: string[];
  /** Default process.platform; decides the venv layout (bin/python vs Scripts\python.exe). */
  platform?: NodeJS.Platform;
}

/** The folders an instance uses. `temp` is the real one (ComfyUI appends /temp to its flag). */
export interface InstanceDirs {
  /** Per-instance root, passed as --temp-directory. */
  root: string;
  /** `<root>/temp`: wiped by ComfyUI at each start and normal exit. */
  temp: string;
  user: string;
  input: string;
  output: string;
  /** --database-url value: a SQLite file per instance (ComfyUI locks it). */
  databaseUrl: string;
  /** Supervisor log file of this instance. */
  log: string;
}

/** One ComfyUI process to run. */
export interface PlannedInstance {
  /** comfyui-gpu0, comfyui-gpu1, …, or comfyui-cpu. */
  name: string;
  /** nvidia-smi index of the GPU, null for the CPU instance. */
  gpuIndex: number | null;
  device: 'cuda' | 'cpu';
  /** GPU name from nvidia-smi, or "cpu". */
  deviceName: string;
  /** --listen value. */
  listen: string;
  /** Address the gateway uses to reach it (loopback when listening on all addresses). */
  host: string;
  port: number;
  /** http://host:port */
  url: string;
  /** The interpreter (venv python). */
  command: string;
  /** `main.py` and its flags. */
  args: string[];
  cwd: string;
  /** Added to the inherited environment. */
  env: Record<string, string>;
  dirs: InstanceDirs;
  /** Folders to create before the start (ComfyUI requires --user-directory to exist). */
  createDirs: string[];
}

/** GPU facts the plan needs (a {@link GpuDetection} fits). */
export interface PlanDevices {
  gpus: readonly GpuInfo[];
  cpuOnly: boolean;
  reason?: string;
}

/** Result of {@link planInstances}. */
export interface InstancePlan {
  instances: PlannedInstance[];
  /** e.g. "no GPU found (…): planning one CPU instance". */
  warnings: string[];
}

/** Thrown for settings no plan can satisfy (port out of range, empty listen address). */
export class PlanError extends Error {
  override readonly name = 'PlanError';
}

/** The venv interpreter inside an install dir. */
export function venvPython(
  installDir: string,
  platform: NodeJS.Platform = process.platform,
): string {
  return platform === 'win32'
    ? join(installDir, 'venv', 'Scripts', 'python.exe')
    : join(installDir, 'venv', 'bin', 'python');
}

/** The address to reach a server bound to `listen` (first of a comma list; wildcard → loopback). */
export function connectHost(listen: string): string {
  const first = listen.split(',')[0]?.trim() ?? '';
  if (first === '' || first === '0.0.0.0') return '127.0.0.1';
  if (first === '::' || first === '[::]') return '::1';
  return first;
}

/** `http://host:port`, bracketing IPv6 literals. */
export function httpUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** A sqlite URL for an absolute file path, as ComfyUI (SQLAlchemy) reads it: sqlite:////abs/path. */
export function sqliteUrl(file: string): string {
  return `sqlite:///${file.replaceAll('\\', '/')}`;
}

/**
 * Plans one ComfyUI instance per GPU (name comfyui-gpuN, port start+N, CUDA_VISIBLE_DEVICES=N)
 * or, with no GPU, one CPU instance (comfyui-cpu, --cpu). Each instance gets its own temp, user
 * and database (ComfyUI wipes its temp dir at start and locks its database), and its own or
 * shared input/output folders. Pure apart from resolving relative paths.
 *
 * The GPU is chosen with CUDA_VISIBLE_DEVICES (+ CUDA_DEVICE_ORDER=PCI_BUS_ID, so the number is
 * nvidia-smi's) in the environment rather than --cuda-device: it is in force before Python starts,
 * is inherited by anything ComfyUI or a custom node spawns, reads the same under PM2, and does not
 * depend on main.py being the entry point.
 *
 * @example
 * const { instances } = planInstances(await detectGpus(), { installDir: '/opt/ComfyUI', dataDir: '/var/lib/cc' });
 * instances[0]; // { name: 'comfyui-gpu0', port: 8188, env: { CUDA_VISIBLE_DEVICES: '0', … }, … }
 */
export function planInstances(devices: PlanDevices, settings: PlanSettings): InstancePlan {
  const warnings: string[] = [];
  const installDir = resolve(settings.installDir);
  const dataDir = resolve(settings.dataDir);
  const portStart = settings.portStart ?? DEFAULT_PORT_START;
  const listen = (settings.listen ?? DEFAULT_LISTEN).trim();
  if (listen === '' || /\s/.test(listen)) {
    throw new PlanError(`listen address ${JSON.stringify(settings.listen)} is not usable`);
  }
  if (!Number.isInteger(portStart) || portStart < 1 || portStart > 65535) {
    throw new PlanError(`port start ${portStart} is not a port (1-65535)`);
  }
  const python = settings.pythonPath
    ? resolve(settings.pythonPath)
    : venvPython(installDir, settings.platform);
  const host = connectHost(listen);
  const shared = settings.io === 'shared';
  const sharedInput = resolve(settings.sharedInputDirectory ?? join(dataDir, 'shared', 'input'));
  const sharedOutput = resolve(settings.sharedOutputDirectory ?? join(dataDir, 'shared', 'output'));

  type Slot = { name: string; gpu: GpuInfo | null; offset: number };
  let slots: Slot[];
  if (devices.gpus.length === 0) {
    if (!devices.cpuOnly) {
      warnings.push(
        `no GPU found (${devices.reason ?? 'nvidia-smi listed none'}): planning one CPU instance; set COMFYUI_CPU_ONLY=true to make this explicit`,
      );
    }
    slots = [{ name: 'comfyui-cpu', gpu: null, offset: 0 }];
  } else {
    slots = [...devices.gpus]
      .sort((a, b) => a.index - b.index)
      .map((gpu) => ({ name: `comfyui-gpu${gpu.index}`, gpu, offset: gpu.index }));
  }

  const instances = slots.map(({ name, gpu, offset }): PlannedInstance => {
    const port = portStart + offset;
    if (port > 65535) {
      throw new PlanError(
        `${name} would need port ${port}: lower COMFYUI_PORT_START (${portStart})`,
      );
    }
    const root = join(dataDir, 'instances', name);
    const dirs: InstanceDirs = {
      root,
      temp: join(root, 'temp'),
      user: join(root, 'user'),
      input: shared ? sharedInput : join(root, 'input'),
      output: shared ? sharedOutput : join(root, 'output'),
      databaseUrl: sqliteUrl(join(root, 'user', 'comfyui.db')),
      log: join(dataDir, 'logs', `${name}.log`),
    };
    const args = [
      'main.py',
      '--listen',
      listen,
      '--port',
      String(port),
      '--temp-directory',
      root,
      '--user-directory',
      dirs.user,
      '--database-url',
      dirs.databaseUrl,
      '--input-directory',
      dirs.input,
      '--output-directory',
      dirs.output,
      ...(gpu === null ? ['--cpu'] : []),
      ...(settings.extraArgs ?? []),
    ];
    const env: Record<string, string> = { PYTHONUNBUFFERED: '1' };
    if (gpu !== null) {
      env.CUDA_VISIBLE_DEVICES = String(gpu.index);
      env.CUDA_DEVICE_ORDER = 'PCI_BUS_ID';
    }
    return {
      name,
      gpuIndex: gpu?.index ?? null,
      device: gpu === null ? 'cpu' : 'cuda',
      deviceName: gpu?.name ?? 'cpu',
      listen,
      host,
      port,
      url: httpUrl(host, port),
      command: python,
      args,
      cwd: installDir,
      env,
      dirs,
      createDirs: [dirs.root, dirs.user, dirs.input, dirs.output, join(dataDir, 'logs')],
    };
  });
  return { instances, warnings };
}
