import { mkdirSync } from 'node:fs';
import type { PlannedInstance } from './instance-plan.js';

/**
 * A planned instance as an entry for the fleet registry. The fields are a subset of the fleet's
 * instance entry (snake_case, as in the config file): `managed` when this gateway's supervisor
 * runs it, `remote` when something else does (PM2).
 */
export interface PlannedFleetEntry {
  id: string;
  name: string;
  description: string;
  host: string;
  port: number;
  kind: 'managed' | 'remote';
  /** nvidia-smi index as a string, null for the CPU instance. */
  gpu_device: string | null;
  tags: string[];
  auto_start: boolean;
}

/**
 * Turns a planned instance into the entry the gateway registers.
 *
 * @example
 * fleetEntry(plan.instances[0], 'remote')
 * // { id: 'comfyui-gpu0', host: '127.0.0.1', port: 8188, kind: 'remote', gpu_device: '0', tags: ['gpu0'], … }
 */
export function fleetEntry(
  instance: PlannedInstance,
  kind: 'managed' | 'remote',
): PlannedFleetEntry {
  const gpu = instance.gpuIndex;
  return {
    id: instance.name,
    name: instance.name,
    description:
      gpu === null
        ? 'local ComfyUI on the CPU'
        : `local ComfyUI on GPU ${gpu} (${instance.deviceName})`,
    host: instance.host,
    port: instance.port,
    kind,
    gpu_device: gpu === null ? null : String(gpu),
    tags: [gpu === null ? 'cpu' : `gpu${gpu}`, ...(kind === 'remote' ? ['pm2'] : [])],
    auto_start: kind === 'managed',
  };
}

/**
 * Creates the folders planned instances need before their first start (ComfyUI refuses a
 * missing --user-directory). The supervisor does this itself; PM2 users need it once.
 *
 * @example
 * createInstanceDirs(plan.instances);
 */
export function createInstanceDirs(instances: readonly PlannedInstance[]): string[] {
  const created: string[] = [];
  for (const instance of instances) {
    for (const dir of instance.createDirs) {
      if (mkdirSync(dir, { recursive: true }) !== undefined) created.push(dir);
    }
  }
  return created;
}
