import { EventEmitter } from 'node:events';
import type { PlannedInstance } from './instance-plan.js';
import {
  type ExitInfo,
  ManagedProcess,
  type ManagedProcessOptions,
  type ManagedProcessState,
  type ReadinessCheck,
  type RestartPolicy,
  type StatusChange,
} from './managed-process.js';
import { cleanupLeftover, type LeftoverCleanup, listPidRecords } from './pid-file.js';
import type { LogLine } from './rotating-log.js';

/**
 * Events the supervisor publishes on a bus (the store's `EventBus` fits: pass it as `bus`).
 * Payloads are JSON-serialisable.
 */
export type SupervisorBusEvents = {
  'supervisor.instance.status': StatusChange & { host: string; port: number; url: string };
  'supervisor.instance.exit': ExitInfo;
};

/** The one method of an event bus the supervisor needs. */
export interface SupervisorBus {
  publish<K extends keyof SupervisorBusEvents & string>(
    type: K,
    payload: SupervisorBusEvents[K],
  ): void;
}

/** Events of a {@link Supervisor} (its own emitter; same payloads as the bus). */
export interface SupervisorEvents {
  status: [StatusChange];
  exit: [ExitInfo];
  output: [{ name: string } & LogLine];
}

export interface SupervisorOptions {
  /** Pid files of running instances; read at start to end leftovers of a crashed gateway. */
  runDir: string;
  restart?: RestartPolicy;
  readiness?: ReadinessCheck;
  /** SIGTERM → SIGKILL escalation. Default 10000 ms. */
  stopGraceMs?: number;
  /** Log rotation for every instance. */
  log?: { maxBytes?: number; maxFiles?: number; memoryLines?: number };
  /** Optional bus to publish status and exit events on. */
  bus?: SupervisorBus;
  /**
   * Runs before any instance starts (e.g. the installation check); a throw stops
   * {@link Supervisor.startAll} before anything is spawned.
   */
  preflight?: () => Promise<void>;
}

/** Outcome of {@link Supervisor.startAll}. */
export interface StartAllResult {
  /** Instances that answered their readiness check. */
  running: string[];
  /** Instances that ended in error, with the reason. */
  failed: { name: string; error: string }[];
  /** Leftovers of a previous run that were ended first. */
  leftovers: LeftoverCleanup[];
}

/** The supervisor's view of one instance for the fleet and the API. */
export interface ManagedInstanceState extends ManagedProcessState {
  gpuIndex: number | null;
}

/**
 * The operations the fleet lifecycle (start / stop / restart) and the hung-job escalation use.
 * {@link Supervisor} implements it; the fleet can depend on this interface alone.
 */
export interface ManagedInstanceController {
  start(name: string): Promise<void>;
  stop(name: string): Promise<void>;
  restart(name: string, reason: string): Promise<void>;
  state(name: string): ManagedInstanceState | undefined;
}

/**
 * Runs the local ComfyUI instances of a plan: start order preflight (install check) → leftovers of
 * a crashed previous run ended → every instance spawned → all ready (or failed); restarts on
 * exit; graceful stop of all. Each instance is a {@link ManagedProcess}.
 *
 * @example
 * const sup = new Supervisor({ runDir, preflight: () => assertInstalled(dir) });
 * for (const i of plan.instances) sup.add(i);
 * installExitCleanup(sup);
 * const result = await sup.startAll(); // then accept jobs
 * sup.on('status', (c) => fleet.setStatus(c.name, c.status));
 * await sup.restart('comfyui-gpu1', 'job 3f… hung for 300 s');
 */
