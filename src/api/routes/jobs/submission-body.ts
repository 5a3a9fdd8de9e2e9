import type { FastifyRequest } from 'fastify';
import { fileNameProblem } from '../../../jobs/index.js';
import { ApiError } from '../../errors.js';
import { fetchUrlInput, type UrlInputPolicy } from './input-fetch.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Fields of a multipart submission whose value is JSON text. */
const JSON_FIELDS = new Set(['workflow', 'params', 'inputs', 'tags', 'metadata']);
const INT_FIELDS = new Set(['priority', 'timeout_ms', 'max_attempts']);

/**
 * Reads a multipart submission: a `json` (or `payload`) field with the whole submission, or one
 * field per submission key (JSON text for objects and arrays), and files that become inputs
 * named by their file name (bound to LoadImage-like inputs of that name).
 */
async function readMultipart(request: FastifyRequest): Promise<Record<string, unknown>> {
  let body: Record<string, unknown> = {};
  const files: Array<{ name: string; data: Uint8Array }> = [];
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      const name = part.filename;
      const problem = fileNameProblem(name);
      if (problem) {
        part.file.resume();
        throw new ApiError('validation_failed', `file name ${JSON.stringify(name)}: ${problem}`, [
          { path: `files.${part.fieldname}`, message: problem },
        ]);
      }
      files.push({ name, data: await part.toBuffer() });
      continue;
    }
    const value = String(part.value);
    const parse = (path: string) => {
      try {
        return JSON.parse(value) as unknown;
      } catch {
        throw new ApiError('invalid_json', `field ${path} is not valid JSON`, [
          { path, message: 'not valid JSON' },
        ]);
      }
    };
    if (part.fieldname === 'json' || part.fieldname === 'payload') {
      const whole = parse(part.fieldname);
      if (!isObject(whole)) {
        throw new ApiError('validation_failed', 'the json field must hold an object', [
          { path: part.fieldname, message: 'must be an object' },
        ]);
      }
      body = { ...body, ...whole };
    } else if (JSON_FIELDS.has(part.fieldname)) {
      body[part.fieldname] = parse(part.fieldname);
    } else if (INT_FIELDS.has(part.fieldname) && /^-?\d+$/.test(value)) {
      body[part.fieldname] = Number(value);
    } else {
      body[part.fieldname] = value;
    }
  }
  if (files.length > 0) {
    const given = Array.isArray(body.inputs) ? body.inputs : [];
    body.inputs = [...given, ...files];
  }
  return body;
}

/**
 * The submission of a request (JSON or multipart), with `url` inputs fetched under the policy
 * (and turned into bytes).
 *
 * @example
 * const submission = await readSubmission(request, { allowHosts: [], maxBytes: 1e8 });
 */
export async function readSubmission(
  request: FastifyRequest,
  policy: UrlInputPolicy,
): Promise<Record<string, unknown>> {
  let body: unknown;
  if (request.isMultipart()) body = await readMultipart(request);
  else body = request.body;
  if (body === undefined || body === null) {
    throw new ApiError('validation_failed', 'a job needs a body: {"workflow": {...}}', [
      { path: '', message: 'a JSON object is required' },
    ]);
  }
  if (!isObject(body)) {
    throw new ApiError('validation_failed', 'the body must be a JSON object', [
      { path: '', message: 'must be an object' },
    ]);
  }
  if (body.webhook_url !== undefined) {
    let ok = false;
    try {
      const u = new URL(String(body.webhook_url));
      ok =
        typeof body.webhook_url === 'string' && (u.protocol === 'http:' || u.protocol === 'https:');
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new ApiError('validation_failed', 'webhook_url must be an http(s) URL', [
        { path: 'webhook_url', message: 'must be an http(s) URL' },
      ]);
    }
  }
  if (Array.isArray(body.inputs)) {
    const inputs: unknown[] = [];
    for (const [i, inp] of body.inputs.entries()) {
      if (isObject(inp) && typeof inp.url === 'string') {
        const { url, ...rest } = inp;
        inputs.push({ ...rest, data: await fetchUrlInput(url, policy, `inputs[${i}].url`) });
      } else inputs.push(inp);
    }
    return { ...body, inputs };
  }
  return body;
}
