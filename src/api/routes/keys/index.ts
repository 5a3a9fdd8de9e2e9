/**
 * `/api/v1/keys`: the gateway's API keys over HTTP (admin only), so the CLI and SDK can manage
 * them on a remote gateway. Listings never show a key or its hash; a new key is answered once.
 * Revoking is idempotent: a revoked key answers 200 with its record (its first `revoked_at`).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { API_KEY_ROLES, type ApiKeyRecord } from '../../../store/index.js';
import { ApiError } from '../../errors.js';
import { errorResponses, NullableTime } from '../../schemas.js';

const tags = ['keys'];
const security = [{ bearerAuth: [] }];
const admin = { access: 'admin' } as const;

const KeySchema = Type.Object({
  id: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  role: Type.Enum(API_KEY_ROLES),
  prefix: Type.String({ description: 'the first characters of the key (cck_ + 8)' }),
  created_at: Type.String({ description: 'ISO-8601' }),
  last_used_at: NullableTime,
  revoked_at: NullableTime,
});

const CreatedKeySchema = Type.Object({
  ...KeySchema.properties,
  key: Type.String({ description: 'the key itself: shown this once, never stored' }),
});

const CreateBody = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: 100,
      description: 'a label to recognise the key',
    }),
    role: Type.Enum(API_KEY_ROLES, {
      description: 'user: submit and read own jobs; admin: everything',
    }),
  },
  { additionalProperties: false },
);

const IdParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 100, description: 'key id (key_…)' }),
});

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A key as the API shows it: times ISO-8601, never the key or its hash. */
function keyView(r: ApiKeyRecord) {
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    prefix: r.prefix,
    created_at: new Date(r.created_at).toISOString(),
    last_used_at: iso(r.last_used_at),
    revoked_at: iso(r.revoked_at),
  };
}

/**
 * Registers the key routes (admin only).
 *
 * @example
 * await app.register(keysRoutes);
 * // POST /api/v1/keys {"name":"ci","role":"user"} → 201 {id, ..., key: "cck_..."}
 */
export async function keysRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const keys = app.api.deps.apiKeys;

  app.get(
    '/api/v1/keys',
    {
      config: { ...admin, logLevel: 'debug' },
      schema: {
        tags,
        security,
        summary: 'Every API key, newest first, revoked ones included (never the key itself)',
        response: { 200: Type.Object({ keys: Type.Array(KeySchema) }), ...errorResponses() },
      },
    },
    async () => ({ keys: (await keys.list()).map(keyView) }),
  );

  app.post(
    '/api/v1/keys',
    {
      config: admin,
      schema: {
        tags,
        security,
        summary: 'Create an API key; the answer holds the key, shown only this once',
        body: CreateBody,
        response: { 201: CreatedKeySchema, ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      const name = request.body.name.trim();
      if (name === '') {
        throw new ApiError('validation_failed', 'the key name is blank', [
          { path: 'name', message: 'must not be blank' },
        ]);
      }
      const created = await keys.create({ role: request.body.role, name });
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .header('location', `/api/v1/keys/${encodeURIComponent(created.record.id)}`)
        .send({ ...keyView(created.record), key: created.key });
    },
  );

  app.delete(
    '/api/v1/keys/:id',
    {
      config: admin,
      schema: {
        tags,
        security,
        summary: 'Revoke an API key (it stops working within a second); revoking twice is a no-op',
        params: IdParams,
        response: { 200: KeySchema, ...errorResponses(404) },
      },
    },
    async (request) => {
      const { id } = request.params;
      // By id only: a prefix would let a typo revoke another key.
      const found = id.startsWith('key_') ? await keys.find(id) : undefined;
      if (!found || found.id !== id) throw new ApiError('not_found', `no API key ${id}`);
      const revoked = await keys.revoke(found.id);
      if (!revoked) throw new ApiError('not_found', `no API key ${id}`);
      return keyView(revoked);
    },
  );
}
