import type { InstanceView } from '../../fleet/events.js';
import type { HealthMonitor } from '../../fleet/health/index.js';
import type { InstanceHealth } from '../../fleet/index.js';
import { acceptsNewWork, type InstanceRegistry, type PathMapping } from '../../fleet/index.js';
import type { FleetCapabilitiesView, FleetInstanceCapabilities } from '../../jobs/index.js';
import type { CapabilityTarget } from '../capability.js';
import { ModelInputIndex } from '../model-input-index.js';
import type { InFlightJob, InstanceCapabilities, SchedulerInstance } from '../types.js';

/** What the dispatcher reads of the registry. */
export type FleetRegistry = Pick<InstanceRegistry, 'list' | 'get' | 'active' | 'bus'>;
/** What the dispatcher reads of (and reports to) the health monitor. */
export type FleetMonitor = Pick<
  HealthMonitor,
  | 'health'
  | 'capabilities'
  | 'connectionFor'
  | 'bus'
  | 'reportDispatchFailure'
  | 'reportDispatchSuccess'
  | 'recordJobResult'
>;

/** Capabilities of an instance whose lists were not fetched yet: it can run nothing. */
const NO_CAPABILITIES: InstanceCapabilities = Object.freeze({
  node_classes: Object.freeze({}),
  models: Object.freeze({}),
});

/** Health and free VRAM are re-read this often at most (health changes are announced). */
const HEALTH_TTL_MS = 500;

/** Model keys remembered per instance (its last few jobs' models): model affinity. */
const LOADED_MODELS_KEPT = 8;

interface Entry {
  view: InstanceView;
  /** Same array while the tags do not change (the scheduler caches on identity). */
  tags: readonly string[];
  tagsKey: string;
  inFlight: InFlightJob[];
  loaded: string[];
  /** Still in the registry (a removed one is kept while our prompts there are accounted for). */
  present: boolean;
}

/**
 * The fleet as the scheduler sees it, joined from the registry (config, status), the health
 * monitor (health, VRAM, capabilities) and the dispatcher's own bookkeeping (our prompts on each
 * instance, models recently used there). Capabilities and tags objects keep their identity while
 * they do not change, so the scheduler's caches hold.
 *
 * @example
 * const fleet = new FleetView(registry, monitor);
 * fleet.refresh(); // after registry events
 * const d = scheduler.nextAssignment(fleet.instances(), Date.now());
 */
export class FleetView {
  readonly #registry: FleetRegistry;
  readonly #monitor: FleetMonitor;
  readonly #entries = new Map<string, Entry>();
  #indexKey: readonly object[] = [];
  #activeId: string | undefined;
  /** Health snapshots, re-read at most every HEALTH_TTL_MS (or after `healthChanged`). */
  readonly #health = new Map<string, { at: number; health: InstanceHealth; vram: number | null }>();
  #index: ModelInputIndex = ModelInputIndex.fromCapabilities([]);

  constructor(registry: FleetRegistry, monitor: FleetMonitor) {
    this.#registry = registry;
    this.#monitor = monitor;
    this.refresh();
  }

