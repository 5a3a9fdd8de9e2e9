/** TypeBox schemas shared by the route modules (answers, errors). */
import { Type } from 'typebox';

/** `{ "error": { "code", "message", "details" } }` */
export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'stable, lower snake case (see the error catalogue)' }),
      message: Type.String(),
      details: Type.Unknown({ description: 'field errors, per-instance errors, ... or null' }),
    }),
  },
  { description: 'error' },
);

/**
 * Response schemas of the error statuses a route may answer with, for the OpenAPI document.
 *
 * @example
 * schema: { response: { 200: ItemSchema, ...errorResponses(400, 404) } }
 */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorSchema> {
  const out: Record<number, typeof ErrorSchema> = {};
  for (const s of [...statuses, 401, 403, 500]) out[s] = ErrorSchema;
  return out;
}

/** An ISO-8601 time, or null. */
export const NullableTime = Type.Union([Type.String({ description: 'ISO-8601' }), Type.Null()]);

/** A free-form object (documented elsewhere), serialized as is. */
export const AnyObject = Type.Object({}, { additionalProperties: true });
