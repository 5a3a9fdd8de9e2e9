import { checkHost, formatHostPort, hostPortKey, parseHostPort, parsePort } from './host.js';
import { DEFAULT_HOST, DEFAULT_PORT, type Instance } from './instance.js';
import { normalizeInstance } from './instance-validation.js';
import { describePosition, parseJsonText } from './json-text.js';
import type { FieldError } from './validation.js';
import type { ConfigWarning } from './warnings.js';

/** Environment variables as a plain object (pass `process.env`, or a literal in tests). */
export type Env = Readonly<Record<string, string | undefined>>;

/** Instances defined by environment variables, and the warnings met on the way. */
export interface EnvInstances {
  /** Normalized, `source: 'env'`, unique by host:port and name. */
  instances: Instance[];
  /** Which variable each instance came from, by id (e.g. `COMFYUI_HOST_2`, `NUKE_COMFYUI_SERVERS[1]`). */
  origins: Record<string, string>;
  warnings: ConfigWarning[];
}

const EXAMPLES = {
  COMFYUI_SERVERS:
    'a JSON array of servers, e.g. ["10.0.0.5:8188", {"name":"gpu2","host":"10.0.0.6","port":8188}]',
  NUKE_COMFYUI_SERVERS:
    'a JSON array of servers, e.g. [{"name":"primary","ip":"10.0.0.5","port":8188,"dir_local":"U:/","dir_remote":"/home/me/ComfyUI/","priority":1,"enabled":true}]',
} as const;

const SINGLE_VARS = [
  'NUKE_COMFYUI_IP',
  'NUKE_COMFYUI_PORT',
  'NUKE_COMFYUI_DIR_LOCAL',
  'NUKE_COMFYUI_DIR_REMOTE',
] as const;

const NUKE_FIELDS = ['name', 'ip', 'port', 'dir_local', 'dir_remote', 'priority', 'enabled'];

/**
 * Stable id of an env instance from its address, so it survives restarts.
 *
 * @example
 * envInstanceId('192.168.1.187', 8188); // 'env-192.168.1.187-8188'
 */
export function envInstanceId(host: string, port: number): string {
  return `env-${host.replace(/[^A-Za-z0-9_.:-]/g, '-')}-${port}`.slice(0, 128);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isSet(env: Env, name: string): boolean {
  const v = env[name];
  return v !== undefined && v.trim() !== '';
}

interface Candidate {
  origin: string;
  input: Record<string, unknown>;
  /** Renames for error paths (NUKE spelling: host -> ip). */
  rename?: Record<string, string>;
}

/** Turns a NUKE-style server object into instance input. */
function fromNukeShape(
  entry: Record<string, unknown>,
  origin: string,
  warnings: ConfigWarning[],
  variable: string,
): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(entry)) {
    if (!NUKE_FIELDS.includes(key)) {
      warnings.push({
        code: 'unknown_field',
        source: variable,
        message: `${origin}.${key} is not a known field (known: ${NUKE_FIELDS.join(', ')}); ignored`,
      });
    }
  }
  if (entry.ip !== undefined)
    input.host = typeof entry.ip === 'string' ? entry.ip.trim() : entry.ip;
  if (entry.port !== undefined) {
    input.port =
      typeof entry.port === 'string' && parsePort(entry.port) !== undefined
        ? parsePort(entry.port)
        : entry.port;
  }
  if (entry.name !== undefined) input.name = entry.name;
  if (entry.priority !== undefined) input.priority = entry.priority;
  if (entry.enabled !== undefined) input.enabled = entry.enabled;
  const local = entry.dir_local;
  const remote = entry.dir_remote;
  if (typeof local === 'string' && typeof remote === 'string' && local !== '' && remote !== '') {
    input.path_map = [{ local, remote }];
  } else if ((local !== undefined && local !== '') || (remote !== undefined && remote !== '')) {
    warnings.push({
      code: 'invalid_entry',
      source: variable,
      message: `${origin}: dir_local and dir_remote must both be non-empty strings to map paths; no path mapping used`,
    });
  }
  return input;
}

