/**
 * `GET /metrics`: Prometheus text, or the seed's JSON figures with `Accept: application/json`.
 */
import type { FastifyInstance } from 'fastify';
import { errorResponses } from '../../schemas.js';

/** Prefers JSON only when the client asks for it over text (Prometheus sends text/plain or openmetrics). */
function wantsJson(accept: string | undefined): boolean {
  if (!accept) return false;
  const types = accept.split(',').map((t) => t.split(';')[0]?.trim().toLowerCase());
  const json = types.indexOf('application/json');
  if (json < 0) return false;
  const text = types.findIndex((t) => t === 'text/plain' || t === 'application/openmetrics-text');
  return text < 0 || json < text;
}

/**
 * Registers `/metrics`.
 *
 * @example
 * await app.register(metricsRoutes);
 */
export async function metricsRoutes(app: FastifyInstance): Promise<void> {
  const { metrics } = app.api;
  app.get(
    '/metrics',
    {
      config: { access: 'user', rateLimit: false },
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics; the seed JSON with Accept: application/json',
        description:
          'Prometheus text exposition by default. With `Accept: application/json`: `{ uptime (ms), jobsProcessed, avgProcessingTime (ms), errorRate, instanceStats: { "host:port": { jobsProcessed, totalTime, errors } } }`.',
        produces: ['text/plain', 'application/json'],
        response: { ...errorResponses() },
      },
    },
    async (request, reply) => {
      if (wantsJson(request.headers.accept)) {
        return reply.type('application/json; charset=utf-8').send(JSON.stringify(metrics.json()));
      }
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    },
  );
}
