import type { ApiKeyRole } from '../../store/index.js';

/** Who is calling: an API key (its id and role), or the anonymous admin when auth is off. */
export interface Principal {
  /** The API key's id; null for the anonymous admin. */
  key_id: string | null;
  role: ApiKeyRole;
  /** The key's name, if it has one. */
  name: string | null;
  anonymous: boolean;
}

/**
 * What a route requires: `public` (no key, e.g. /livez), `user` (any valid key) or `admin`.
 * Routes that do not say require `admin`.
 */
export type RouteAccess = 'public' | 'user' | 'admin';

/** The caller when authentication is off: everything is allowed. */
export const ANONYMOUS_ADMIN: Readonly<Principal> = Object.freeze({
  key_id: null,
  role: 'admin',
  name: null,
  anonymous: true,
});

/**
 * True when `principal` may use a route that requires `access`.
 *
 * @example
 * allows({ ...ANONYMOUS_ADMIN }, 'admin'); // true
 */
export function allows(principal: Principal | null, access: RouteAccess): boolean {
  if (access === 'public') return true;
  if (!principal) return false;
  return access === 'user' || principal.role === 'admin';
}