/** The single-server NUKE_* variables as one candidate (defaults 127.0.0.1:8188). */
function singleServer(env: Env, warnings: ConfigWarning[]): Candidate {
  const input: Record<string, unknown> = {
    name: 'default',
    host: DEFAULT_HOST,
    port: DEFAULT_PORT,
  };
  let origin = 'defaults (127.0.0.1:8188)';
  const ip = env.NUKE_COMFYUI_IP?.trim();
  if (ip) {
    const check = checkHost(ip);
    if (check.ok) {
      input.host = /^\[.*\]$/.test(ip) ? ip.slice(1, -1) : ip;
      origin = 'NUKE_COMFYUI_IP';
    } else {
      warnings.push({
        code: 'invalid_value',
        source: 'NUKE_COMFYUI_IP',
        message: `NUKE_COMFYUI_IP=${JSON.stringify(ip)} is not usable: ${
          check.message.includes('must not include the port')
            ? 'give only the host and put the port in NUKE_COMFYUI_PORT'
            : check.message
        }; using ${DEFAULT_HOST}`,
      });
    }
  }
  const portText = env.NUKE_COMFYUI_PORT?.trim();
  if (portText) {
    const port = parsePort(portText);
    if (port !== undefined) {
      input.port = port;
      if (origin.startsWith('defaults')) origin = 'NUKE_COMFYUI_PORT';
    } else {
      warnings.push({
        code: 'invalid_value',
        source: 'NUKE_COMFYUI_PORT',
        message: `NUKE_COMFYUI_PORT=${JSON.stringify(portText)} is not usable: expected a whole number between 1 and 65535; using ${DEFAULT_PORT}`,
      });
    }
  }
  const local = env.NUKE_COMFYUI_DIR_LOCAL?.trim();
  const remote = env.NUKE_COMFYUI_DIR_REMOTE?.trim();
  if (local && remote) input.path_map = [{ local, remote }];
  else if (local || remote) {
    warnings.push({
      code: 'invalid_value',
      source: local ? 'NUKE_COMFYUI_DIR_LOCAL' : 'NUKE_COMFYUI_DIR_REMOTE',
      message: `${local ? 'NUKE_COMFYUI_DIR_LOCAL' : 'NUKE_COMFYUI_DIR_REMOTE'} is set without ${
        local ? 'NUKE_COMFYUI_DIR_REMOTE' : 'NUKE_COMFYUI_DIR_LOCAL'
      }; both are needed to map paths, so none is mapped`,
    });
  }
  return { origin, input, rename: { host: 'NUKE_COMFYUI_IP', port: 'NUKE_COMFYUI_PORT' } };
}

/** Parses a JSON-array variable; on failure adds the warning and returns undefined. */
function jsonArray(
  env: Env,
  variable: 'COMFYUI_SERVERS' | 'NUKE_COMFYUI_SERVERS',
  warnings: ConfigWarning[],
  fallbackText: string,
): unknown[] | undefined {
  const text = env[variable] ?? '';
  const parsed = parseJsonText(text);
  if (!parsed.ok) {
    warnings.push({
      code: 'invalid_json',
      source: variable,
      ...(parsed.position ? { position: parsed.position } : {}),
      message: `${variable} is not valid JSON at ${describePosition(parsed.position)}: ${parsed.problem}. Expected ${EXAMPLES[variable]}. Falling back to the single-server values (${fallbackText}).`,
    });
    return undefined;
  }
  if (!Array.isArray(parsed.value)) {
    const got =
      parsed.value === null
        ? 'null'
        : typeof parsed.value === 'object'
          ? 'an object'
          : `a ${typeof parsed.value}`;
    warnings.push({
      code: 'invalid_json',
      source: variable,
      position: { offset: 0, line: 1, column: 1 },
      message: `${variable} is JSON but ${got}, not an array. Expected ${EXAMPLES[variable]}. Falling back to the single-server values (${fallbackText}).`,
    });
    return undefined;
  }
  return parsed.value;
}

