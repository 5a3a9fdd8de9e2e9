import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { type FieldError, schemaErrors } from '../../fleet/index.js';
import { validationFailed } from '../errors.js';

const PART_PREFIX: Record<string, string> = {
  body: '',
  querystring: 'query',
  params: 'params',
  headers: 'headers',
};

const PART_WORD: Record<string, string> = {
  body: 'the request body',
  querystring: 'the query string',
  params: 'the URL',
  headers: 'the request headers',
};

function prefixed(prefix: string, errors: FieldError[]): FieldError[] {
  if (prefix === '') return errors;
  return errors.map((e) => ({
    path:
      e.path === ''
        ? prefix
        : e.path.startsWith('[')
          ? `${prefix}${e.path}`
          : `${prefix}.${e.path}`,
    message: e.message,
  }));
}

/**
 * Fastify's validator for TypeBox route schemas: compiled TypeBox checks (query, params and
 * headers are converted from text first, defaults are filled in), and on failure the fleet's
 * field-by-field messages (`port: must be between 1 and 65535, got 70000`, unknown fields with
 * "did you mean"), thrown as a 400 `validation_failed` with `details: [{ path, message }]`.
 *
 * @example
 * app.setValidatorCompiler(schemaValidatorCompiler);
 */
export const schemaValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const part = httpPart ?? 'body';
  const check = Compile(schema);
  const prefix = PART_PREFIX[part] ?? part;
  return (data: unknown) => {
    let value = data;
    if (part !== 'body') value = check.Convert(value);
    value = check.Default(value);
    if (check.Check(value)) return { value };
    const errors = schemaErrors(schema, value);
    const fields = errors.length > 0 ? errors : [{ path: '', message: 'is not valid' }];
    return { error: validationFailed(prefixed(prefix, fields), PART_WORD[part] ?? part) };
  };
};
