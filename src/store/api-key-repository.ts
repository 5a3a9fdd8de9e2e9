import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Generated, Kysely, Selectable } from 'kysely';
import type { Database } from './schema.js';
import type { Store } from './store.js';

/** Roles of API keys: `user` submits and reads its own work, `admin` may do everything. */
export const API_KEY_ROLES = ['user', 'admin'] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

/** One API key as stored: never the key itself, only its sha256 and a short prefix. */
export interface ApiKeyTable {
  id: string;
  name: string | null;
  role: string;
  /** The first characters of the key (`cck_` + 8), shown in listings. */
  prefix: string;
  /** sha256 of the whole key, hex. */
  key_hash: string;
  created_at: number;
  last_used_at: Generated<number | null>;
  revoked_at: Generated<number | null>;
}

type ApiKeyRow = Selectable<ApiKeyTable>;

/** An API key as listings show it (no hash). Times in ms since epoch. */
export interface ApiKeyRecord {
  id: string;
  name: string | null;
  role: ApiKeyRole;
  prefix: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** What {@link ApiKeyRepository.create} returns: the record and the key, shown this once. */
export interface CreatedApiKey {
  record: ApiKeyRecord;
  key: string;
}

/** Every key starts with this, so a leaked one is easy to recognise (secret scanners, logs). */
export const API_KEY_PREFIX = 'cck_';
const PREFIX_LENGTH = API_KEY_PREFIX.length + 8;
/** `cck_` + 43 base64url characters (32 random bytes). */
const KEY_PATTERN = /^cck_[A-Za-z0-9_-]{43}$/;

/** sha256 of a key, hex. A key has 256 random bits, so no salt or slow hash is needed. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function isRole(v: string): v is ApiKeyRole {
  return (API_KEY_ROLES as readonly string[]).includes(v);
}

function toRecord(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    // A role this version does not know gets the least privilege.
    role: isRole(row.role) ? row.role : 'user',
    prefix: row.prefix,
    created_at: Number(row.created_at),
    last_used_at: row.last_used_at === null ? null : Number(row.last_used_at),
    revoked_at: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

/**
 * The gateway's API keys. Keys are random (`cck_` + 32 bytes base64url); only their sha256 is
 * stored. {@link authenticate} finds the candidates by prefix and compares hashes in constant
 * time.
 *
 * @example
 * const keys = apiKeyRepository(store);
 * const { key, record } = await keys.create({ role: 'admin', name: 'ci' }); // print `key` once
 * (await keys.authenticate(key))?.role; // 'admin'
 * await keys.revoke(record.id);
 */
export class ApiKeyRepository {
  readonly #db: Kysely<Database>;
  readonly #clock: () => number;

  constructor(db: Kysely<Database>, options: { clock?: () => number } = {}) {
    this.#db = db;
    this.#clock = options.clock ?? Date.now;
  }

  /** Creates a key. The returned `key` is not stored anywhere: show it to the user once. */
  async create(input: { role: ApiKeyRole; name?: string | null }): Promise<CreatedApiKey> {
    if (!isRole(input.role)) throw new TypeError(`unknown role '${String(input.role)}'`);
    const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const row = {
      id: `key_${randomBytes(6).toString('hex')}`,
      name: input.name ?? null,
      role: input.role,
      prefix: key.slice(0, PREFIX_LENGTH),
      key_hash: hashApiKey(key),
      created_at: this.#clock(),
    };
    await this.#db.insertInto('api_keys').values(row).execute();
    const { key_hash: _hash, ...shown } = row;
    return { key, record: { ...shown, role: input.role, last_used_at: null, revoked_at: null } };
  }

  /**
   * The active (not revoked) key matching `key`, or undefined. Malformed input is simply not
   * found; the hash comparison is constant-time.
   */
  async authenticate(key: string): Promise<ApiKeyRecord | undefined> {
    if (!KEY_PATTERN.test(key)) return undefined;
    const rows = await this.#db
      .selectFrom('api_keys')
      .selectAll()
      .where('prefix', '=', key.slice(0, PREFIX_LENGTH))
      .execute();
    const wanted = Buffer.from(hashApiKey(key), 'hex');
    let found: ApiKeyRow | undefined;
    for (const row of rows) {
      const stored = Buffer.from(row.key_hash, 'hex');
      if (stored.length === wanted.length && timingSafeEqual(stored, wanted)) found = row;
    }
    if (!found || found.revoked_at !== null) return undefined;
    return toRecord(found);
  }

  /** Every key, newest first (revoked ones included). */
  async list(): Promise<ApiKeyRecord[]> {
    const rows = await this.#db
      .selectFrom('api_keys')
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute();
    return rows.map(toRecord);
  }

  /** One key by id, or by its displayed prefix when that is unique; undefined otherwise. */
  async find(ref: string): Promise<ApiKeyRecord | undefined> {
    const byId = await this.#db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', ref)
      .executeTakeFirst();
    if (byId) return toRecord(byId);
    if (!ref.startsWith(API_KEY_PREFIX) || ref.length < PREFIX_LENGTH) return undefined;
    const byPrefix = await this.#db
      .selectFrom('api_keys')
      .selectAll()
      .where('prefix', '=', ref.slice(0, PREFIX_LENGTH))
      .execute();
    const [only] = byPrefix;
    return byPrefix.length === 1 && only ? toRecord(only) : undefined;
  }

  /** Revokes a key (by id or unique prefix); later uses fail. Returns the record, or undefined. */
  async revoke(ref: string): Promise<ApiKeyRecord | undefined> {
    const record = await this.find(ref);
    if (!record) return undefined;
    if (record.revoked_at !== null) return record;
    const at = this.#clock();
    await this.#db
      .updateTable('api_keys')
      .set({ revoked_at: at })
      .where('id', '=', record.id)
      .where('revoked_at', 'is', null)
      .execute();
    return { ...record, revoked_at: at };
  }

  /** Records a use of the key (callers throttle this; it is a write). */
  async touch(id: string, at: number = this.#clock()): Promise<void> {
    await this.#db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
  }

  /** Keys that are not revoked. */
  async countActive(): Promise<number> {
    const row = await this.#db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

/**
 * The API key repository over an open store.
 *
 * @example
 * const keys = apiKeyRepository(store);
 * await keys.countActive();
 */
export function apiKeyRepository(
  store: Store,
  options: { clock?: () => number } = {},
): ApiKeyRepository {
  return new ApiKeyRepository(store.db, options);
}
