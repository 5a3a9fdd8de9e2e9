/** `/api/v1/config/...`: configuration problems the gateway started with (admin). */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { errorResponses } from '../../schemas.js';

const WarningSchema = Type.Object({
  code: Type.String(),
  source: Type.String({ description: 'variable, flag or file' }),
  message: Type.String(),
  position: Type.Optional(
    Type.Object({ offset: Type.Integer(), line: Type.Integer(), column: Type.Integer() }),
  ),
});

/**
 * Registers the config routes.
 *
 * @example
 * await app.register(configRoutes);
 */
export async function configRoutes(app: FastifyInstance): Promise<void> {
  const { registry } = app.api.deps;
  app.get(
    '/api/v1/config/warnings',
    {
      config: { logLevel: 'debug' },
      schema: {
        tags: ['config'],
        security: [{ bearerAuth: [] }],
        summary: 'Configuration warnings: bad environment values, file migration, duplicates',
        response: {
          200: Type.Object({ warnings: Type.Array(WarningSchema) }),
          ...errorResponses(),
        },
      },
    },
    async () => ({ warnings: registry.warnings }),
  );
}
