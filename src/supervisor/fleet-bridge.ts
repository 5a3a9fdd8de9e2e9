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
  readonly #sink: FleetStatusSink | null;
  readonly #inFlight = new Set<string>();
  readonly #onStatus: (change: StatusChange) => void;

  constructor(
    supervisor: Supervisor,
    sink: FleetStatusSink | null,
    options: FleetBridgeOptions = {},
  ) {
    this.#supervisor = supervisor;
    this.#options = options;
    this.#sink = sink;
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

  /**
   * Restarts a managed instance outside a fleet start / stop (a hung job escalated): the registry
   * shows `starting` with `restarting: <reason>`, then `running` with `restarted: <reason>`, or
   * `error` with why it did not come back. The reason also goes into the instance's log.
   */
  async restart(id: string, reason: string): Promise<void> {
    if (!this.#supervisor.get(id)) throw new Error(`no supervised instance named ${id}`);
    this.#inFlight.add(id);
    this.#report(id, 'starting', `restarting: ${reason}`);
    try {
      await this.#supervisor.restart(id, reason);
      this.#report(id, 'running', `restarted: ${reason}`);
    } catch (error) {
      this.#report(id, 'error', error instanceof Error ? error.message : String(error));
      throw error;
    } finally {
      this.#inFlight.delete(id);
    }
  }

  #report(id: string, status: InstanceStatus, reason: string): void {
    try {
      this.#sink?.reportStatus(id, status, reason);
    } catch {
      // not listed by the registry
    }
  }

  /** Stops forwarding statuses. */
  detach(): void {
    this.#supervisor.off('status', this.#onStatus);
  }
}
