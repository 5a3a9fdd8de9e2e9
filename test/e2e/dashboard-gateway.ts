/**
 * Browser-test support: the built dashboard served by a real gateway (the API test harness:
 * SQLite store, registry, health monitor with fast timings, emulated ComfyUI instances), and
 * Debian's Chromium driven by playwright-core.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { registerJobApi } from '../../src/api/app.js';
import { type JobLayer, openJobLayer } from '../../src/api/routes/jobs/job-layer.js';
import { type Harness, harness } from '../../src/api/testing/harness.js';
import type { EventBus } from '../../src/store/index.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIST = path.join(ROOT, 'dist/web');
const WEB_SRC = path.join(ROOT, 'web');
export const ARTIFACTS = path.join(ROOT, 'artifacts/e2e');
export const CHROMIUM = '/usr/bin/chromium';

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
 * A gateway with `emulators` emulated instances, its job layer, and the built dashboard.
 */
export async function startDashboardGateway(
  emulators: number,
  env: Record<string, string> = {},
): Promise<DashboardGateway> {
  await ensureDashboardBuilt();
  const h = await harness({ emulators, logLevel: 'warn', env });
  let layer: JobLayer | undefined;
  try {
    // The gateway as `serve` builds it: the job layer (dispatcher, jobs, templates) and the
    // dashboard at / with index.html for client routes.
    layer = await openJobLayer({
      store: h.store,
      registry: h.registry,
      monitor: h.monitor,
      bus: h.bus as unknown as EventBus<Record<string, unknown>>,
      dataDir: path.join(h.dir, 'data'),
    });
    await registerJobApi(h.app, layer, { dashboardDir: DIST });
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const address = h.app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const opened = layer;
    return {
      h,
      url: `http://127.0.0.1:${port}`,
      close: async () => {
        await opened.close();
        await h.close();
      },
    };
  } catch (error) {
    await layer?.close();
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
