import { Type } from 'typebox';
import { CONFIG_VERSION, ConfigVersionError, migrateConfig } from './config-migrations.js';
import type { ImportInstanceErrors } from './errors.js';
import { DEFAULT_PORT, type Instance, InstanceSchema } from './instance.js';
import { findConflicts, normalizeInstance } from './instance-validation.js';
import { type FileSettings, FileSettingsSchema } from './settings.js';
import { type FieldError, schemaErrors } from './validation.js';

/** The top level of `comfyui_instances.json` (instances are checked one by one). */
export const ConfigDocumentSchema = Type.Object(
  {
    version: Type.Literal(CONFIG_VERSION),
    instances: Type.Array(Type.Unknown()),
    active_instance_id: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    last_saved: Type.Optional(Type.String()),
    settings: Type.Optional(FileSettingsSchema),
  },
  { additionalProperties: false },
);

/** A validated config document. */
export interface ConfigDocument {
  version: typeof CONFIG_VERSION;
  instances: Instance[];
  active_instance_id: string | null;
  last_saved: string | null;
  settings: FileSettings;
}

/** Outcome of {@link validateConfigDocument}. */
export type ConfigDocumentResult =
  | { ok: true; document: ConfigDocument; migratedFrom: string | undefined; notes: string[] }
  | {
      ok: false;
      errors: FieldError[];
      instances: ImportInstanceErrors[];
      /** The instances that are valid on their own, with their index (for further checks). */
      valid: { index: number; instance: Instance }[];
    };

// A hand-written entry without an id gets one derived from its address, so the id is the same
// at every start without the gateway rewriting the file.
function entryId(entry: unknown): string {
  const host = pick(entry, 'host') ?? 'instance';
  const port = (entry as { port?: unknown }).port;
  const slug = host.replace(/[^A-Za-z0-9_.:-]/g, '-');
  const start = /^[A-Za-z0-9]/.test(slug) ? '' : 'ip'; // ids start with a letter or digit
  return `${start}${slug}-${typeof port === 'number' ? port : DEFAULT_PORT}`.slice(0, 128);
}

function pick(v: unknown, key: string): string | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const x = (v as Record<string, unknown>)[key];
  return typeof x === 'string' ? x : undefined;
}

/**
 * Migrates and validates a parsed config document as a whole: the top-level shape, every
 * instance (schema, host syntax) and their uniqueness (id, name, host:port). All problems are
 * reported, grouped per instance; nothing is partially accepted.
 *
 * @example
 * const r = validateConfigDocument(JSON.parse(text), { now: new Date().toISOString() });
 * if (!r.ok) for (const i of r.instances) console.log(i.index, i.errors);
 */
export function validateConfigDocument(
  raw: unknown,
  options: { now: string },
): ConfigDocumentResult {
  let migrated: ReturnType<typeof migrateConfig>;
  try {
    migrated = migrateConfig(raw, options.now);
  } catch (err) {
    if (err instanceof ConfigVersionError) {
      return {
        ok: false,
        errors: [{ path: 'version', message: err.message }],
        instances: [],
        valid: [],
      };
    }
    throw err;
  }
  const doc = migrated.document;
  const errors = schemaErrors(ConfigDocumentSchema, doc);
  const perInstance: ImportInstanceErrors[] = [];
  const accepted: Instance[] = [];
  const valid: { index: number; instance: Instance }[] = [];
  const entries = Array.isArray(doc.instances) ? doc.instances : [];
  entries.forEach((entry, index) => {
    const prefix = `instances[${index}]`;
    const result = normalizeInstance(entry, {
      shape: 'entry',
      source: 'file',
      now: options.now,
      prefix,
      newId: () => entryId(entry),
    });
    const problems = result.ok
      ? findConflicts(result.instance, accepted, { prefix })
      : result.errors;
    if (result.ok) accepted.push(result.instance);
    if (result.ok && problems.length === 0) valid.push({ index, instance: result.instance });
    if (problems.length > 0) {
      perInstance.push({
        index,
        id: pick(entry, 'id'),
        name: pick(entry, 'name'),
        errors: problems,
      });
    }
  });
  if (errors.length > 0 || perInstance.length > 0) {
    return { ok: false, errors, instances: perInstance, valid };
  }
  const settings = (doc.settings ?? {}) as FileSettings;
  return {
    ok: true,
    document: {
      version: CONFIG_VERSION,
      instances: accepted,
      active_instance_id:
        typeof doc.active_instance_id === 'string' ? doc.active_instance_id : null,
      last_saved: typeof doc.last_saved === 'string' ? doc.last_saved : null,
      settings,
    },
    migratedFrom: migrated.migratedFrom,
    notes: migrated.notes,
  };
}

/**
 * The file text for a document: stable key order, two-space indent, trailing newline. Only
 * file and api instances belong in it.
 *
 * @example
 * await writeFile(file, serializeConfig(doc));
 */
export function serializeConfig(doc: ConfigDocument): string {
  const out: Record<string, unknown> = {
    version: doc.version,
    instances: doc.instances.map(inSchemaOrder),
    active_instance_id: doc.active_instance_id,
    last_saved: doc.last_saved,
  };
  if (Object.keys(doc.settings).length > 0) out.settings = doc.settings;
  return `${JSON.stringify(out, null, 2)}\n`;
}

const FIELD_ORDER = Object.keys(InstanceSchema.properties);

function inSchemaOrder(instance: Instance): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const source = instance as unknown as Record<string, unknown>;
  for (const key of FIELD_ORDER) if (source[key] !== undefined) out[key] = source[key];
  return out;
}