  /** Re-reads the registry (instances added, changed, removed, status, active). */
  refresh(): void {
    this.#activeId = this.#registry.active()?.id;
    this.#health.clear();
    const seen = new Set<string>();
    for (const view of this.#registry.list()) {
      seen.add(view.id);
      const tagsKey = JSON.stringify(view.tags);
      const old = this.#entries.get(view.id);
      if (old) {
        old.view = view;
        old.present = true;
        if (old.tagsKey !== tagsKey) {
          old.tags = [...view.tags];
          old.tagsKey = tagsKey;
        }
      } else {
        this.#entries.set(view.id, {
          view,
          tags: [...view.tags],
          tagsKey,
          inFlight: [],
          loaded: [],
          present: true,
        });
      }
    }
    for (const [id, e] of this.#entries) {
      if (seen.has(id)) continue;
      // An instance removed while our prompts ran keeps its entry until they are accounted for.
      e.present = false;
      if (e.inFlight.length === 0) this.#entries.delete(id);
    }
  }

  /** The instance's path_map (cached view; no registry lookup per job). */
  pathMap(id: string): readonly PathMapping[] {
    return this.#entries.get(id)?.view.path_map ?? [];
  }

  /** Whether the registry knows this instance. */
  has(id: string): boolean {
    return this.#entries.get(id)?.present === true;
  }

  /** The whole fleet for `nextAssignment` (busy and unhealthy instances included). */
  instances(): SchedulerInstance[] {
    const out: SchedulerInstance[] = [];
    for (const [id, e] of this.#entries) {
      if (!e.present) continue;
      const health = this.#healthOf(id);
      out.push({
        id,
        max_concurrent: e.view.max_concurrent,
        prefetch: e.view.prefetch,
        health: health.health,
        accepting: acceptsNewWork(e.view),
        priority: e.view.priority,
        tags: e.tags,
        capabilities: this.#monitor.capabilities(id) ?? NO_CAPABILITIES,
        loaded_models: e.loaded,
        vram_free: health.vram,
        in_flight: e.inFlight,
      });
    }
    return out;
  }

  /** A health change was announced: read it again at the next decision. */
  healthChanged(id: string): void {
    this.#health.delete(id);
  }

  #healthOf(id: string): { health: InstanceHealth; vram: number | null } {
    const now = Date.now();
    const cached = this.#health.get(id);
    if (cached && now - cached.at < HEALTH_TTL_MS) return cached;
    const snap = this.#monitor.health(id);
    const fresh = { at: now, health: snap.health, vram: snap.vram_free };
    this.#health.set(id, fresh);
    return fresh;
  }

  /** Capability targets of every configured instance (for `checkFleet` at submit). */
  targets(): CapabilityTarget[] {
    return [...this.#entries.entries()]
      .filter(([, e]) => e.present)
      .map(([id, e]) => ({
        id,
        tags: e.tags,
        capabilities: this.#monitor.capabilities(id) ?? NO_CAPABILITIES,
      }));
  }

  /** Whether every enabled instance's capabilities are known. */
  capabilitiesKnown(): boolean {
    for (const [id, e] of this.#entries) {
      if (e.present && e.view.enabled && this.#monitor.capabilities(id) === undefined) return false;
    }
    return true;
  }

  /** The jobs layer's view for submit-time validation: enabled instances, last known lists. */
  capabilitiesView(): FleetCapabilitiesView {
    return {
      listCapabilities: (): FleetInstanceCapabilities[] =>
        [...this.#entries.entries()]
          .filter(([, e]) => e.present && e.view.enabled)
          .map(([id, e]) => ({
            instance_id: id,
            tags: e.tags,
            capabilities: this.#monitor.capabilities(id) ?? null,
            active: e.view.active,
          })),
    };
  }

  /** Which node inputs take model files, learnt from the fleet's current capabilities. */
  modelIndex(): ModelInputIndex {
    const caps: object[] = [];
    for (const id of this.#entries.keys()) {
      const c = this.#monitor.capabilities(id);
      if (c) caps.push(c);
    }
    const same =
      caps.length === this.#indexKey.length && caps.every((c, i) => c === this.#indexKey[i]);
    if (!same) {
      this.#index = ModelInputIndex.fromCapabilities(caps as InstanceCapabilities[]);
      this.#indexKey = caps;
    }
    return this.#index;
  }

  /** The id the fleet's active instance has (what `pin: "active"` means), if any. */
  activeId(): string | undefined {
    return this.#activeId;
  }

  /** Our prompts on an instance (running first). */
  inFlight(instanceId: string): readonly InFlightJob[] {
    return this.#entries.get(instanceId)?.inFlight ?? [];
  }

  /** Model keys recently used on an instance (its likely loaded models). */
  loadedModels(instanceId: string): readonly string[] {
    return this.#entries.get(instanceId)?.loaded ?? [];
  }

  /** Total prompts of ours on the fleet. */
  inFlightCount(): number {
    let n = 0;
    for (const e of this.#entries.values()) n += e.inFlight.length;
    return n;
  }

  /** A job was sent (or is being sent) to an instance; its models become "loaded" there. */
  addInFlight(instanceId: string, job: InFlightJob, modelKeys: readonly string[] = []): void {
    let e = this.#entries.get(instanceId);
    if (!e) {
      this.refresh();
      e = this.#entries.get(instanceId);
      if (!e) return;
    }
    if (!e.inFlight.some((j) => j.job_id === job.job_id)) e.inFlight.push(job);
    if (modelKeys.length > 0) {
      const loaded = e.loaded.filter((k) => !modelKeys.includes(k));
      loaded.push(...modelKeys);
      // A new array: the scheduler may hold the old one from the current decision.
      e.loaded = loaded.slice(-LOADED_MODELS_KEPT);
    }
  }

  /** The job started executing there: moved behind the other running ones, before the queue. */
  markStarted(instanceId: string, jobId: string, at: number): void {
    const e = this.#entries.get(instanceId);
    if (!e) return;
    const i = e.inFlight.findIndex((j) => j.job_id === jobId);
    const job = e.inFlight[i];
    if (!job || job.started_at !== null) return;
    e.inFlight.splice(i, 1);
    const firstQueued = e.inFlight.findIndex((j) => j.started_at === null);
    const started = { ...job, started_at: at };
    if (firstQueued < 0) e.inFlight.push(started);
    else e.inFlight.splice(firstQueued, 0, started);
  }

  /** The job left the instance (finished, requeued, cancelled). */
  removeInFlight(instanceId: string, jobId: string): void {
    const e = this.#entries.get(instanceId);
    if (!e) return;
    const i = e.inFlight.findIndex((j) => j.job_id === jobId);
    if (i >= 0) e.inFlight.splice(i, 1);
    if (e.inFlight.length === 0 && !e.present) this.#entries.delete(instanceId);
  }
}
