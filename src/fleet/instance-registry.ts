import type { EventBus } from '../store/index.js';
import { InProcessEventBus } from '../store/index.js';
import { type ConfigDocument, serializeConfig, validateConfigDocument } from './config-document.js';
import { readConfigFile, writeConfigFile, writeFileAtomic } from './config-file.js';
import { CONFIG_VERSION } from './config-migrations.js';
import { resolveConfigFile } from './config-paths.js';
import { connectionOf, type InstanceConnection } from './connection.js';
import { defaultInstance, type Env, instancesFromEnv } from './env-config.js';
import {
  type ImportInstanceErrors,
  ImportRejectedError,
  InstanceNotFoundError,
  InstanceReadOnlyError,
  InstanceValidationError,
  LifecycleError,
} from './errors.js';
import type { FleetEvents, InstanceView } from './events.js';
import { formatHostPort, hostPortKey } from './host.js';
import { type Instance, InstanceSchema, type InstanceStatus } from './instance.js';
import { applyUpdate, findConflicts, normalizeInstance } from './instance-validation.js';
import { describePosition, parseJsonText } from './json-text.js';
import { type InstanceSupervisor, initialStatus } from './lifecycle.js';
import { publicInstance, redactAuth } from './redact.js';
import {
  type FileSettings,
  type ResolvedSettings,
  resolveSettings,
  type SettingKey,
} from './settings.js';
import type { FieldError } from './validation.js';
import type { ConfigWarning } from './warnings.js';

/** How to open the registry. Everything is injectable; defaults read the real environment. */
export interface RegistryOptions {
  /** Path of `comfyui_instances.json` (default: {@link resolveConfigFile} with `env`). */
  configFile?: string;
  /** Environment variables (default `process.env`). */
  env?: Env;
  /** Command-line values of the tunables (highest precedence). */
  flags?: Partial<Record<SettingKey, unknown>>;
  /** Where instance events go (default: a private in-process bus). */
  bus?: EventBus<FleetEvents>;
  /** Starts/stops managed instances; can also be attached later. */
  supervisor?: InstanceSupervisor;
  /** ms since epoch (default `Date.now`). */
  clock?: () => number;
  /** Delay before `last_used_at` changes are written (default 5 s). */
  usageSaveDelayMs?: number;
}

/** What an import changed, by instance id. */
export interface ImportSummary {
  added: string[];
  updated: string[];
  removed: string[];
  migrated_from: string | null;
}

interface Entry {
  instance: Instance;
  status: InstanceStatus;
  reason: string | null;
  /** Env variable for env instances. */
  origin: string | null;
}

const LIVE: readonly InstanceStatus[] = ['starting', 'running', 'paused', 'stopping'];

function persisted(e: Entry): boolean {
  return e.instance.source !== 'env';
}

/** Origin of the 127.0.0.1:8188 stand-in used while nothing is configured. */
const PLACEHOLDER = 'default (nothing configured)';

// The stand-in yields to the first configured instance (and never blocks one as a duplicate).
function isPlaceholder(e: Entry): boolean {
  return e.origin === PLACEHOLDER;
}

