/**
 * Browser-test support: the built dashboard served by a real gateway (the API test harness:
 * SQLite store, registry, health monitor with fast timings, emulated ComfyUI instances), and
 * Debian's Chromium driven by playwright-core.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type Harness, harness } from '../../src/api/testing/harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIST = path.join(ROOT, 'dist/web');
const WEB_SRC = path.join(ROOT, 'web');
export const ARTIFACTS = path.join(ROOT, 'artifacts/e2e');
export const CHROMIUM = '/usr/bin/chromium';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
};

/** True when Debian's chromium is installed (the browser tests need it). */
export const hasChromium = existsSync(CHROMIUM);

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, await newestMtime(p));
    else newest = Math.max(newest, (await stat(p)).mtimeMs);
  }
  return newest;
}

/** Builds the dashboard into dist/web unless the build is newer than every source file. */
export async function ensureDashboardBuilt(): Promise<void> {
  const index = path.join(DIST, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= (await newestMtime(WEB_SRC))) return;
  const { build } = await import('vite');
  await build({ configFile: path.join(WEB_SRC, 'vite.config.ts'), logLevel: 'warn' });
}

export interface DashboardGateway {
  h: Harness;
  url: string;
  close(): Promise<void>;
}

/**
 * A gateway with `emulators` emulated instances that serves dist/web at / with index.html for
 * client routes (what the gateway itself must do; until it does, the test adds it here).
 */
export async function startDashboardGateway(
  emulators: number,
  env: Record<string, string> = {},
): Promise<DashboardGateway> {
  await ensureDashboardBuilt();
  const h = await harness({ emulators, logLevel: 'warn', env });
  try {
    if (!h.app.hasRoute({ method: 'GET', url: '/' })) {
      const indexHtml = await readFile(path.join(DIST, 'index.html'));
      // Public like the gateway's own dashboard must be: the page asks for the key itself.
      const serve = async (url: string) => {
        const rel = decodeURIComponent(url.split('?')[0] ?? '/');
        const file = path.join(DIST, path.normalize(rel));
        if (rel.startsWith('/assets/') && file.startsWith(DIST) && existsSync(file)) {
          return {
            body: await readFile(file),
            type: TYPES[path.extname(file)] ?? 'application/octet-stream',
          };
        }
        return { body: indexHtml, type: 'text/html; charset=utf-8' };
      };
      for (const route of ['/', '/*']) {
        h.app.get(route, { config: { access: 'public' } }, async (request, reply) => {
          if (request.url.startsWith('/api/')) {
            return reply.code(404).send({
              error: { code: 'not_found', message: `no route ${request.url}`, details: null },
            });
          }
          const { body, type } = await serve(request.url);
          return reply.type(type).send(body);
        });
      }
    }
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const address = h.app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    return { h, url: `http://127.0.0.1:${port}`, close: () => h.close() };
  } catch (error) {
    await h.close();
    throw error;
  }
}

/** Launches Debian's Chromium (never downloads a browser). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
    ],
  });
}

/** Saves a full-page screenshot as artifacts/e2e/<name>.png (git-ignored). */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}
