import { randomUUID } from 'node:crypto';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { checkHost, formatHostPort, hostPortKey } from './host.js';
import {
  DEFAULT_PORT,
  type Instance,
  InstanceCreateSchema,
  InstanceEntrySchema,
  InstanceSchema,
  type InstanceSource,
  type InstanceUpdate,
  InstanceUpdateSchema,
} from './instance.js';
import { type FieldError, joinPath, schemaErrors } from './validation.js';

/** How to fill what the input leaves out. */
export interface NormalizeOptions {
  /** `entry`: config file / import (may carry id, created_at, source); `create`: API input. */
  shape: 'entry' | 'create';
  /** Source when the input does not say (always used for `create`). */
  source: InstanceSource;
  /** ISO time used for `created_at` when missing. */
  now: string;
  /** Path prefix for errors, e.g. `instances[3]`. */
  prefix?: string;
  /** Id generator (default: random UUID). */
  newId?: () => string;
}

/** Either a complete instance or the reasons there is none. */
export type NormalizeResult =
  | { ok: true; instance: Instance }
  | { ok: false; errors: FieldError[] };

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isIsoTime(v: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T/.test(v) && Number.isFinite(Date.parse(v));
}

// Checks that need more than the schema: host syntax and timestamps.
function semanticErrors(raw: Record<string, unknown>, prefix: string): FieldError[] {
  const errors: FieldError[] = [];
  if (typeof raw.host === 'string') {
    const check = checkHost(raw.host);
    if (!check.ok) errors.push({ path: joinPath(prefix, 'host'), message: check.message });
  }
  for (const key of ['created_at', 'last_used_at'] as const) {
    const v = raw[key];
    if (typeof v === 'string' && !isIsoTime(v)) {
      errors.push({
        path: joinPath(prefix, key),
        message: `must be an ISO-8601 time like 2025-01-17T16:00:00.000Z, got ${JSON.stringify(v)}`,
      });
    }
  }
  if (raw.source === 'env') {
    errors.push({
      path: joinPath(prefix, 'source'),
      message: "must be 'file' or 'api'; instances from environment variables are not stored",
    });
  }
  return errors;
}

/** Fields only the gateway sets. */
const GATEWAY_FIELDS = ['id', 'source', 'created_at', 'last_used_at'] as const;

/** Host as stored: IPv6 without brackets, everything else as given. */
function storedHost(host: string): string {
  return /^\[.*\]$/.test(host) ? host.slice(1, -1) : host;
}

/**
 * Validates one instance (schema, host syntax, times) and fills defaults, giving a complete
 * {@link Instance}. Uniqueness against other instances is {@link findConflicts}' job.
 *
 * @example
 * const r = normalizeInstance({ host: '10.0.0.5' }, { shape: 'create', source: 'api', now: new Date().toISOString() });
 * if (r.ok) r.instance.port; // 8188
 */
export function normalizeInstance(raw: unknown, options: NormalizeOptions): NormalizeResult {
  const prefix = options.prefix ?? '';
  const schema: TSchema = options.shape === 'entry' ? InstanceEntrySchema : InstanceCreateSchema;
  const errors = schemaErrors(schema, raw, prefix);
  if (!isRecord(raw)) return { ok: false, errors };
  const hostError = errors.some((e) => e.path === joinPath(prefix, 'host'));
  errors.push(
    ...semanticErrors(raw, prefix).filter(
      (e) => !(hostError && e.path === joinPath(prefix, 'host')),
    ),
  );
  if (errors.length > 0) return { ok: false, errors };

  const input = structuredClone(raw) as Record<string, unknown>;
  const host = storedHost(String(input.host));
  const port = typeof input.port === 'number' ? input.port : DEFAULT_PORT;
  const filled: Record<string, unknown> = {
    ...input,
    id: typeof input.id === 'string' ? input.id : (options.newId ?? randomUUID)(),
    name: typeof input.name === 'string' ? input.name : formatHostPort(host, port),
    host,
    created_at: typeof input.created_at === 'string' ? input.created_at : options.now,
    source:
      options.shape === 'entry' && typeof input.source === 'string' ? input.source : options.source,
  };
  const instance = Value.Default(InstanceSchema, filled);
  const leftover = schemaErrors(InstanceSchema, instance, prefix);
  if (leftover.length > 0) return { ok: false, errors: leftover };
  return { ok: true, instance: instance as Instance };
}

