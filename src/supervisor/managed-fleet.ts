import type { InstanceRegistry } from '../fleet/index.js';
import { installExitCleanup } from './exit-cleanup.js';
import { FleetBridge } from './fleet-bridge.js';
import { fleetEntry } from './fleet-entry.js';
import { assertInstalled, NotInstalledError } from './installation-status.js';
import { createLocalSupervisor, type LocalFleetPlan } from './local-fleet.js';
import type { StatusChange } from './managed-process.js';
import { isLiveSupervisor, listPidRecords, readPidRecord } from './pid-file.js';
import { StallEscalation, type StallEscalationOptions } from './stall-escalation.js';
import type {
  ManagedInstanceState,
  StartAllResult,
  Supervisor,
  SupervisorOptions,
} from './supervisor.js';

/** The local instances could not be set up (no install, a clash in the config file). */
export class ManagedFleetError extends Error {
  override readonly name = 'ManagedFleetError';
  constructor(
    message: string,
    readonly kind: 'not_installed' | 'config' | 'busy' = 'config',
  ) {
    super(message);
  }
}

/** What {@link startManagedFleet} needs. */
export interface ManagedFleetOptions {
  local: LocalFleetPlan;
  registry: InstanceRegistry;
  /** Restart, readiness, grace and log settings of the supervisor. */
  supervisor?: Omit<SupervisorOptions, 'runDir' | 'preflight'>;
  /** Every status change the supervisor sees, with the instance's state then (launch prints them). */
  onStatus?: (change: StatusChange, state: ManagedInstanceState | undefined) => void;
  /** SIGKILL the process groups when this process exits (default true). */
  exitCleanup?: boolean;
}

/** Where "a job stalled on instance X" comes from: the dispatcher's `onInstanceStalled` fits. */
export interface StallSource {
  onInstanceStalled(listener: (instanceId: string, jobId: string) => void): () => void;
}

/** The managed instances of a running gateway. */
export interface ManagedFleet {
  supervisor: Supervisor;
  bridge: FleetBridge;
  /** How the start went: ready instances, failed ones with the reason, leftovers ended first. */
  started: StartAllResult;
  /**
   * Restarts a managed instance (through the bridge, so the fleet shows why) when a job stalls
   * on it, at most once per `minIntervalMs` (default 10 min) per instance; remote instances and
   * instances not `running` are left alone. Returns the function that stops listening.
   */
  escalateStalls(
    source: StallSource,
    options?: Pick<StallEscalationOptions, 'minIntervalMs' | 'log'>,
  ): () => Promise<void>;
  /** Stops every instance gracefully (SIGTERM, SIGKILL after the grace) and detaches. */
  close(): Promise<void>;
}

/**
 * Start order for a gateway that runs ComfyUI on this machine: install check (skipped for the
 * emulator) → each planned instance registered in the fleet as `managed` (added, or its address
 * updated) → the supervisor attached to the registry → exit cleanup installed → leftovers of a
 * crashed earlier gateway ended → every instance started through the fleet lifecycle and waited
 * for. One instance failing (port taken, crash loop, start-up timeout) leaves it in `error` with
 * the reason and does not stop the others.
 *
 * @example
 * const local = await planLocalFleet({ emulate: true, gpus: 2 });
 * const fleet = await startManagedFleet({ local, registry });
 * console.log(fleet.started.running, fleet.started.failed);
 * await fleet.close();
 */
