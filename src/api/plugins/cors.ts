import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

/**
 * CORS for browser clients on other origins. Off unless origins are given (`*` allows any).
 *
 * @example
 * await registerCors(app, ['https://dashboard.example.com']);
 */
export async function registerCors(
  app: FastifyInstance,
  origins: readonly string[] | undefined,
): Promise<void> {
  if (!origins || origins.length === 0) return;
  await app.register(cors, {
    origin: origins.includes('*') ? '*' : [...origins],
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['authorization', 'content-type', 'last-event-id', 'x-request-id'],
    exposedHeaders: [
      'x-request-id',
      'location',
      'retry-after',
      'x-ratelimit-limit',
      'x-ratelimit-remaining',
      'x-ratelimit-reset',
    ],
    maxAge: 600,
  });
}