function renamePath(
  path: string,
  origin: string,
  rename: Record<string, string> | undefined,
): string {
  const field = path.split(/[.[]/)[0] ?? '';
  const renamed = rename?.[field];
  if (renamed === undefined) return path === '' ? origin : `${origin}.${path}`;
  // A whole-variable rename (single-server vars) replaces the origin; a field rename keeps it.
  if (/^[A-Z_0-9]+$/.test(renamed)) return renamed + path.slice(field.length);
  return `${origin}.${renamed}${path.slice(field.length)}`;
}

function describeErrors(
  errors: FieldError[],
  origin: string,
  rename?: Record<string, string>,
): string {
  return errors.map((e) => `${renamePath(e.path, origin, rename)} ${e.message}`).join('; ');
}

function variableOf(origin: string): string {
  return origin.replace(/\[.*$/, '');
}

/**
 * Reads every environment form users already have, in this order: `COMFYUI_SERVERS` (JSON array
 * of `"host:port"` strings or instance objects), `NUKE_COMFYUI_SERVERS` (JSON array of
 * `{name, ip, port, dir_local, dir_remote, priority, enabled}`), `COMFYUI_HOST_1..N`
 * (`host:port`, gaps allowed), then the single-server `NUKE_COMFYUI_IP/PORT/DIR_LOCAL/DIR_REMOTE`
 * (used when `NUKE_COMFYUI_SERVERS` is not). A JSON variable that does not parse gives a warning
 * (variable, position, what was expected) and the single-server values are used instead.
 * Duplicate servers are dropped with a warning. Nothing set gives no instances (the registry
 * then falls back to 127.0.0.1:8188 if the config file has none either).
 *
 * @example
 * const { instances, warnings } = instancesFromEnv({ COMFYUI_HOST_1: 'localhost:8188', COMFYUI_HOST_3: 'localhost:8190' }, { now });
 */
export function instancesFromEnv(env: Env, options: { now: string }): EnvInstances {
  const warnings: ConfigWarning[] = [];
  const candidates: Candidate[] = [];
  const singleConfigured = SINGLE_VARS.some((v) => isSet(env, v));
  const fallbackText = singleConfigured
    ? 'NUKE_COMFYUI_IP / NUKE_COMFYUI_PORT / NUKE_COMFYUI_DIR_*'
    : `${formatHostPort(DEFAULT_HOST, DEFAULT_PORT)}, as no NUKE_COMFYUI_IP/PORT is set`;
  let needSingle = false;
  let nukeServersUsed = false;

  if (isSet(env, 'COMFYUI_SERVERS')) {
    const list = jsonArray(env, 'COMFYUI_SERVERS', warnings, fallbackText);
    if (list === undefined) needSingle = true;
    list?.forEach((entry, i) => {
      const origin = `COMFYUI_SERVERS[${i}]`;
      if (typeof entry === 'string') {
        const hp = parseHostPort(entry);
        if (!hp.ok) {
          warnings.push({
            code: 'invalid_entry',
            source: 'COMFYUI_SERVERS',
            message: `${origin} ${hp.message}; skipped`,
          });
          return;
        }
        candidates.push({ origin, input: { host: hp.host, port: hp.port, tls: hp.tls } });
      } else if (isRecord(entry) && 'ip' in entry && !('host' in entry)) {
        candidates.push({
          origin,
          input: fromNukeShape(entry, origin, warnings, 'COMFYUI_SERVERS'),
          rename: { host: 'ip' },
        });
      } else if (isRecord(entry)) {
        candidates.push({ origin, input: { ...entry } });
      } else {
        warnings.push({
          code: 'invalid_entry',
          source: 'COMFYUI_SERVERS',
          message: `${origin} must be "host:port" or an object like {"host":"10.0.0.5","port":8188}; skipped`,
        });
      }
    });
  }

  if (isSet(env, 'NUKE_COMFYUI_SERVERS')) {
    const list = jsonArray(env, 'NUKE_COMFYUI_SERVERS', warnings, fallbackText);
    if (list === undefined) needSingle = true;
    else if (list.length > 0) nukeServersUsed = true;
    list?.forEach((entry, i) => {
      const origin = `NUKE_COMFYUI_SERVERS[${i}]`;
      if (!isRecord(entry)) {
        warnings.push({
          code: 'invalid_entry',
          source: 'NUKE_COMFYUI_SERVERS',
          message: `${origin} must be an object like {"name":"primary","ip":"10.0.0.5","port":8188}; skipped`,
        });
        return;
      }
      candidates.push({
        origin,
        input: fromNukeShape(entry, origin, warnings, 'NUKE_COMFYUI_SERVERS'),
        rename: { host: 'ip' },
      });
    });
  }

  const numbered = Object.keys(env)
    .map((k) => /^COMFYUI_HOST_(\d+)$/.exec(k))
    .filter((m): m is RegExpExecArray => m !== null && isSet(env, m[0]))
    .sort((a, b) => Number(a[1]) - Number(b[1]));
  for (const m of numbered) {
    const variable = m[0];
    const hp = parseHostPort(env[variable] ?? '');
    if (!hp.ok) {
      warnings.push({
        code: 'invalid_value',
        source: variable,
        message: `${variable}=${JSON.stringify(env[variable])} is not usable: ${hp.message} (expected host:port like 10.0.0.5:8188); skipped`,
      });
      continue;
    }
    candidates.push({ origin: variable, input: { host: hp.host, port: hp.port, tls: hp.tls } });
  }

  const addressSet = isSet(env, 'NUKE_COMFYUI_IP') || isSet(env, 'NUKE_COMFYUI_PORT');
  const useSingle =
    !nukeServersUsed && (addressSet || needSingle || (singleConfigured && candidates.length === 0));
  if (useSingle) {
    candidates.push(singleServer(env, warnings));
  } else {
    for (const v of SINGLE_VARS) {
      if (!isSet(env, v)) continue;
      warnings.push({
        code: 'ignored_variable',
        source: v,
        message: nukeServersUsed
          ? `${v} is ignored because NUKE_COMFYUI_SERVERS is set (it lists every server)`
          : `${v} is ignored: it applies to the single server of NUKE_COMFYUI_IP/NUKE_COMFYUI_PORT, which are not set while other servers are configured`,
      });
    }
  }

  return buildInstances(candidates, warnings, options.now, needSingle);
}

function buildInstances(
  candidates: Candidate[],
  warnings: ConfigWarning[],
  now: string,
  quietSingleDuplicate: boolean,
): EnvInstances {
  const instances: Instance[] = [];
  const origins: Record<string, string> = {};
  const byKey = new Map<string, string>();
  const names = new Set<string>();
  for (const c of candidates) {
    const variable = variableOf(c.origin);
    const host = typeof c.input.host === 'string' ? c.input.host : '';
    const port = typeof c.input.port === 'number' ? c.input.port : DEFAULT_PORT;
    const result = normalizeInstance(c.input, {
      shape: 'create',
      source: 'env',
      now,
      newId: () => envInstanceId(host, port),
    });
    if (!result.ok) {
      warnings.push({
        code: 'invalid_entry',
        source: variable,
        message: `${describeErrors(result.errors, c.origin, c.rename)}; skipped`,
      });
      continue;
    }
    const inst = result.instance;
    const key = hostPortKey(inst.host, inst.port);
    const previous = byKey.get(key);
    if (previous !== undefined) {
      const isFallback = c.origin.startsWith('defaults') || c.origin.startsWith('NUKE_COMFYUI_');
      if (!(quietSingleDuplicate && isFallback)) {
        warnings.push({
          code: 'duplicate_instance',
          source: variable,
          message: `${c.origin} (${formatHostPort(inst.host, inst.port)}) is the same server as ${previous}; ignored`,
        });
      }
      continue;
    }
    if (names.has(inst.name.toLowerCase())) {
      let n = 2;
      while (names.has(`${inst.name}-${n}`.toLowerCase())) n++;
      const renamed = `${inst.name}-${n}`;
      warnings.push({
        code: 'duplicate_instance',
        source: variable,
        message: `${c.origin}: name '${inst.name}' is already used; this server is named '${renamed}'`,
      });
      inst.name = renamed;
    }
    if (origins[inst.id] !== undefined) {
      warnings.push({
        code: 'duplicate_instance',
        source: variable,
        message: `${c.origin}: id '${inst.id}' is already used by ${origins[inst.id]}; ignored`,
      });
      continue;
    }
    byKey.set(key, c.origin);
    names.add(inst.name.toLowerCase());
    origins[inst.id] = c.origin;
    instances.push(inst);
  }
  return { instances, origins, warnings };
}

/**
 * The instance used when nothing is configured anywhere: `default` at 127.0.0.1:8188.
 *
 * @example
 * defaultInstance(new Date().toISOString()).port; // 8188
 */
export function defaultInstance(now: string): Instance {
  const r = normalizeInstance(
    { name: 'default', host: DEFAULT_HOST, port: DEFAULT_PORT },
    { shape: 'create', source: 'env', now, newId: () => envInstanceId(DEFAULT_HOST, DEFAULT_PORT) },
  );
  if (!r.ok) throw new Error('built-in default instance is invalid');
  return r.instance;
}