export async function startManagedFleet(options: ManagedFleetOptions): Promise<ManagedFleet> {
  const { local, registry } = options;
  if (!local.emulated) {
    try {
      await assertInstalled(local.installDir);
    } catch (error) {
      if (!(error instanceof NotInstalledError)) throw error;
      throw new ManagedFleetError(
        `${error.message}. Install it first: comfy-cluster install --dir ${local.installDir}`,
        'not_installed',
      );
    }
  }
  for (const name of listPidRecords(local.runDir)) {
    const record = readPidRecord(local.runDir, name);
    if (record && isLiveSupervisor(record)) {
      throw new ManagedFleetError(
        `another gateway (pid ${record.supervisor_pid}) runs the local instances of ${local.dataDir} (${name}, pid ${record.pid}): stop it first, or use another --data-dir`,
        'busy',
      );
    }
  }
  const supervisor = createLocalSupervisor(local, options.supervisor ?? {});
  if (options.onStatus) {
    const onStatus = options.onStatus;
    supervisor.on('status', (change) => onStatus(change, supervisor.state(change.name)));
  }
  await registerInstances(local, registry);
  const bridge = new FleetBridge(supervisor, registry);
  registry.attachSupervisor(bridge);
  const uninstall =
    options.exitCleanup === false ? () => {} : installExitCleanup(supervisor, { signals: false });
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      try {
        await supervisor.stopAll();
      } finally {
        supervisor.killAllSync();
        bridge.detach();
        registry.attachSupervisor(undefined);
        uninstall();
        for (const name of supervisor.names()) supervisor.get(name)?.log.close();
      }
    })();
    return closed;
  };
  try {
    const leftovers = await supervisor.cleanupLeftovers();
    const names = supervisor.names();
    const outcomes = await Promise.allSettled(names.map((name) => registry.start(name)));
    const started: StartAllResult = { running: [], failed: [], leftovers };
    outcomes.forEach((outcome, i) => {
      const name = names[i] ?? '';
      if (outcome.status === 'fulfilled') started.running.push(name);
      else {
        const error = outcome.reason;
        started.failed.push({
          name,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    });
    const escalateStalls: ManagedFleet['escalateStalls'] = (source, escalation = {}) => {
      const handler = new StallEscalation({
        ...escalation,
        isRestartable: (id) => {
          const view = registry.get(id);
          return view?.kind === 'managed' && view.status === 'running' && !!supervisor.get(id);
        },
        restart: (id, reason) => bridge.restart(id, reason),
      });
      const off = source.onInstanceStalled((id, jobId) => {
        handler.instanceStalled(id, jobId);
      });
      return async () => {
        off();
        await handler.settled();
      };
    };
    return { supervisor, bridge, started, escalateStalls, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Adds each planned instance as `managed`, or points an existing entry of the same id at it. */
async function registerInstances(local: LocalFleetPlan, registry: InstanceRegistry): Promise<void> {
  for (const planned of local.plan.instances) {
    const entry = fleetEntry(planned, 'managed');
    const existing = registry.get(entry.id);
    try {
      if (!existing) {
        await registry.create(entry);
        continue;
      }
      if (existing.source === 'env') {
        throw new ManagedFleetError(
          `instance id ${entry.id} is taken by ${existing.origin ?? 'the environment'}; it is planned for this machine's ${planned.deviceName}`,
        );
      }
      const patch: Record<string, unknown> = {};
      if (existing.host !== entry.host) patch.host = entry.host;
      if (existing.port !== entry.port) patch.port = entry.port;
      if (existing.kind !== 'managed') patch.kind = 'managed';
      if (existing.gpu_device !== entry.gpu_device) patch.gpu_device = entry.gpu_device;
      if (Object.keys(patch).length > 0) await registry.update(entry.id, patch);
    } catch (error) {
      if (error instanceof ManagedFleetError) throw error;
      const details =
        error instanceof Error && 'errors' in error && Array.isArray(error.errors)
          ? (error.errors as { path?: string; message?: string }[])
              .map((e) => e.message ?? '')
              .join('; ')
          : error instanceof Error
            ? error.message
            : String(error);
      throw new ManagedFleetError(
        `cannot register ${entry.id} (${entry.host}:${entry.port}) in the fleet: ${details}. Remove or change that instance, or start the local instances on other ports (--port-start / COMFYUI_PORT_START)`,
      );
    }
  }
}