export class Supervisor
  extends EventEmitter<SupervisorEvents>
  implements ManagedInstanceController
{
  readonly #options: SupervisorOptions;
  readonly #processes = new Map<string, { proc: ManagedProcess; gpuIndex: number | null }>();

  constructor(options: SupervisorOptions) {
    super();
    this.#options = options;
  }

  /** Adds a planned instance (not started). Names are unique. */
  add(instance: PlannedInstance): ManagedProcess {
    return this.addProcess(
      {
        name: instance.name,
        command: instance.command,
        args: instance.args,
        cwd: instance.cwd,
        env: instance.env,
        host: instance.host,
        port: instance.port,
        listen: instance.listen,
        createDirs: instance.createDirs,
        log: { file: instance.dirs.log },
      },
      instance.gpuIndex,
    );
  }

  /**
   * Adds any supervised process (tests use the emulator in ComfyUI's place). The supervisor's
   * runDir, restart, readiness, grace and log-rotation settings fill what `options` leaves out.
   */
  addProcess(
    options: Omit<ManagedProcessOptions, 'runDir'> & { runDir?: string },
    gpuIndex: number | null = null,
  ): ManagedProcess {
    if (this.#processes.has(options.name)) {
      throw new Error(`an instance named ${options.name} is already supervised`);
    }
    const o = this.#options;
    const proc = new ManagedProcess({
      ...options,
      runDir: options.runDir ?? o.runDir,
      log: { ...o.log, ...options.log },
      ...((options.restart ?? o.restart) ? { restart: { ...o.restart, ...options.restart } } : {}),
      ...((options.readiness ?? o.readiness)
        ? { readiness: { ...o.readiness, ...options.readiness } }
        : {}),
      ...((options.stopGraceMs ?? o.stopGraceMs) !== undefined
        ? { stopGraceMs: options.stopGraceMs ?? o.stopGraceMs }
        : {}),
    });
    proc.on('status', (change) => {
      this.emit('status', change);
      o.bus?.publish('supervisor.instance.status', {
        ...change,
        host: options.host,
        port: options.port,
        url: proc.url,
      });
    });
    proc.on('exit', (exit) => {
      this.emit('exit', exit);
      o.bus?.publish('supervisor.instance.exit', exit);
    });
    proc.on('output', (line) => this.emit('output', line));
    this.#processes.set(options.name, { proc, gpuIndex });
    return proc;
  }

  /** Stops and forgets an instance. */
  async remove(name: string): Promise<void> {
    const entry = this.#processes.get(name);
    if (!entry) return;
    await entry.proc.stop();
    entry.proc.log.close();
    this.#processes.delete(name);
  }

  get(name: string): ManagedProcess | undefined {
    return this.#processes.get(name)?.proc;
  }

  names(): string[] {
    return [...this.#processes.keys()];
  }

  state(name: string): ManagedInstanceState | undefined {
    const entry = this.#processes.get(name);
    return entry ? { ...entry.proc.state(), gpuIndex: entry.gpuIndex } : undefined;
  }

  states(): ManagedInstanceState[] {
    return this.names().flatMap((n) => this.state(n) ?? []);
  }

  /**
   * Ends everything a previous (crashed) supervisor left running: every pid file in runDir, also
   * of instances no longer planned. Called by {@link startAll}; safe to call any time before.
   */
  async cleanupLeftovers(): Promise<LeftoverCleanup[]> {
    const results: LeftoverCleanup[] = [];
    const grace = Math.min(this.#options.stopGraceMs ?? 10_000, 5000);
    for (const name of listPidRecords(this.#options.runDir)) {
      if (this.#processes.get(name)?.proc.pid != null) continue; // ours, running now
      const result = await cleanupLeftover(this.#options.runDir, name, grace);
      if (result) results.push(result);
      if (result?.outcome === 'killed') this.#processes.get(name)?.proc.leftoverEnded();
    }
    return results;
  }

  /**
   * Start order: preflight (install check) → leftovers ended → all instances started in
   * parallel → wait until each is ready or failed. Never rejects for an instance failure (see
   * `failed`); rejects only when the preflight throws.
   */
  async startAll(): Promise<StartAllResult> {
    await this.#options.preflight?.();
    const leftovers = await this.cleanupLeftovers();
    const names = this.names();
    const outcomes = await Promise.allSettled(names.map((n) => this.start(n)));
    const result: StartAllResult = { running: [], failed: [], leftovers };
    outcomes.forEach((outcome, i) => {
      const name = names[i] ?? '';
      if (outcome.status === 'fulfilled') result.running.push(name);
      else result.failed.push({ name, error: (outcome.reason as Error).message });
    });
    return result;
  }

  /** Stops every instance in parallel (SIGTERM, SIGKILL after the grace period). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.#processes.values()].map(({ proc }) => proc.stop()));
  }

  start(name: string): Promise<void> {
    return this.#require(name).start();
  }

  stop(name: string): Promise<void> {
    return this.#require(name).stop();
  }

  /** Restarts one instance, e.g. when a job hung on it; the reason goes into its log. */
  restart(name: string, reason: string): Promise<void> {
    return this.#require(name).restart(reason);
  }

  /** For process 'exit' handlers: SIGKILL every instance's process group synchronously. */
  killAllSync(): void {
    for (const { proc } of this.#processes.values()) proc.killSync();
  }

  #require(name: string): ManagedProcess {
    const proc = this.#processes.get(name)?.proc;
    if (!proc) throw new Error(`no supervised instance named ${name}`);
    return proc;
  }
}
