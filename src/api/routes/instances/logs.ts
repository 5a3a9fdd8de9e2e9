/**
 * `GET /api/v1/instances/{id}/logs`: the last lines a managed instance printed (stdout, stderr
 * and the supervisor's notes), read from its rotating log on disk, rotated files included.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { RotatingLog } from '../../../supervisor/index.js';
import { ApiError } from '../../errors.js';
import { errorResponses } from '../../schemas.js';
import { IdParams } from './schemas.js';

/** Lines answered when `lines` is not given, and the most one request may ask for. */
export const LOG_LINES_DEFAULT = 200;
export const LOG_LINES_MAX = 5000;

const LogsQuery = Type.Object({
  lines: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: LOG_LINES_MAX,
      default: LOG_LINES_DEFAULT,
      description: `how many of the last lines (default ${LOG_LINES_DEFAULT}, at most ${LOG_LINES_MAX})`,
    }),
  ),
});

const LogsSchema = Type.Object({
  instance_id: Type.String(),
  name: Type.String(),
  lines: Type.Array(Type.String(), {
    description: 'oldest first, each "<ISO time> <stdout|stderr|supervisor> <text>"',
  }),
});

/**
 * Registers the logs route of managed instances.
 *
 * @example
 * await app.register(instanceLogsRoute);
 * // GET /api/v1/instances/comfyui-gpu0/logs?lines=50
 */
export async function instanceLogsRoute(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = app.api;
  app.get(
    '/api/v1/instances/:id/logs',
    {
      config: { logLevel: 'debug' },
      schema: {
        tags: ['instances'],
        security: [{ bearerAuth: [] }],
        summary: 'The last lines a managed instance printed (stdout, stderr, supervisor notes)',
        params: IdParams,
        querystring: LogsQuery,
        response: { 200: LogsSchema, ...errorResponses(400, 404, 409) },
      },
    },
    async (request) => {
      const view = deps.registry.resolve(request.params.id);
      if (view.kind !== 'managed') {
        throw new ApiError(
          'not_managed',
          `instance '${view.name}' is remote: its output is not captured here; read the logs where it runs`,
        );
      }
      const n = request.query.lines ?? LOG_LINES_DEFAULT;
      const state = deps.supervisor
        ?.states()
        .find((s) => s.name === view.id || s.name === view.name);
      // Read from disk: the files outlive restarts of the instance and of the gateway.
      const lines = state
        ? new RotatingLog({ file: state.logFile })
            .readTail(n)
            .map((l) =>
              l.time > 0 ? `${new Date(l.time).toISOString()} ${l.stream} ${l.text}` : l.text,
            )
        : [];
      return { instance_id: view.id, name: view.name, lines };
    },
  );
}
