/**
 * Fastify declarations the API adds: the caller on every request, and per-route settings
 * (who may call it, how its errors are shaped).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal, RouteAccess } from './auth/principal.js';
import type { ApiContext } from './context.js';
import type { NormalizedError } from './errors.js';

/** An error as a renderer receives it: normalized, with the request id. */
export type RenderableError = NormalizedError & { request_id: string };

/**
 * Writes an error answer. The default writes `{ error: { code, message, details } }`; a route
 * group that must answer in another shape (the ComfyUI-compatible routes) brings its own.
 */
export type ErrorRenderer = (
  error: RenderableError,
  request: FastifyRequest,
  reply: FastifyReply,
) => unknown;

declare module 'fastify' {
  interface FastifyInstance {
    /** The gateway's services for route modules (deps, metrics, event hub, error registry). */
    api: ApiContext;
  }
  interface FastifyRequest {
    /** Who is calling; set by the auth hook before any handler runs. */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** Who may call the route (default `admin`). */
    access?: RouteAccess;
    /** The route's error shape (default: the native `{ error: {...} }`). */
    errorRenderer?: ErrorRenderer;
    /** Accept the API key as `?access_token=` (EventSource and browser WebSockets send no headers). */
    acceptsQueryToken?: boolean;
    /** Log the request line at `info` even for a read (or `debug` for a write). */
    logLevel?: 'info' | 'debug';
  }
}
