import type {
  AuthType,
  FieldError,
  InstanceAuth,
  InstanceCreate,
  InstanceUpdate,
  InstanceView,
} from '../../api/index.js';

/** The editor's state: what the inputs hold (strings for numbers, rows for maps). */
export interface EditorForm {
  name: string;
  description: string;
  host: string;
  port: string;
  tls: boolean;
  kind: 'remote' | 'managed';
  auth_type: '' | AuthType;
  /** True once the user touched the credentials (editing keeps stored ones otherwise). */
  auth_changed: boolean;
  auth_token: string;
  auth_username: string;
  auth_password: string;
  auth_header_name: string;
  auth_header_value: string;
  gpu_device: string;
  env_vars: Array<{ key: string; value: string }>;
  custom_nodes_path: string;
  max_concurrent: string;
  prefetch: string;
  timeout_ms: string;
  priority: string;
  tags: string;
  path_map: Array<{ local: string; remote: string }>;
  enabled: boolean;
  auto_start: boolean;
}

/** Field keys errors attach to: form keys, plus `env_vars.<row>` / `path_map.<row>.<side>`. */
export type FieldErrors = Record<string, string[]>;

/** A blank form with the model's defaults. */
export function emptyForm(): EditorForm {
  return {
    name: '',
    description: '',
    host: '127.0.0.1',
    port: '8188',
    tls: false,
    kind: 'remote',
    auth_type: '',
    auth_changed: false,
    auth_token: '',
    auth_username: '',
    auth_password: '',
    auth_header_name: '',
    auth_header_value: '',
    gpu_device: '',
    env_vars: [],
    custom_nodes_path: '',
    max_concurrent: '1',
    prefetch: '1',
    timeout_ms: '300000',
    priority: '1',
    tags: '',
    path_map: [],
    enabled: true,
    auto_start: false,
  };
}

/**
 * The form for editing an existing instance (credentials are never returned: only their type).
 *
 * @example
 * formFromInstance(instance).port; // '8188'
 */
export function formFromInstance(i: InstanceView): EditorForm {
  return {
    ...emptyForm(),
    name: i.name,
    description: i.description ?? '',
    host: i.host,
    port: String(i.port),
    tls: i.tls,
    kind: i.kind,
    auth_type: i.auth?.type ?? '',
    gpu_device: i.gpu_device ?? '',
    env_vars: Object.entries(i.env_vars ?? {}).map(([key, value]) => ({ key, value })),
    custom_nodes_path: i.custom_nodes_path ?? '',
    max_concurrent: String(i.max_concurrent),
    prefetch: String(i.prefetch),
    timeout_ms: String(i.timeout_ms),
    priority: String(i.priority),
    tags: (i.tags ?? []).join(', '),
    path_map: (i.path_map ?? []).map((m) => ({ ...m })),
    enabled: i.enabled,
    auto_start: i.auto_start,
  };
}

function add(errors: FieldErrors, key: string, message: string): void {
  const list = errors[key] ?? [];
  if (!list.includes(message)) list.push(message);
  errors[key] = list;
}

// Only what is needed to build the JSON is checked here; ranges and the rest are the gateway's
// to judge, so the user sees its messages (mapped onto the inputs).
function intField(errors: FieldErrors, key: string, raw: string): number | undefined {
  const s = raw.trim();
  if (s === '') return undefined;
  if (!/^-?\d+$/.test(s)) {
    add(errors, key, 'must be a whole number');
    return undefined;
  }
  return Number(s);
}

/** Splits `a, b c` into unique tags. */
export function parseTags(raw: string): string[] {
  return [
    ...new Set(
      raw
        .split(/[,\s]+/)
        .map((t) => t.trim())
        .filter(Boolean),
    ),
  ];
}

function authOf(f: EditorForm): InstanceAuth | null {
  switch (f.auth_type) {
    case 'bearer':
      return { type: 'bearer', token: f.auth_token };
    case 'basic':
      return { type: 'basic', username: f.auth_username, password: f.auth_password };
    case 'header':
      return { type: 'header', name: f.auth_header_name, value: f.auth_header_value };
    default:
      return null;
  }
}

/**
 * The request body for the form, and the problems the browser can see before asking the
 * gateway (the gateway's own validation is the authority; its messages are shown the same way).
 *
 * @example
 * const { body, errors } = formToPayload(form, null);
 */
