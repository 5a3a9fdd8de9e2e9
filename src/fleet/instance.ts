import { type Static, type TSchema, Type } from 'typebox';

/**
 * The instance model. These TypeBox schemas are the single source of the fields, their types,
 * defaults and limits: the config file, imports, the API and the env parsers all validate
 * against them. JSON is snake_case throughout.
 */

/** `managed`: started by the supervisor; `remote`: someone else runs it. */
export const INSTANCE_KINDS = ['remote', 'managed'] as const;
export type InstanceKind = (typeof INSTANCE_KINDS)[number];

/** Where an instance was defined. `env` instances are never written to the config file. */
export const INSTANCE_SOURCES = ['file', 'env', 'api'] as const;
export type InstanceSource = (typeof INSTANCE_SOURCES)[number];

/** Lifecycle status (DESIGN vocabulary). `paused` = drain: finish what runs, take nothing new. */
export const INSTANCE_STATUSES = [
  'stopped',
  'starting',
  'running',
  'paused',
  'stopping',
  'error',
] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

/** Letters, digits, `_ - . :`; starts with a letter or digit; at most 128 characters. */
export const INSTANCE_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$';
/** Names of environment variables passed to a managed instance. */
export const ENV_VAR_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';

/** Default ComfyUI port. */
export const DEFAULT_PORT = 8188;
/** Default host: the local machine. */
export const DEFAULT_HOST = '127.0.0.1';

/** One shared-file-system prefix mapping, e.g. `{ local: 'U:/', remote: '/home/me/ComfyUI/' }`. */
export const PathMappingSchema = Type.Object(
  {
    local: Type.String({ minLength: 1, description: 'prefix of paths on the client side' }),
    remote: Type.String({ minLength: 1, description: 'the same place as the instance sees it' }),
  },
  { additionalProperties: false },
);
export type PathMapping = Static<typeof PathMappingSchema>;

/** Credentials for an instance behind an authenticating proxy. Secret: never returned or logged. */
export const InstanceAuthSchema = Type.Union([
  Type.Object(
    { type: Type.Literal('bearer'), token: Type.String({ minLength: 1 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('basic'),
      username: Type.String({ minLength: 1 }),
      password: Type.String(),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('header'),
      name: Type.String({ minLength: 1, pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }),
      value: Type.String(),
    },
    { additionalProperties: false },
  ),
]);
export type InstanceAuth = Static<typeof InstanceAuthSchema>;
/** The auth types. */
export const AUTH_TYPES = ['bearer', 'basic', 'header'] as const;

// Every field once, with its type, limits and default.
const fields = {
  id: Type.String({ pattern: INSTANCE_ID_PATTERN, description: 'stable identifier' }),
  name: Type.String({ minLength: 1, maxLength: 100, description: 'unique, human-readable' }),
  description: Type.String({ maxLength: 2000, default: '' }),
  host: Type.String({ minLength: 1, maxLength: 255, description: 'hostname, IPv4 or IPv6' }),
  port: Type.Integer({ minimum: 1, maximum: 65535, default: DEFAULT_PORT }),
  tls: Type.Boolean({ default: false, description: 'https/wss instead of http/ws' }),
  auth: Type.Optional(InstanceAuthSchema),
  kind: Type.Enum(INSTANCE_KINDS, { default: 'remote' }),
  gpu_device: Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
    default: null,
    description: "GPU for a managed instance, e.g. '0', 'cuda:1'",
  }),
  env_vars: Type.Record(Type.String({ pattern: ENV_VAR_NAME_PATTERN }), Type.String(), {
    default: {},
  }),
  custom_nodes_path: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null }),
  max_concurrent: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),
  prefetch: Type.Integer({ minimum: 0, maximum: 64, default: 1 }),
  timeout_ms: Type.Integer({ minimum: 1000, maximum: 7 * 24 * 3600 * 1000, default: 300_000 }),
  priority: Type.Integer({
    minimum: -1000,
    maximum: 1000,
    default: 1,
    description: 'placement preference; lower is preferred (1 = first choice)',
  }),
  tags: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
    default: [],
    uniqueItems: true,
  }),
  enabled: Type.Boolean({ default: true, description: 'false: no work is routed here' }),
  auto_start: Type.Boolean({ default: false }),
  path_map: Type.Array(PathMappingSchema, { default: [] }),
  created_at: Type.String({ description: 'ISO-8601' }),
  last_used_at: Type.Union([Type.String(), Type.Null()], { default: null }),
  source: Type.Enum(INSTANCE_SOURCES),
};

const { id, name, host, created_at, last_used_at, source, ...settable } = fields;

/** A complete instance as the registry holds it (and the config file stores it). */
export const InstanceSchema = Type.Object(fields, { additionalProperties: false });
export type Instance = Static<typeof InstanceSchema>;

/**
 * An instance entry as found in the config file or an import: only `host` is required; the
 * rest takes its default (id: `<host>-<port>`, name: `host:port`, created_at: now, source: `file`).
 */
export const InstanceEntrySchema = Type.Object(
  {
    ...Type.Partial(Type.Object({ id, name, created_at, last_used_at, source, ...settable }))
      .properties,
    host,
  },
  { additionalProperties: false },
);
export type InstanceEntry = Static<typeof InstanceEntrySchema>;

/** What a client may send to create an instance (server-managed fields are not accepted). */
export const InstanceCreateSchema = Type.Object(
  { ...Type.Partial(Type.Object({ id, name, ...settable })).properties, host },
  { additionalProperties: false },
);
export type InstanceCreate = Static<typeof InstanceCreateSchema>;

/** The same field schemas without their defaults. */
function withoutDefaults<T extends Record<string, TSchema>>(properties: T): T {
  const stripped: Record<string, TSchema> = {};
  for (const [key, schema] of Object.entries(properties)) {
    const { default: _default, ...rest } = schema as TSchema & { default?: unknown };
    stripped[key] = rest as TSchema;
  }
  return stripped as T;
}

/**
 * A partial update. `auth: null` removes the credentials. `id` and `source` cannot change.
 * No defaults: validation fills them in, and a field the patch leaves out must keep its value.
 */
export const InstanceUpdateSchema = Type.Object(
  {
    ...Type.Partial(Type.Object(withoutDefaults({ name, host, ...settable }))).properties,
    auth: Type.Optional(Type.Union([InstanceAuthSchema, Type.Null()])),
  },
  { additionalProperties: false },
);
export type InstanceUpdate = Static<typeof InstanceUpdateSchema>;

/** The fields a user may set (everything but id, created_at, last_used_at, source). */
export const SETTABLE_FIELDS = ['name', 'host', ...Object.keys(settable)] as const;