/**
 * Applies a partial update to an instance and validates the result. `auth: null` removes the
 * credentials; omitted fields keep their value.
 *
 * @example
 * const r = applyUpdate(instance, { port: 8189, tags: ['sdxl'] });
 */
export function applyUpdate(current: Instance, patch: unknown, prefix = ''): NormalizeResult {
  if (!isRecord(patch))
    return { ok: false, errors: schemaErrors(InstanceUpdateSchema, patch, prefix) };
  const fixed = Object.keys(patch).filter((k) => (GATEWAY_FIELDS as readonly string[]).includes(k));
  const settable = Object.fromEntries(Object.entries(patch).filter(([k]) => !fixed.includes(k)));
  const errors: FieldError[] = fixed.map((k) => ({
    path: joinPath(prefix, k),
    message: 'cannot be changed (the gateway sets it)',
  }));
  errors.push(...schemaErrors(InstanceUpdateSchema, settable, prefix));
  if (!errors.some((e) => e.path === joinPath(prefix, 'host'))) {
    errors.push(...semanticErrors(settable, prefix));
  }
  if (errors.length > 0) return { ok: false, errors };
  const update = structuredClone(settable) as InstanceUpdate;
  const { auth, ...rest } = update;
  const next: Record<string, unknown> = { ...structuredClone(current), ...rest };
  if (typeof update.host === 'string') next.host = storedHost(update.host);
  if (auth === null) delete next.auth;
  else if (auth !== undefined) next.auth = auth;
  const leftover = schemaErrors(InstanceSchema, next, prefix);
  if (leftover.length > 0) return { ok: false, errors: leftover };
  return { ok: true, instance: next as Instance };
}

function label(i: Instance): string {
  return `instance '${i.name}' (id ${i.id}, ${formatHostPort(i.host, i.port)})`;
}

/**
 * Uniqueness of `candidate` among `others`: id, name (case-insensitive) and host:port (with
 * `localhost`, `127.0.0.1` and `::1` counted as the same machine). Instances with the candidate's
 * own id are skipped when `sameIdIsSelf` is set (updates).
 *
 * @example
 * findConflicts(newInstance, registry.all()); // [{ path: 'host', message: "10.0.0.5:8188 is already used by ..." }]
 */
export function findConflicts(
  candidate: Instance,
  others: readonly Instance[],
  options: { prefix?: string; sameIdIsSelf?: boolean } = {},
): FieldError[] {
  const prefix = options.prefix ?? '';
  const errors: FieldError[] = [];
  const key = hostPortKey(candidate.host, candidate.port);
  for (const o of others) {
    if (o.id === candidate.id) {
      if (options.sameIdIsSelf) continue;
      errors.push({
        path: joinPath(prefix, 'id'),
        message: `id '${o.id}' is already used by ${label(o)}`,
      });
    }
    if (o.name.toLowerCase() === candidate.name.toLowerCase()) {
      errors.push({
        path: joinPath(prefix, 'name'),
        message: `name '${candidate.name}' is already used by ${label(o)}; names must be unique`,
      });
    }
    if (hostPortKey(o.host, o.port) === key) {
      errors.push({
        path: joinPath(prefix, 'host'),
        message: `${formatHostPort(candidate.host, candidate.port)} is already used by ${label(o)}; each server may be listed once`,
      });
    }
  }
  return errors;
}
