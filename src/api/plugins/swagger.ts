import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/**
 * The OpenAPI 3 document, generated from the route schemas, at `/api/v1/openapi.json`, and
 * browsable docs at `/docs`. Must be registered before the routes.
 *
 * @example
 * await registerSwagger(app, { version: '0.1.0' });
 */
export async function registerSwagger(
  app: FastifyInstance,
  options: { version: string },
): Promise<void> {
  // The docs are public, like the document itself.
  app.addHook('onRoute', (route) => {
    if (route.url === '/docs' || route.url.startsWith('/docs/')) {
      route.config = { ...(route.config ?? {}), access: 'public' };
    }
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'comfy-cluster',
        description:
          'One address for many ComfyUI servers. Errors answer `{ "error": { "code", "message", "details" } }`; times are ISO-8601; JSON is snake_case.',
        version: options.version,
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'an API key (cck_...)' },
        },
      },
      tags: [
        { name: 'instances', description: 'ComfyUI instances of the fleet (admin)' },
        { name: 'events', description: 'live events over SSE and WebSocket' },
        { name: 'config', description: 'configuration (admin)' },
        { name: 'operations', description: 'health, readiness and metrics' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true } });
  app.get(
    '/api/v1/openapi.json',
    { config: { access: 'public', rateLimit: false }, schema: { hide: true } },
    async () => app.swagger(),
  );
}