export function formToPayload(
  f: EditorForm,
  editing: InstanceView | null,
): { body: InstanceCreate | InstanceUpdate; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const body: Omit<InstanceCreate, 'auth'> & { auth?: InstanceAuth | null } = {
    host: f.host.trim(),
  };
  if (!body.host) add(errors, 'host', 'is required');
  if (/^[a-z]+:\/\//i.test(body.host))
    add(errors, 'host', 'give the host name only, without http://');
  if (f.name.trim()) body.name = f.name.trim();
  else if (editing) add(errors, 'name', 'is required');
  body.description = f.description;
  const port = intField(errors, 'port', f.port);
  if (port !== undefined) body.port = port;
  else if (!f.port.trim()) add(errors, 'port', 'is required');
  body.tls = f.tls;
  body.kind = f.kind;
  body.gpu_device = f.gpu_device.trim() || null;
  body.custom_nodes_path = f.custom_nodes_path.trim() || null;
  const env: Record<string, string> = {};
  f.env_vars.forEach((row, i) => {
    const k = row.key.trim();
    if (!k && !row.value) return;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
      add(errors, `env_vars.${i}`, 'name: letters, digits and _ (not starting with a digit)');
    } else if (k in env) add(errors, `env_vars.${i}`, `${k} is given twice`);
    env[k] = row.value;
  });
  body.env_vars = env;
  const mc = intField(errors, 'max_concurrent', f.max_concurrent);
  if (mc !== undefined) body.max_concurrent = mc;
  const pf = intField(errors, 'prefetch', f.prefetch);
  if (pf !== undefined) body.prefetch = pf;
  const to = intField(errors, 'timeout_ms', f.timeout_ms);
  if (to !== undefined) body.timeout_ms = to;
  const pr = intField(errors, 'priority', f.priority);
  if (pr !== undefined) body.priority = pr;
  body.tags = parseTags(f.tags);
  const paths: Array<{ local: string; remote: string }> = [];
  f.path_map.forEach((row, i) => {
    if (!row.local && !row.remote) return;
    if (!row.local) add(errors, `path_map.${i}.local`, 'is required');
    if (!row.remote) add(errors, `path_map.${i}.remote`, 'is required');
    paths.push({ local: row.local, remote: row.remote });
  });
  body.path_map = paths;
  body.enabled = f.enabled;
  body.auto_start = f.auto_start;
  const auth = authOf(f);
  if (!editing || f.auth_changed || (editing.auth?.type ?? '') !== f.auth_type) {
    if (auth) body.auth = auth;
    else if (editing?.auth) body.auth = null;
  }
  if (auth?.type === 'bearer' && !auth.token && 'auth' in body)
    add(errors, 'auth_token', 'is required');
  if (auth?.type === 'basic' && !auth.username && 'auth' in body)
    add(errors, 'auth_username', 'is required');
  if (auth?.type === 'header' && !auth.name && 'auth' in body)
    add(errors, 'auth_header_name', 'is required');
  return { body, errors };
}

/**
 * Which input a server field path belongs to: `port` → `port`, `body.path_map[1].remote` →
 * `path_map.1.remote`, `env_vars.FOO` → the row holding FOO, `auth.token` → `auth_token`,
 * anything unknown → `form` (shown above the buttons).
 *
 * @example
 * fieldKeyForPath('path_map[0].local', form); // 'path_map.0.local'
 */
export function fieldKeyForPath(path: string, form: EditorForm): string {
  let p = path.trim();
  if (p.startsWith('/')) p = p.slice(1).replace(/\//g, '.');
  p = p.replace(/^(body|instance|request)\./, '');
  const head = /^([a-z_]+)/.exec(p)?.[1] ?? '';
  const rest = p.slice(head.length);
  switch (head) {
    case 'env_vars': {
      const name = /^(?:\.|\[["']?)([^\]"']+)/.exec(rest)?.[1];
      const row = name ? form.env_vars.findIndex((r) => r.key.trim() === name) : -1;
      return row >= 0 ? `env_vars.${row}` : 'env_vars';
    }
    case 'path_map': {
      const m = /^(?:\[(\d+)\]|\.(\d+))(?:\.(local|remote))?/.exec(rest);
      const idx = m?.[1] ?? m?.[2];
      if (idx === undefined) return 'path_map';
      return m?.[3] ? `path_map.${idx}.${m[3]}` : `path_map.${idx}.local`;
    }
    case 'auth': {
      const sub = /^\.(\w+)/.exec(rest)?.[1];
      if (sub === 'token') return 'auth_token';
      if (sub === 'username') return 'auth_username';
      if (sub === 'password') return 'auth_password';
      if (sub === 'name') return 'auth_header_name';
      if (sub === 'value') return 'auth_header_value';
      return 'auth_type';
    }
    case 'tags':
      return 'tags';
    case '':
      return 'form';
    default:
      return head in form ? head : 'form';
  }
}

/**
 * The gateway's field errors grouped by input.
 *
 * @example
 * mapServerErrors([{ path: 'port', message: 'must be between 1 and 65535, got 70000' }], form);
 * // { port: ['must be between 1 and 65535, got 70000'] }
 */
export function mapServerErrors(errors: readonly FieldError[], form: EditorForm): FieldErrors {
  const out: FieldErrors = {};
  for (const e of errors) {
    const key = fieldKeyForPath(e.path, form);
    add(out, key, key === 'form' && e.path ? `${e.path}: ${e.message}` : e.message);
  }
  return out;
}
