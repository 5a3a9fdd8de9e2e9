import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiKeyRecord, ApiKeyRepository } from '../../store/index.js';
import { ApiError } from '../errors.js';
import { ANONYMOUS_ADMIN, allows, type Principal } from './principal.js';

/**
 * `required`: every non-public route needs a valid key (the default when listening beyond this
 * machine). `auto`: required as soon as one active key exists, else everyone is the anonymous
 * admin (loopback quick start). `off`: no authentication at all.
 */
export type AuthMode = 'auto' | 'required' | 'off';

/** Options of {@link installAuth}. */
export interface AuthOptions {
  mode: AuthMode;
  keys: Pick<ApiKeyRepository, 'authenticate' | 'countActive' | 'touch'>;
  /** How long "is there an active key?" is cached in `auto` mode (default 1 000 ms). */
  activeKeyCacheMs?: number;
  /**
   * How long a successful key lookup is reused (default 1 000 ms): a revoked key stops working
   * within this time.
   */
  keyCacheMs?: number;
  /** A key's last use is written at most this often (default 60 000 ms). */
  touchIntervalMs?: number;
  clock?: () => number;
}

/** What the auth hooks need to know about the request, beyond `request.principal`. */
const failed = new WeakSet<FastifyRequest>();

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m?.[1] ?? header.trim();
  }
  // Browsers cannot set headers on EventSource / WebSocket, and many ComfyUI clients cannot set
  // any: those routes accept ?access_token= (or ?token=).
  if (request.routeOptions.config?.acceptsQueryToken) {
    const q = request.query as Record<string, unknown> | undefined;
    const t = q?.access_token ?? q?.token;
    if (typeof t === 'string' && t !== '') return t;
  }
  return undefined;
}

function principalOf(record: ApiKeyRecord): Principal {
  return { key_id: record.id, role: record.role, name: record.name, anonymous: false };
}

/**
 * Authentication and route-level authorization for API keys sent as
 * `Authorization: Bearer <key>`. The onRequest hook identifies the caller
 * (`request.principal`); the preParsing hook (after rate limiting, before the body is read)
 * answers 401 `unauthorized` or 403 `forbidden` according to the route's `config.access`
 * (`public`, `user` or `admin`, default `admin`).
 *
 * @example
 * installAuth(app, { mode: 'auto', keys: apiKeyRepository(store) });
 * app.get('/api/v1/me', { config: { access: 'user' } }, (req) => req.principal);
 */
export function installAuth(app: FastifyInstance, options: AuthOptions): void {
  const clock = options.clock ?? Date.now;
  const cacheMs = options.activeKeyCacheMs ?? 1_000;
  const touchMs = options.touchIntervalMs ?? 60_000;
  const keyCacheMs = options.keyCacheMs ?? 1_000;
  const touched = new Map<string, number>();
  const known = new Map<string, { at: number; record: ApiKeyRecord }>();
  const lookup = async (token: string): Promise<ApiKeyRecord | undefined> => {
    const now = clock();
    const hit = known.get(token);
    if (hit && now - hit.at <= keyCacheMs) return hit.record;
    const record = await options.keys.authenticate(token);
    if (!record) {
      known.delete(token);
      return undefined;
    }
    // Bounded: only valid keys get here, but never let the map grow without limit.
    if (known.size >= 10_000) known.clear();
    known.set(token, { at: now, record });
    return record;
  };
  let activeCache: { at: number; enabled: Promise<boolean> } | undefined;

  const authEnabled = (): Promise<boolean> | boolean => {
    if (options.mode === 'off') return false;
    if (options.mode === 'required') return true;
    const now = clock();
    if (!activeCache || now - activeCache.at > cacheMs) {
      const enabled = options.keys.countActive().then(
        (n) => n > 0,
        // Unknown: stay closed.
        () => true,
      );
      activeCache = { at: now, enabled };
    }
    return activeCache.enabled;
  };

  const touch = (request: FastifyRequest, id: string): void => {
    const now = clock();
    const last = touched.get(id);
    if (last !== undefined && now - last < touchMs) return;
    touched.set(id, now);
    options.keys.touch(id, now).catch((err: unknown) => {
      request.log.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'could not record API key use',
      );
    });
  };

  app.decorateRequest('principal', null);

  app.addHook('onRequest', async (request) => {
    if (options.mode === 'off') {
      request.principal = ANONYMOUS_ADMIN;
      return;
    }
    // Public routes (health probes) do not pay for a key lookup.
    if (request.routeOptions.config?.access === 'public') return;
    const token = bearerToken(request);
    if (token !== undefined) {
      const record = await lookup(token);
      if (record) {
        request.principal = principalOf(record);
        touch(request, record.id);
      } else {
        failed.add(request);
      }
      return;
    }
    if (!(await authEnabled())) request.principal = ANONYMOUS_ADMIN;
  });

  app.addHook('preParsing', async (request, _reply, payload) => {
    if (request.is404) return payload;
    const access = request.routeOptions.config?.access ?? 'admin';
    if (access === 'public') return payload;
    if (failed.has(request)) {
      throw new ApiError('unauthorized', 'the API key is not valid (unknown or revoked)');
    }
    if (!request.principal) throw new ApiError('unauthorized');
    if (!allows(request.principal, access)) {
      throw new ApiError(
        'forbidden',
        `this needs an ${access} key; the key${request.principal.name ? ` '${request.principal.name}'` : ''} has the role ${request.principal.role}`,
      );
    }
    return payload;
  });
}