function changedFields(a: Instance, b: Instance): string[] {
  const keys = Object.keys(InstanceSchema.properties);
  const out: string[] = [];
  for (const k of keys) {
    const x = (a as unknown as Record<string, unknown>)[k];
    const y = (b as unknown as Record<string, unknown>)[k];
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push(k);
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * The instances of the fleet: loaded from the config file and the environment, edited through
 * the API, persisted (file and api instances only) with atomic writes, and announced on the bus
 * (`instance.added/changed/removed/status/active`). Lifecycle: `start`/`stop` enable or disable
 * routing for remote instances and delegate to the supervisor for managed ones; `pause` drains
 * (finish what runs, take nothing new); `resume` undoes it.
 *
 * Answers never contain credentials; {@link connection} is the one way to get them (for the
 * ComfyUI client).
 *
 * @example
 * const registry = await InstanceRegistry.open({ env: process.env, bus });
 * const gpu = await registry.create({ name: 'gpu1', host: '10.0.0.5', tags: ['sdxl'] });
 * await registry.pause(gpu.id);
 * console.log(registry.warnings);
 */
export class InstanceRegistry {
  readonly configFile: string;
  readonly bus: EventBus<FleetEvents>;
  #entries = new Map<string, Entry>();
  #activeId: string | null = null;
  #fileSettings: FileSettings = {};
  #settings: ResolvedSettings;
  #warnings: ConfigWarning[] = [];
  #settingsWarnings: ConfigWarning[] = [];
  #supervisor: InstanceSupervisor | undefined;
  readonly #env: Env;
  readonly #flags: Partial<Record<SettingKey, unknown>>;
  readonly #clock: () => number;
  readonly #usageDelay: number;
  #queue: Promise<unknown> = Promise.resolve();
  #usageTimer: NodeJS.Timeout | undefined;
  #dirty = false;
  #closed = false;

  private constructor(options: RegistryOptions, configFile: string) {
    this.configFile = configFile;
    this.bus = options.bus ?? new InProcessEventBus<FleetEvents>();
    this.#supervisor = options.supervisor;
    this.#env = options.env ?? process.env;
    this.#flags = options.flags ?? {};
    this.#clock = options.clock ?? Date.now;
    this.#usageDelay = options.usageSaveDelayMs ?? 5000;
    this.#settings = resolveSettings({ flags: this.#flags, env: this.#env });
  }

  /**
   * Loads the config file (migrating and rewriting an older version, after a `.v<old>.bak` copy)
   * and the environment. A broken config file throws {@link ConfigFileError}; problems in the
   * environment become {@link warnings}. With nothing configured anywhere the fleet is one
   * instance at 127.0.0.1:8188.
   */
  static async open(options: RegistryOptions = {}): Promise<InstanceRegistry> {
    const env = options.env ?? process.env;
    const file = options.configFile ?? resolveConfigFile({ env });
    const registry = new InstanceRegistry(options, file);
    await registry.#load();
    return registry;
  }

  #now(): string {
    return new Date(this.#clock()).toISOString();
  }

  async #load(): Promise<void> {
    const now = this.#now();
    const warnings: ConfigWarning[] = [];
    const read = await readConfigFile(this.configFile, { now });
    let doc = read.document;
    if (doc && read.migratedFrom !== undefined && read.text !== null) {
      const backup = `${this.configFile}.v${read.migratedFrom}.bak`;
      await writeFileAtomic(backup, read.text);
      doc = await writeConfigFile(this.configFile, doc, { now });
      warnings.push({
        code: 'config_migrated',
        source: this.configFile,
        message: `config file migrated from version ${read.migratedFrom} to ${CONFIG_VERSION} (the original is kept as ${backup}): ${read.notes.join('; ')}`,
      });
    }
    const fileInstances = doc?.instances ?? [];
    for (const inst of fileInstances) {
      this.#entries.set(inst.id, {
        instance: inst,
        status: initialStatus(inst),
        reason: null,
        origin: null,
      });
    }
    this.#fileSettings = doc?.settings ?? {};

    const fromEnv = instancesFromEnv(this.#env, { now });
    warnings.push(...fromEnv.warnings);
    for (const inst of fromEnv.instances) {
      const origin = fromEnv.origins[inst.id] ?? 'environment';
      const clash = fileInstances.find(
        (f) =>
          f.id === inst.id || hostPortKey(f.host, f.port) === hostPortKey(inst.host, inst.port),
      );
      if (clash) {
        warnings.push({
          code: 'duplicate_instance',
          source: origin.replace(/\[.*$/, ''),
          message: `${origin} (${formatHostPort(inst.host, inst.port)}) is already in the config file as '${clash.name}'; the file's entry is used`,
        });
        continue;
      }
      if (fileInstances.some((f) => f.name.toLowerCase() === inst.name.toLowerCase())) {
        const renamed = `${inst.name}-env`;
        warnings.push({
          code: 'duplicate_instance',
          source: origin.replace(/\[.*$/, ''),
          message: `${origin}: name '${inst.name}' is used in the config file; this server is named '${renamed}'`,
        });
        inst.name = renamed;
      }
      this.#entries.set(inst.id, {
        instance: inst,
        status: initialStatus(inst),
        reason: null,
        origin,
      });
    }
    if (this.#entries.size === 0) {
      const d = defaultInstance(now);
      this.#entries.set(d.id, {
        instance: d,
        status: initialStatus(d),
        reason: null,
        origin: PLACEHOLDER,
      });
    }

    const active = doc?.active_instance_id ?? null;
    if (active !== null && !this.#entries.has(active)) {
      warnings.push({
        code: 'unknown_active_instance',
        source: this.configFile,
        message: `active_instance_id '${active}' names no configured instance; the first instance is active instead`,
      });
      this.#activeId = null;
    } else {
      this.#activeId = active;
    }
    this.#warnings = warnings;
    this.#resolveSettings();
  }

  #resolveSettings(): void {
    this.#settings = resolveSettings({
      flags: this.#flags,
      env: this.#env,
      file: this.#fileSettings,
    });
    this.#settingsWarnings = this.#settings.warnings;
  }

  /** Configuration problems to keep visible (env, file migration, settings). */
  get warnings(): ConfigWarning[] {
    return structuredClone([...this.#warnings, ...this.#settingsWarnings]);
  }

  /** The resolved tunables (flags > env > config file > defaults) and where each came from. */
  get settings(): ResolvedSettings {
    return structuredClone(this.#settings);
  }

  /** Lets the supervisor take over start/stop of managed instances. */
  attachSupervisor(supervisor: InstanceSupervisor | undefined): void {
    this.#supervisor = supervisor;
  }

  // ----- reading --------------------------------------------------------------------------

  #effectiveActive(): string | null {
    if (this.#activeId !== null && this.#entries.has(this.#activeId)) return this.#activeId;
    return this.#ordered()[0]?.instance.id ?? null;
  }

  #ordered(): Entry[] {
    const all = [...this.#entries.values()];
    return [...all.filter(persisted), ...all.filter((e) => !persisted(e))];
  }

  #view(e: Entry): InstanceView {
    return {
      ...publicInstance(e.instance),
      status: e.status,
      status_reason: e.reason,
      active: e.instance.id === this.#effectiveActive(),
      origin: e.origin,
    };
  }

  #entry(ref: string): Entry {
    if (ref === 'active') {
      const id = this.#effectiveActive();
      const e = id === null ? undefined : this.#entries.get(id);
      if (e) return e;
      throw new InstanceNotFoundError(ref);
    }
    const byId = this.#entries.get(ref);
    if (byId) return byId;
    const lower = ref.toLowerCase();
    for (const e of this.#entries.values()) if (e.instance.name.toLowerCase() === lower) return e;
    throw new InstanceNotFoundError(ref);
  }

  /** Every instance: config-file ones in file order, then environment ones. */
  list(): InstanceView[] {
    return this.#ordered().map((e) => this.#view(e));
  }

  /** One instance by id, or undefined. */
  get(id: string): InstanceView | undefined {
    const e = this.#entries.get(id);
    return e ? this.#view(e) : undefined;
  }

  /** By id, by name (case-insensitive) or `'active'`; throws {@link InstanceNotFoundError}. */
  resolve(ref: string): InstanceView {
    return this.#view(this.#entry(ref));
  }

  /** The active instance (the explicit one, else the first), or undefined for an empty fleet. */
  active(): InstanceView | undefined {
    const id = this.#effectiveActive();
    return id === null ? undefined : this.get(id);
  }

  /** URLs and auth headers for the ComfyUI client. Contains secrets: never return or log it. */
  connection(ref: string): InstanceConnection {
    return connectionOf(this.#entry(ref).instance);
  }

  // ----- persistence ----------------------------------------------------------------------

  // Mutations run one at a time so validation always sees the state they will change.
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  #document(
    entries: Map<string, Entry>,
    activeId: string | null,
    settings: FileSettings,
  ): ConfigDocument {
    return {
      version: CONFIG_VERSION,
      instances: [...entries.values()].filter(persisted).map((e) => e.instance),
      active_instance_id: activeId,
      last_saved: null,
      settings,
    };
  }

  // Writes the file for a prospective state; the caller commits it to memory only on success.
  async #persist(
    entries: Map<string, Entry>,
    activeId: string | null,
    settings: FileSettings = this.#fileSettings,
  ): Promise<void> {
    await writeConfigFile(this.configFile, this.#document(entries, activeId, settings), {
      now: this.#now(),
    });
    this.#dirty = false;
  }

  #publishStatus(e: Entry, status: InstanceStatus, reason: string | null): void {
    const previous = e.status;
    if (previous === status && e.reason === reason) return;
    e.status = status;
    e.reason = reason;
    if (previous !== status) {
      this.bus.publish('instance.status', { id: e.instance.id, status, previous, reason });
    }
  }

  #publishActive(before: string | null): void {
    const after = this.#effectiveActive();
    if (after !== before) this.bus.publish('instance.active', { id: after, previous: before });
  }

  // Drops the stand-in once something is configured, and brings it back when nothing is left.
  #settlePlaceholder(next: Map<string, Entry>): { added?: Entry; removed?: Entry } {
    const real = [...next.values()].filter((e) => !isPlaceholder(e));
    const stand = [...next.values()].find(isPlaceholder);
    if (real.length > 0 && stand) {
      next.delete(stand.instance.id);
      return { removed: stand };
    }
    if (next.size === 0) {
      const d = defaultInstance(this.#now());
      const added: Entry = {
        instance: d,
        status: initialStatus(d),
        reason: null,
        origin: PLACEHOLDER,
      };
      next.set(d.id, added);
      return { added };
    }
    return {};
  }

  #publishSettled(settled: { added?: Entry; removed?: Entry }): void {
    if (settled.removed) {
      this.bus.publish('instance.removed', {
        id: settled.removed.instance.id,
        name: settled.removed.instance.name,
      });
    }
    if (settled.added) this.bus.publish('instance.added', { instance: this.#view(settled.added) });
  }

  #configured(): Instance[] {
    return [...this.#entries.values()].filter((e) => !isPlaceholder(e)).map((e) => e.instance);
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('instance registry is closed');
  }

  // ----- create / update / delete ---------------------------------------------------------

  /**
   * Adds an instance (source `api`) after validating it completely, and saves the file.
   * Throws {@link InstanceValidationError} with every field problem.
   */
  create(input: unknown): Promise<InstanceView> {
    this.#assertOpen();
    return this.#exclusive(async () => {
      const r = normalizeInstance(input, { shape: 'create', source: 'api', now: this.#now() });
      if (!r.ok) throw new InstanceValidationError(r.errors);
      const conflicts = findConflicts(r.instance, this.#configured());
      if (conflicts.length > 0) throw new InstanceValidationError(conflicts);
      const entry: Entry = {
        instance: r.instance,
        status: initialStatus(r.instance),
        reason: null,
        origin: null,
      };
      const next = new Map(this.#entries).set(r.instance.id, entry);
      const settled = this.#settlePlaceholder(next);
      const before = this.#effectiveActive();
      await this.#persist(next, this.#activeId);
      this.#entries = next;
      this.#publishSettled(settled);
      const view = this.#view(entry);
      this.bus.publish('instance.added', { instance: view });
      this.#publishActive(before);
      return view;
    });
  }

  /**
   * Changes some fields of a file/api instance (`auth: null` removes credentials) and saves.
   * Environment instances are read-only ({@link InstanceReadOnlyError}).
   */
  update(ref: string, patch: unknown): Promise<InstanceView> {
    this.#assertOpen();
    return this.#exclusive(async () => {
      const e = this.#entry(ref);
      if (!persisted(e))
        throw new InstanceReadOnlyError(e.instance.id, e.origin ?? 'the environment');
      const r = applyUpdate(e.instance, patch);
      if (!r.ok) throw new InstanceValidationError(r.errors);
      const conflicts = findConflicts(r.instance, this.#configured(), { sameIdIsSelf: true });
      if (conflicts.length > 0) throw new InstanceValidationError(conflicts);
      const changes = changedFields(e.instance, r.instance);
      if (changes.length === 0) return this.#view(e);
      const updated: Entry = { ...e, instance: r.instance };
      const next = new Map(this.#entries).set(e.instance.id, updated);
      await this.#persist(next, this.#activeId);
      this.#entries = next;
      let status = updated.status;
      if (changes.includes('kind') && r.instance.kind !== e.instance.kind)
        status = initialStatus(r.instance);
      else if (changes.includes('enabled') && r.instance.kind === 'remote') {
        status = r.instance.enabled ? (e.status === 'paused' ? 'paused' : 'running') : 'stopped';
      }
      this.bus.publish('instance.changed', { instance: this.#view(updated), changes });
      this.#publishStatus(updated, status, status === e.status ? updated.reason : null);
      return this.#view(updated);
    });
  }

  /** Removes a file/api instance and saves. A running managed instance must be stopped first. */
  delete(ref: string): Promise<void> {
    this.#assertOpen();
    return this.#exclusive(async () => {
      const e = this.#entry(ref);
      if (!persisted(e))
        throw new InstanceReadOnlyError(e.instance.id, e.origin ?? 'the environment');
      if (e.instance.kind === 'managed' && LIVE.includes(e.status)) {
        throw new LifecycleError(
          'invalid_state',
          `instance '${e.instance.name}' is ${e.status}; stop it before deleting it`,
        );
      }
      const next = new Map(this.#entries);
      next.delete(e.instance.id);
      const settled = this.#settlePlaceholder(next);
      const activeId = this.#activeId === e.instance.id ? null : this.#activeId;
      const before = this.#effectiveActive();
      await this.#persist(next, activeId);
      this.#entries = next;
      this.#activeId = activeId;
      this.bus.publish('instance.removed', { id: e.instance.id, name: e.instance.name });
      this.#publishSettled(settled);
      this.#publishActive(before);
    });
  }

  /** Makes an instance the active one (`null`: back to "the first instance") and saves. */
  setActive(ref: string | null): Promise<InstanceView | undefined> {
    this.#assertOpen();
    return this.#exclusive(async () => {
      const id = ref === null ? null : this.#entry(ref).instance.id;
      const before = this.#effectiveActive();
      await this.#persist(this.#entries, id);
      this.#activeId = id;
      this.#publishActive(before);
      return this.active();
    });
  }

  /** Records that work was sent to the instance; `last_used_at` is saved a little later. */
  markUsed(ref: string, at: number = this.#clock()): void {
    const e = this.#entry(ref);
    e.instance = { ...e.instance, last_used_at: new Date(at).toISOString() };
    if (!persisted(e) || this.#closed) return;
    this.#dirty = true;
    if (this.#usageTimer) return;
    this.#usageTimer = setTimeout(() => {
      this.#usageTimer = undefined;
      this.flush().catch(() => {
        // Kept dirty; the next flush or close retries and reports.
      });
    }, this.#usageDelay);
    this.#usageTimer.unref();
  }

  /** Writes pending `last_used_at` changes now. */
  flush(): Promise<void> {
    return this.#exclusive(async () => {
      if (this.#dirty) await this.#persist(this.#entries, this.#activeId);
    });
  }

  /** Flushes and stops the timers. Further changes are refused. */
  async close(): Promise<void> {
    if (this.#usageTimer) clearTimeout(this.#usageTimer);
    this.#usageTimer = undefined;
    await this.flush();
    this.#closed = true;
  }

  // ----- lifecycle ------------------------------------------------------------------------

  // Sets `enabled` (saving when the instance is persisted) and publishes the change.
  async #setEnabled(e: Entry, enabled: boolean): Promise<Entry> {
    if (e.instance.enabled === enabled) return e;
    const updated: Entry = { ...e, instance: { ...e.instance, enabled } };
    const next = new Map(this.#entries).set(e.instance.id, updated);
    if (persisted(e)) await this.#persist(next, this.#activeId);
    this.#entries = next;
    this.bus.publish('instance.changed', { instance: this.#view(updated), changes: ['enabled'] });
    return updated;
  }

  #needSupervisor(e: Entry, action: string): InstanceSupervisor {
    if (!this.#supervisor) {
      throw new LifecycleError(
        'supervisor_unavailable',
        `instance '${e.instance.name}' is managed, but no supervisor is running to ${action} it`,
      );
    }
    return this.#supervisor;
  }

  /**
   * Remote: enables routing (status `running`). Managed: the supervisor starts the process
   * (`starting` -> `running`, or `error` with the reason). Resolves with the new view.
   */
  async start(ref: string): Promise<InstanceView> {
    return this.#switchRouting(ref, 'start');
  }

  /**
   * Remote: disables routing (status `stopped`, saved as `enabled: false`). Managed: the
   * supervisor stops the process (`stopping` -> `stopped`).
   */
  async stop(ref: string): Promise<InstanceView> {
    return this.#switchRouting(ref, 'stop');
  }

  /**
   * start / stop: enables or disables routing (saved as `enabled`) and, for a managed instance
   * that is not already there, has the supervisor start or stop its process, passing through
   * `starting` / `stopping` and ending in `running` / `stopped`, or `error` with the reason.
   */
  async #switchRouting(ref: string, action: 'start' | 'stop'): Promise<InstanceView> {
    this.#assertOpen();
    const starting = action === 'start';
    const { entry, supervisor } = await this.#exclusive(async () => {
      let e = this.#entry(ref);
      if (e.status === 'starting' || e.status === 'stopping') {
        throw new LifecycleError(
          'invalid_state',
          `instance '${e.instance.name}' is ${e.status}; wait for it to finish`,
        );
      }
      const alreadyThere = starting
        ? e.status === 'running' || e.status === 'paused'
        : e.status === 'stopped';
      const sup =
        e.instance.kind === 'managed' && !alreadyThere
          ? this.#needSupervisor(e, action)
          : undefined;
      e = await this.#setEnabled(e, starting);
      const done = starting ? 'running' : 'stopped';
      this.#publishStatus(e, sup ? (starting ? 'starting' : 'stopping') : done, null);
      return { entry: e, supervisor: sup };
    });
    if (supervisor) {
      try {
        await supervisor[action](structuredClone(entry.instance));
      } catch (err) {
        this.#statusIfPresent(
          entry.instance.id,
          'error',
          err instanceof Error ? err.message : String(err),
        );
        throw err;
      }
      this.#statusIfPresent(entry.instance.id, starting ? 'running' : 'stopped', null);
    }
    return this.resolve(entry.instance.id);
  }

  /** Drain: the instance finishes what it runs and is given nothing new. Only from `running`. */
  pause(ref: string): Promise<InstanceView> {
    this.#assertOpen();
    return this.#exclusive(async () => {
      const e = this.#entry(ref);
      if (e.status === 'paused') return this.#view(e);
      if (e.status !== 'running') {
        throw new LifecycleError(
          'invalid_state',
          `instance '${e.instance.name}' is ${e.status}; only a running instance can be paused`,
        );
      }
      this.#publishStatus(e, 'paused', null);
      return this.#view(e);
    });
  }

  /** Ends a pause: the instance takes new work again. */
  resume(ref: string): Promise<InstanceView> {
    this.#assertOpen();
    return this.#exclusive(async () => {
      const e = this.#entry(ref);
      if (e.status === 'running') return this.#view(e);
      if (e.status !== 'paused') {
        throw new LifecycleError(
          'invalid_state',
          `instance '${e.instance.name}' is ${e.status}, not paused; use start`,
        );
      }
      this.#publishStatus(e, 'running', null);
      return this.#view(e);
    });
  }

  /**
   * For the supervisor: reports a status it observed (a crash -> `error`, a restart ->
   * `starting`/`running`).
   */
  reportStatus(ref: string, status: InstanceStatus, reason: string | null = null): InstanceView {
    const e = this.#entry(ref);
    this.#publishStatus(e, status, reason);
    return this.#view(e);
  }

  #statusIfPresent(id: string, status: InstanceStatus, reason: string | null): void {
    const e = this.#entries.get(id);
    if (e) this.#publishStatus(e, status, reason);
  }

  // ----- export / import ------------------------------------------------------------------

  /**
   * The config file's content (file and api instances, active instance, file settings) as JSON.
   * Credentials are replaced by `{ "type": ..., "redacted": true }` unless `includeSecrets`;
   * importing such an export keeps the secrets already stored for the same ids.
   */
  exportConfig(options: { includeSecrets?: boolean } = {}): string {
    const doc = this.#document(this.#entries, this.#activeId, this.#fileSettings);
    doc.last_saved = this.#now();
    if (!options.includeSecrets) {
      doc.instances = doc.instances.map((i) =>
        i.auth ? ({ ...i, auth: redactAuth(i.auth) } as unknown as Instance) : i,
      );
    }
    return serializeConfig(doc);
  }

  /**
   * Imports a config document (text or parsed; any supported version). Everything is validated
   * first (every instance, uniqueness, the active id, conflicts with environment instances);
   * on any problem {@link ImportRejectedError} lists them per instance and nothing changes.
   * `replace` (default) makes the document the new file content; `merge` adds its instances and
   * replaces those with the same id.
   */
  importConfig(
    data: unknown,
    options: { mode?: 'replace' | 'merge' } = {},
  ): Promise<ImportSummary> {
    this.#assertOpen();
    const mode = options.mode ?? 'replace';
    return this.#exclusive(async () => {
      let raw = data;
      if (typeof data === 'string') {
        const parsed = parseJsonText(data.replace(/^\uFEFF/, ''));
        if (!parsed.ok) {
          throw new ImportRejectedError(
            [
              {
                path: '',
                message: `not valid JSON at ${describePosition(parsed.position)}: ${parsed.problem}`,
              },
            ],
            [],
          );
        }
        raw = parsed.value;
      }
      const restored = this.#restoreRedacted(raw);
      const result = validateConfigDocument(restored.raw, { now: this.#now() });
      const valid = result.ok
        ? result.document.instances.map((instance, index) => ({ index, instance }))
        : result.valid;

      // Instances that stay besides the imported ones: environment ones, and in merge mode the
      // persisted ones the import does not replace.
      const importedIds = new Set(valid.map((v) => v.instance.id));
      const kept = [...this.#entries.values()].filter(
        (e) =>
          !isPlaceholder(e) &&
          (!persisted(e) || (mode === 'merge' && !importedIds.has(e.instance.id))),
      );
      const conflicts: ImportInstanceErrors[] = [];
      for (const { index, instance } of valid) {
        const errors = kept.flatMap((k) =>
          findConflicts(instance, [k.instance], { prefix: `instances[${index}]` }).map((err) =>
            k.origin ? { ...err, message: `${err.message}, defined by ${k.origin}` } : err,
          ),
        );
        if (errors.length > 0)
          conflicts.push({ index, id: instance.id, name: instance.name, errors });
      }
      const perInstance = mergeInstanceErrors(
        mergeInstanceErrors(restored.errors, result.ok ? [] : result.instances),
        conflicts,
      );
      const docErrors: FieldError[] = result.ok ? [] : [...result.errors];
      if (result.ok) {
        const doc = result.document;
        for (const e of this.#entries.values()) {
          if (!persisted(e) || e.instance.kind !== 'managed' || !LIVE.includes(e.status)) continue;
          const replacement = doc.instances.find((i) => i.id === e.instance.id);
          if (
            (replacement === undefined && mode === 'replace') ||
            (replacement && replacement.kind !== 'managed')
          ) {
            docErrors.push({
              path: 'instances',
              message: `managed instance '${e.instance.name}' (id ${e.instance.id}) is ${e.status} and would be removed or made remote; stop it first`,
            });
          }
        }
        const ids = new Set([...kept.map((e) => e.instance.id), ...importedIds]);
        if (doc.active_instance_id !== null && !ids.has(doc.active_instance_id)) {
          docErrors.push({
            path: 'active_instance_id',
            message: `'${doc.active_instance_id}' names no instance of the import or the environment`,
          });
        }
      }
      if (!result.ok || docErrors.length > 0 || perInstance.length > 0) {
        throw new ImportRejectedError(docErrors, perInstance);
      }
      const doc = result.document;
      const activeId = doc.active_instance_id ?? (mode === 'merge' ? this.#activeId : null);
      const next = new Map<string, Entry>();

      const summary: ImportSummary = {
        added: [],
        updated: [],
        removed: [],
        migrated_from: result.migratedFrom ?? null,
      };
      const changes = new Map<string, string[]>();
      const place = (inst: Instance): void => {
        const old = this.#entries.get(inst.id);
        if (old && persisted(old)) {
          const diff = changedFields(old.instance, inst);
          if (diff.length > 0) {
            summary.updated.push(inst.id);
            changes.set(inst.id, diff);
          }
          const status = old.instance.kind === inst.kind ? old.status : initialStatus(inst);
          next.set(inst.id, { instance: inst, status, reason: old.reason, origin: null });
        } else {
          summary.added.push(inst.id);
          next.set(inst.id, {
            instance: inst,
            status: initialStatus(inst),
            reason: null,
            origin: null,
          });
        }
      };
      const imported = new Map(doc.instances.map((i) => [i.id, i]));
      if (mode === 'merge') {
        // Existing instances keep their place (replaced in place); new ones are appended.
        for (const e of this.#entries.values()) {
          if (!persisted(e)) continue;
          const replacement = imported.get(e.instance.id);
          if (replacement) place(replacement);
          else next.set(e.instance.id, e);
        }
      }
      for (const inst of doc.instances) if (!next.has(inst.id)) place(inst);
      for (const e of kept) if (!next.has(e.instance.id)) next.set(e.instance.id, e);
      const settled = this.#settlePlaceholder(next);
      for (const e of this.#entries.values()) {
        if (!next.has(e.instance.id) && !isPlaceholder(e)) summary.removed.push(e.instance.id);
      }

      const settings = mode === 'merge' ? { ...this.#fileSettings, ...doc.settings } : doc.settings;
      const resolvedActive = activeId !== null && next.has(activeId) ? activeId : null;
      const before = this.#effectiveActive();
      await this.#persist(next, resolvedActive, settings);
      const previous = this.#entries;
      this.#entries = next;
      this.#activeId = resolvedActive;
      this.#fileSettings = settings;
      this.#resolveSettings();
      for (const id of summary.removed) {
        const e = previous.get(id);
        if (e) this.bus.publish('instance.removed', { id, name: e.instance.name });
      }
      this.#publishSettled(settled);
      for (const id of summary.added) {
        const e = next.get(id);
        if (e) this.bus.publish('instance.added', { instance: this.#view(e) });
      }
      for (const [id, diff] of changes) {
        const e = next.get(id);
        if (e) this.bus.publish('instance.changed', { instance: this.#view(e), changes: diff });
      }
      this.#publishActive(before);
      return summary;
    });
  }

  // An export without secrets carries `auth: { type, redacted: true }`; put back the stored
  // secret of the same instance, or report that it is missing.
  #restoreRedacted(raw: unknown): { raw: unknown; errors: ImportInstanceErrors[] } {
    if (!isRecord(raw) || raw.version !== CONFIG_VERSION || !Array.isArray(raw.instances)) {
      return { raw, errors: [] };
    }
    const copy = structuredClone(raw) as Record<string, unknown> & { instances: unknown[] };
    const errors: ImportInstanceErrors[] = [];
    copy.instances.forEach((entry, index) => {
      if (!isRecord(entry) || !isRecord(entry.auth) || entry.auth.redacted !== true) return;
      const id = typeof entry.id === 'string' ? entry.id : undefined;
      const stored = id === undefined ? undefined : this.#entries.get(id)?.instance.auth;
      if (stored && stored.type === entry.auth.type) {
        entry.auth = structuredClone(stored);
        return;
      }
      // Dropped so the instance's other fields are still checked.
      delete entry.auth;
      errors.push({
        index,
        id,
        name: typeof entry.name === 'string' ? entry.name : undefined,
        errors: [
          {
            path: `instances[${index}].auth`,
            message:
              'the credentials were left out of this export and none are stored for this id; put the secret back (token or username/password) or remove auth',
          },
        ],
      });
    });
    return { raw: copy, errors };
  }
}

function mergeInstanceErrors(
  a: ImportInstanceErrors[],
  b: ImportInstanceErrors[],
): ImportInstanceErrors[] {
  const byIndex = new Map<number, ImportInstanceErrors>();
  for (const x of [...a, ...b]) {
    const prev = byIndex.get(x.index);
    if (prev) prev.errors.push(...x.errors);
    else byIndex.set(x.index, { ...x, errors: [...x.errors] });
  }
  return [...byIndex.values()].sort((x, y) => x.index - y.index);
}
