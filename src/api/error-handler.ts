import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, type ErrorMapper, normalizeError } from './errors.js';
import type { ErrorRenderer, RenderableError } from './types.js';

/** A not-found renderer for a part of the URL space (e.g. the ComfyUI-compatible paths). */
export interface NotFoundRenderer {
  matches(url: string): boolean;
  render: ErrorRenderer;
}

/**
 * The one error handler's extension points, reachable as `app.api.errors`: more mappers (e.g.
 * the job layer's errors) and not-found shapes for URL ranges that answer in another format.
 */
export interface ErrorRegistry {
  /** Runs before the built-in mapping. */
  addMapper(mapper: ErrorMapper): void;
  addNotFoundRenderer(renderer: NotFoundRenderer): void;
}

/**
 * Writes `{ "error": { "code", "message", "details" } }` with the status.
 *
 * @example
 * defaultRenderer({ status: 404, code: 'not_found', message: 'no route', details: null, internal: false, request_id: 'r1' }, req, reply);
 */
export const defaultRenderer: ErrorRenderer = (error, _request, reply) =>
  reply
    .code(error.status)
    .type('application/json; charset=utf-8')
    .send({ error: { code: error.code, message: error.message, details: error.details } });

/**
 * Makes every route registered in `app`'s context (and its children) answer errors with
 * `renderer`. Call it at the top of a route plugin.
 *
 * @example
 * app.register(async (comfy) => { useErrorRenderer(comfy, comfyErrorRenderer); comfy.post('/prompt', ...); });
 */
export function useErrorRenderer(app: FastifyInstance, renderer: ErrorRenderer): void {
  app.addHook('onRoute', (route) => {
    route.config = {
      ...(route.config ?? {}),
      errorRenderer: route.config?.errorRenderer ?? renderer,
    };
  });
}

function rendererOf(request: FastifyRequest): ErrorRenderer {
  return request.routeOptions.config?.errorRenderer ?? defaultRenderer;
}

function send(
  error: RenderableError,
  renderer: ErrorRenderer,
  request: FastifyRequest,
  reply: FastifyReply,
): unknown {
  if (reply.sent || reply.raw.headersSent) return undefined;
  return renderer(error, request, reply);
}

/**
 * Installs the one error handler and the not-found handler on the root instance. Validation
 * errors, malformed JSON, oversized bodies, fleet and ComfyUI errors are answered with their
 * catalogue code; anything unexpected is logged with its stack and answered as a 500
 * `internal_error` naming the request id, never with the stack or the original message.
 *
 * @example
 * const errors = installErrorHandling(app);
 * errors.addMapper((e) => (e instanceof JobNotFound ? { status: 404, code: 'job_not_found', ... } : undefined));
 */
export function installErrorHandling(app: FastifyInstance): ErrorRegistry {
  const mappers: ErrorMapper[] = [];
  const notFound: NotFoundRenderer[] = [];

  app.setErrorHandler((err, request, reply) => {
    const normalized = normalizeError(err, mappers);
    const error: RenderableError = { ...normalized, request_id: request.id };
    if (normalized.internal) {
      request.log.error({ err }, 'unexpected error');
      error.message = `internal error (request id ${request.id})`;
      error.details = { request_id: request.id };
    } else if (normalized.status >= 500) {
      request.log.warn({ code: normalized.code, msg_detail: normalized.message }, 'request failed');
      error.details =
        error.details === null || typeof error.details !== 'object'
          ? { request_id: request.id }
          : { ...error.details, request_id: request.id };
    }
    return send(error, rendererOf(request), request, reply);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? request.url;
    const normalized = normalizeError(
      new ApiError('not_found', `no route ${request.method} ${path}`),
    );
    const renderer = notFound.find((r) => r.matches(path))?.render ?? defaultRenderer;
    return send({ ...normalized, request_id: request.id }, renderer, request, reply);
  });

  return {
    addMapper: (mapper) => void mappers.push(mapper),
    addNotFoundRenderer: (renderer) => void notFound.push(renderer),
  };
}
