import type { Instance, InstanceStatus, InstanceSupervisor } from '../fleet/index.js';
import type { PlannedInstance } from './instance-plan.js';
import type { StatusChange } from './managed-process.js';
import type { Supervisor } from './supervisor.js';

/** Where observed statuses go: the fleet registry's `reportStatus` fits. */
export interface FleetStatusSink {
  reportStatus(ref: string, status: InstanceStatus, reason: string | null): unknown;
}

export interface FleetBridgeOptions {
  /**
   * Plans a managed instance the supervisor does not know yet (one added through the API or the
   * config file). Return null to refuse it. Default: refuse.
   */
  plan?: (instance: Instance) => PlannedInstance | null;
}

/**
 * Connects the {@link Supervisor} to the fleet registry in both directions:
 * - as the registry's `InstanceSupervisor`: fleet start / stop of a `managed` instance (matched
 *   by id = planned name, e.g. comfyui-gpu0) start / stop its process;
 * - statuses the supervisor observes on its own (crash → `starting` while it restarts, `running`
 *   again, `error` after max restarts) are reported to the registry. Changes caused by a fleet
 *   start / stop are left to the registry, which reports those itself.
 *
 * @example
 * const bridge = new FleetBridge(supervisor, registry);
 * registry.attachSupervisor(bridge);
 * // a hung job on comfyui-gpu1:
 * await supervisor.restart('comfyui-gpu1', 'job 3f2a… hung for 300 s');
 */
export class FleetBridge implements InstanceSupervisor {
  readonly #supervisor: Supervisor;
  readonly #options: FleetBridgeOptions;
  readonly #inFlight = new Set<string>();
  readonly #onStatus: (change: StatusChange) => void;

  constructor(
    supervisor: Supervisor,
    sink: FleetStatusSink | null,
    options: FleetBridgeOptions = {},
  ) {
    this.#supervisor = supervisor;
    this.#options = options;
    this.#onStatus = (change) => {
      if (!sink || this.#inFlight.has(change.name)) return;
      try {
        sink.reportStatus(change.name, change.status, change.reason);
      } catch {
        // An instance the registry does not list (yet): nothing to update.
      }
    };
    supervisor.on('status', this.#onStatus);
  }

  async start(instance: Instance): Promise<void> {
    const name = instance.id;
    if (!this.#supervisor.get(name)) {
      const planned = this.#options.plan?.(instance) ?? null;
      if (planned === null) {
        const known = this.#supervisor.names();
        throw new Error(
          `no local plan for managed instance '${instance.name}' (id ${name})${
            known.length > 0 ? `: this machine runs ${known.join(', ')}` : ''
          }`,
        );
      }
      this.#supervisor.add({ ...planned, name });
    }
    this.#inFlight.add(name);
    try {
      await this.#supervisor.start(name);
    } finally {
      this.#inFlight.delete(name);
    }
  }

  async stop(instance: Instance): Promise<void> {
    const name = instance.id;
    if (!this.#supervisor.get(name)) return; // nothing of ours runs under that id
    this.#inFlight.add(name);
    try {
      await this.#supervisor.stop(name);
    } finally {
      this.#inFlight.delete(name);
    }
  }

  /** Stops forwarding statuses. */
  detach(): void {
    this.#supervisor.off('status', this.#onStatus);
  }
}
