/**
 * The web root (a placeholder page: the emulator has no frontend) and ComfyUI's /internal
 * sub-app, which is not mirrored under /api.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { AppContext } from '../app-context.js';
import { SERVER_HEADER, sendEmpty, sendJson } from '../http/reply.js';
import type { RequestContext, Router } from '../http/router.js';
import { pyJson } from '../py-json.js';

const INDEX_HTML =
  '<!doctype html><html><head><title>ComfyUI (emulated)</title></head><body>comfy-cluster ComfyUI emulator: the ComfyUI HTTP and WebSocket API without the web frontend.</body></html>\n';

/**
 * @example
 * registerInternalRoutes(router, app);
 */
export function registerInternalRoutes(router: Router, app: AppContext): void {
  const body = Buffer.from(INDEX_HTML);
  const mtime = Math.floor(app.startedAt / 1000) * 1000;
  const etag = `"${(BigInt(mtime) * 1_000_000n).toString(16)}-${body.byteLength.toString(16)}"`;
  const servePage =
    (noCache: boolean) =>
    ({ res }: RequestContext) => {
      res.writeHead(200, {
        ...(noCache ? { 'Cache-Control': 'no-cache', Pragma: 'no-cache', Expires: '0' } : {}),
        'Content-Type': 'text/html',
        Etag: etag,
        'Last-Modified': new Date(mtime).toUTCString(),
        'Content-Length': body.byteLength,
        'Accept-Ranges': 'bytes',
        Server: SERVER_HEADER,
      });
      res.end(body);
    };
  router.add('GET', '/', servePage(true), { mirror: false });
  router.add('GET', '/index.html', servePage(false), { mirror: false });

  const internal = { mirror: false };
  router.add(
    'GET',
    '/internal/logs',
    ({ res }) =>
      sendJson(res, 200, pyJson(`${new Date(app.startedAt).toISOString()} - Starting server\n`)),
    internal,
  );
  router.add(
    'GET',
    '/internal/logs/raw',
    ({ res }) =>
      sendJson(
        res,
        200,
        pyJson({
          entries: [{ t: new Date(app.startedAt).toISOString(), m: 'Starting server\n' }],
          size: { cols: 80, rows: 24 },
        }),
      ),
    internal,
  );
  router.add('PATCH', '/internal/logs/subscribe', ({ res }) => sendEmpty(res, 200), internal);
  router.add(
    'GET',
    '/internal/folder_paths',
    ({ res }) => {
      const modelsRoot = path.join(path.dirname(app.dirs.user), 'models');
      const out: Record<string, string[]> = {};
      for (const folder of Object.keys(app.models)) out[folder] = [path.join(modelsRoot, folder)];
      sendJson(res, 200, pyJson(out));
    },
    internal,
  );
  router.add(
    'GET',
    '/internal/files/{directory_type}',
    async ({ res, params }) => {
      const type = params.directory_type ?? '';
      const dir =
        type === 'output'
          ? app.dirs.output
          : type === 'input'
            ? app.dirs.input
            : type === 'temp'
              ? app.dirs.temp
              : undefined;
      if (dir === undefined) return sendEmpty(res, 400);
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      const files: { name: string; mtime: number }[] = [];
      for (const entry of entries) {
        if (!entry.isFile() || entry.name.startsWith('.')) continue;
        const info = await stat(path.join(dir, entry.name)).catch(() => undefined);
        if (info !== undefined) files.push({ name: entry.name, mtime: info.mtimeMs });
      }
      files.sort((a, b) => b.mtime - a.mtime);
      sendJson(res, 200, pyJson(files.map((f) => `${f.name} [${type}]`)));
    },
    internal,
  );
}
