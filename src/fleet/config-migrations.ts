/** The config file version this build writes. */
export const CONFIG_VERSION = '2.0';

/** A document brought to the current version (instances not yet validated), with notes. */
export interface MigrationOutcome {
  document: Record<string, unknown>;
  /** The version the document had, when it was older than {@link CONFIG_VERSION}. */
  migratedFrom: string | undefined;
  /** What the migration changed or dropped; shown as warnings. */
  notes: string[];
}

/**
 * A document version that cannot be migrated (missing, unknown or newer).
 *
 * @example
 * try { migrateConfig(doc, now); } catch (e) { if (e instanceof ConfigVersionError) warn(e.message); }
 */
export class ConfigVersionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigVersionError';
  }
}

type Step = (doc: Record<string, unknown>, notes: string[], now: string) => Record<string, unknown>;

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

// Version 1.0 (the desktop tool's comfyui_instances.json): camelCase fields, no host kind, no
// remote/managed distinction; its manager launched each instance itself with a GPU, environment
// variables and custom nodes. A 1.0 instance on this machine therefore becomes `managed`, one on
// another host `remote`.
const V1_FIELDS: Record<string, string | null> = {
  id: 'id',
  name: 'name',
  description: 'description',
  host: 'host',
  port: 'port',
  gpuDevice: 'gpu_device',
  envVars: 'env_vars',
  customNodesPath: 'custom_nodes_path',
  maxConcurrentWorkflows: 'max_concurrent',
  timeoutMs: 'timeout_ms',
  autoStart: 'auto_start',
  // Queue monitoring is always on now.
  enableQueueMonitoring: null,
};

const from1_0: Step = (doc, notes, now) => {
  const instances = doc.instances;
  const created = typeof doc.lastSaved === 'string' ? doc.lastSaved : now;
  const out: Record<string, unknown> = {
    version: '2.0',
    instances: Array.isArray(instances)
      ? instances.map((entry, i) => {
          if (!isRecord(entry)) return entry;
          const next: Record<string, unknown> = {};
          for (const [key, value] of Object.entries(entry)) {
            if (!(key in V1_FIELDS)) {
              notes.push(`instances[${i}].${key}: not a version 1.0 field; dropped`);
              continue;
            }
            const target = V1_FIELDS[key];
            if (target === null) continue;
            if (target) next[target] = value;
          }
          if (next.host === undefined) next.host = 'localhost';
          next.kind =
            typeof next.host === 'string' && LOCAL_HOSTS.has(next.host.toLowerCase())
              ? 'managed'
              : 'remote';
          next.source = 'file';
          next.created_at = created;
          return next;
        })
      : instances,
    active_instance_id: doc.activeInstanceId ?? null,
  };
  if (typeof doc.lastSaved === 'string') out.last_saved = doc.lastSaved;
  for (const key of Object.keys(doc)) {
    if (!['version', 'instances', 'activeInstanceId', 'lastSaved'].includes(key)) {
      notes.push(`${key}: not a version 1.0 field; dropped`);
    }
  }
  notes.push(
    'migrated from version 1.0 (camelCase fields renamed; local instances marked managed)',
  );
  return out;
};

/** Each step takes a document of the key's version to the next version. */
const STEPS: Record<string, { to: string; step: Step }> = {
  '1.0': { to: '2.0', step: from1_0 },
};

/**
 * Brings a parsed config document forward to {@link CONFIG_VERSION}, one step at a time.
 * Throws {@link ConfigVersionError} for a missing, unknown or newer version.
 *
 * @example
 * const { document, migratedFrom } = migrateConfig(JSON.parse(text), new Date().toISOString());
 */
export function migrateConfig(raw: unknown, now: string): MigrationOutcome {
  if (!isRecord(raw)) {
    throw new ConfigVersionError('the document must be a JSON object with version and instances');
  }
  const notes: string[] = [];
  let doc = raw;
  const original = doc.version;
  if (original === undefined) {
    throw new ConfigVersionError(
      `version is missing; expected "${CONFIG_VERSION}" (or "1.0" for files written by the earlier tool)`,
    );
  }
  if (typeof original !== 'string') {
    throw new ConfigVersionError(
      `version must be a string like "${CONFIG_VERSION}", got ${JSON.stringify(original)}`,
    );
  }
  let version: string = original;
  for (let guard = 0; version !== CONFIG_VERSION; guard++) {
    const next = STEPS[version];
    if (!next || guard > 32) {
      const newer = Number.parseFloat(version) > Number.parseFloat(CONFIG_VERSION);
      throw new ConfigVersionError(
        newer
          ? `version "${version}" is newer than this gateway understands ("${CONFIG_VERSION}"); upgrade comfy-cluster`
          : `version "${version}" is unknown; supported: ${[...Object.keys(STEPS), CONFIG_VERSION].map((v) => `"${v}"`).join(', ')}`,
      );
    }
    doc = next.step(doc, notes, now);
    version = next.to;
  }
  return { document: doc, migratedFrom: original === CONFIG_VERSION ? undefined : original, notes };
}
