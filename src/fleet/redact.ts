import type { Instance, InstanceAuth } from './instance.js';

/** What is shown of credentials: their type only. */
export interface RedactedAuth {
  type: InstanceAuth['type'];
  redacted: true;
}

/** An instance as every output path shows it: `auth` reduced to its type. */
export type PublicInstance = Omit<Instance, 'auth'> & { auth: RedactedAuth | null };

/**
 * Credentials without the secret: `{ type: 'bearer', redacted: true }`, or null.
 *
 * @example
 * redactAuth({ type: 'basic', username: 'u', password: 'p' }); // { type: 'basic', redacted: true }
 */
export function redactAuth(auth: InstanceAuth | undefined): RedactedAuth | null {
  return auth ? { type: auth.type, redacted: true } : null;
}

/**
 * The instance for API answers, events and logs: a copy with the secret removed.
 *
 * @example
 * publicInstance(instance).auth; // { type: 'bearer', redacted: true }
 */
export function publicInstance(instance: Instance): PublicInstance {
  const { auth, ...rest } = instance;
  return structuredClone({ ...rest, auth: redactAuth(auth) });
}

const SECRET_KEY = /^(auth|authorization|token|password|secret|api[_-]?key|cookie)$/i;

/**
 * Deep copy for logging with secret-looking keys replaced by `'[redacted]'` (an `auth` object
 * keeps its `type`). Cycles are cut.
 *
 * @example
 * log.info(redactSecrets({ instance })); // instance.auth -> { type: 'bearer', redacted: true }
 */
export function redactSecrets(value: unknown): unknown {
  const seen = new WeakSet<object>();
  const walk = (v: unknown, key: string | undefined): unknown => {
    if (key !== undefined && SECRET_KEY.test(key)) {
      if (key.toLowerCase() === 'auth') {
        if (v === null || v === undefined) return v;
        const type = (v as { type?: unknown }).type;
        return typeof type === 'string' ? { type, redacted: true } : '[redacted]';
      }
      return v === null || v === undefined ? v : '[redacted]';
    }
    if (v === null || typeof v !== 'object') return v;
    if (seen.has(v)) return '[circular]';
    seen.add(v);
    if (Array.isArray(v)) return v.map((x) => walk(x, undefined));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x, k);
    return out;
  };
  return walk(value, undefined);
}
