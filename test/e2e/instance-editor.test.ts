import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import {
  CHROMIUM,
  type DashboardGateway,
  hasChromium,
  launchChromium,
  screenshot,
  startDashboardGateway,
} from './dashboard-gateway.js';

// The instance editor's connection test and port check against the real gateway routes.
describe('instance editor in a browser (Debian chromium)', () => {
  let browser: Browser;
  let gw: DashboardGateway | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let spare: RunningEmulator | undefined;

  beforeAll(async () => {
    if (!hasChromium) {
      throw new Error(
        `browser tests need ${CHROMIUM}: apt-get install chromium (never a downloaded browser)`,
      );
    }
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  afterEach(async (ctx) => {
    await screenshot(page, ctx.task.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()).catch(
      () => undefined,
    );
    await context?.close();
    await gw?.close();
    await spare?.close();
  });

  it('tests an unsaved instance, then checks a managed port and applies the suggested one', async () => {
    gw = await startDashboardGateway(1);
    spare = await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY });
    context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    page = await context.newPage();
    await page.goto(`${gw.url}/instances`);
    await expect
      .poll(() => page.locator('article[aria-label="Instance emu0"]').count(), { timeout: 10_000 })
      .toBe(1);

    await page.getByRole('button', { name: 'Add instance' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add instance' });
    await dialog.getByLabel('Name', { exact: true }).fill('draft');
    await dialog.getByLabel('Host', { exact: true }).fill('127.0.0.1');
    await dialog.getByLabel('Port', { exact: true }).fill(String(spare.port));
    await dialog.getByRole('button', { name: 'Test connection' }).click();
    const result = dialog.getByTestId('test-result');
    await expect
      .poll(() => result.textContent(), { timeout: 10_000 })
      .toMatch(/Connected: ComfyUI 0\.8\.0/);
    // Tested, not saved.
    expect(gw.h.registry.list().map((i) => i.name)).toEqual(['emu0']);

    // emu0's port is held by this process and configured for emu0.
    const taken = gw.h.emulators[0]?.port ?? 0;
    await dialog.getByLabel('Kind', { exact: true }).selectOption('managed');
    await dialog.getByLabel('Port', { exact: true }).fill(String(taken));
    const status = dialog.getByTestId('port-status');
    await expect
      .poll(() => status.textContent(), { timeout: 5_000 })
      .toContain(`in use by pid ${process.pid}`);
    await screenshot(page, 'editor-port-in-use');
    await dialog.getByRole('button', { name: /Use suggested port \d+/ }).click();
    const chosen = Number(await dialog.getByLabel('Port', { exact: true }).inputValue());
    expect(chosen).toBeGreaterThan(taken);
    await expect
      .poll(() => status.textContent(), { timeout: 5_000 })
      .toContain('free on the gateway host');
  }, 90_000);
});
