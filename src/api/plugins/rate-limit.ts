import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';

/** Requests per window, per API key (per client IP for calls without a key). */
export interface RateLimitOptions {
  max: number;
  windowMs: number;
}

/**
 * Rate limiting per API key, or per IP without one. Runs after authentication (so it knows the
 * key) and before authorization and body parsing. Routes opt out with `config.rateLimit: false`
 * (health, metrics, event streams). Must be registered before the routes.
 *
 * @example
 * await registerRateLimit(app, { max: 600, windowMs: 60_000 });
 */
export async function registerRateLimit(
  app: FastifyInstance,
  options: RateLimitOptions | false | undefined,
): Promise<void> {
  if (!options) return;
  await app.register(rateLimit, {
    global: true,
    max: options.max,
    timeWindow: options.windowMs,
    keyGenerator: (request) =>
      request.principal?.key_id ? `key:${request.principal.key_id}` : `ip:${request.ip}`,
    errorResponseBuilder: (_request, context) =>
      new ApiError('rate_limited', `too many requests; retry in ${context.after}`, {
        limit: context.max,
        retry_after_ms: context.ttl,
      }),
  });
}
