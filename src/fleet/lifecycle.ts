import type { Instance, InstanceStatus } from './instance.js';

/**
 * What the registry delegates to for `managed` instances (the supervisor implements it).
 * `start` resolves once ComfyUI answers; `stop` once the process is gone. A rejection puts the
 * instance in `error` with the rejection's message.
 *
 * @example
 * registry.attachSupervisor({
 *   start: (instance) => processes.spawn(instance),
 *   stop: (instance) => processes.kill(instance.id),
 * });
 */
export interface InstanceSupervisor {
  start(instance: Instance): Promise<void>;
  stop(instance: Instance): Promise<void>;
}

/**
 * Whether the scheduler may send new work: routing enabled and status `running` (a `paused`
 * instance finishes what it runs and takes nothing new). Health is checked separately.
 *
 * @example
 * const targets = registry.list().filter(acceptsNewWork);
 */
export function acceptsNewWork(instance: { enabled: boolean; status: InstanceStatus }): boolean {
  return instance.enabled && instance.status === 'running';
}

/** The status an instance has when the registry loads it (before any supervisor acts). */
export function initialStatus(instance: Instance): InstanceStatus {
  if (instance.kind === 'managed') return 'stopped';
  return instance.enabled ? 'running' : 'stopped';
}
