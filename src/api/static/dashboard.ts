/**
 * The dashboard (the web app built into dist/web): `/` and its files, public (the app asks for
 * a key itself), and `index.html` for the app's own routes (`/instances`, `/jobs/<id>`) when a
 * browser navigates there. API, health, docs and ComfyUI paths never fall back.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { defaultRenderer } from '../error-handler.js';

/** dist/web of this package (from src/api/static or dist/api/static alike). */
export const DEFAULT_DASHBOARD_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../dist/web',
);

/** Paths that are never the dashboard's. */
const NOT_DASHBOARD =
  /^\/(api|health|healthz|livez|readyz|metrics|docs|ws|prompt|queue|history|view|upload|object_info|system_stats|interrupt|free|internal|extensions|models|embeddings|userdata|settings|users|features|assets)(\/|$)/;

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>comfy-cluster</title></head>
<body><h1>comfy-cluster</h1>
<p>The gateway is running, but the dashboard is not built. Run <code>npm run build</code> and restart the gateway.</p>
<p>The API is at <a href="/api/v1/instances">/api/v1</a>; its documentation at <a href="/docs">/docs</a>.</p>
</body></html>
`;

/** True when a browser navigates to one of the dashboard's own routes. */
export function isDashboardRoute(request: FastifyRequest, urlPath: string): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  if (NOT_DASHBOARD.test(urlPath)) return false;
  if (path.posix.extname(urlPath) !== '') return false;
  const accept = request.headers.accept ?? '';
  return accept.includes('text/html');
}

/**
 * Serves the dashboard from `dir` (default dist/web) at `/`.
 *
 * @example
 * await registerDashboard(app);
 */
export async function registerDashboard(
  app: FastifyInstance,
  options: { dir?: string } = {},
): Promise<void> {
  const dir = options.dir ?? DEFAULT_DASHBOARD_DIR;
  const built = existsSync(path.join(dir, 'index.html'));
  const config = { access: 'public', logLevel: 'debug' } as const;
  if (!built) {
    app.get('/', { config, schema: { hide: true } }, async (_request, reply) =>
      reply.type('text/html; charset=utf-8').send(NOT_BUILT),
    );
    return;
  }
  await app.register(fastifyStatic, { root: dir, serve: false, decorateReply: true });
  app.get('/', { config, schema: { hide: true } }, async (_request, reply) =>
    reply.header('cache-control', 'no-cache').sendFile('index.html'),
  );
  app.get('/assets/*', { config, schema: { hide: true } }, async (request, reply) => {
    const rest = (request.params as { '*': string })['*'];
    return reply
      .header('cache-control', 'public, max-age=31536000, immutable')
      .sendFile(path.posix.join('assets', rest));
  });
  for (const file of ['favicon.ico', 'favicon.svg', 'manifest.webmanifest', 'robots.txt']) {
    if (!existsSync(path.join(dir, file))) continue;
    app.get(`/${file}`, { config, schema: { hide: true } }, async (_request, reply) =>
      reply.sendFile(file),
    );
  }
  app.api.errors.addNotFoundRenderer({
    matches: (urlPath) => !NOT_DASHBOARD.test(urlPath) && path.posix.extname(urlPath) === '',
    render: (error, request, reply) => {
      const urlPath = request.url.split('?')[0] ?? request.url;
      if (!isDashboardRoute(request, urlPath)) return defaultRenderer(error, request, reply);
      return reply.code(200).header('cache-control', 'no-cache').sendFile('index.html');
    },
  });
}
