import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import {
  CHROMIUM,
  type DashboardGateway,
  hasChromium,
  launchChromium,
  screenshot,
  startDashboardGateway,
} from './dashboard-gateway.js';

// Real Chromium against a real gateway with emulated ComfyUI instances.
describe('dashboard in a browser (Debian chromium)', () => {
  let browser: Browser;
  let gw: DashboardGateway;
  let context: BrowserContext;
  let page: Page;
  const extra: RunningEmulator[] = [];

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

  beforeEach(async () => {
    gw = await startDashboardGateway(2);
    context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    page = await context.newPage();
  }, 90_000);

  afterEach(async (ctx) => {
    await screenshot(page, ctx.task.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()).catch(
      () => undefined,
    );
    await context?.close();
    await gw?.close();
    while (extra.length > 0) await extra.pop()?.close();
  });

  const card = (name: string) => page.locator(`article[aria-label="Instance ${name}"]`);

  it('adds an instance through the dialog: an invalid port shows the error, a valid one turns healthy', async () => {
    const emu = await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY });
    extra.push(emu);
    await page.goto(`${gw.url}/instances`);
    await expect.poll(() => card('emu0').count(), { timeout: 10_000 }).toBe(1);

    await page.getByRole('button', { name: 'Add instance' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add instance' });
    await dialog.getByLabel('Name', { exact: true }).fill('extra');
    await dialog.getByLabel('Host', { exact: true }).fill('127.0.0.1');
    await dialog.getByLabel('Port', { exact: true }).fill('70000');
    await dialog.getByRole('button', { name: 'Add instance' }).click();
    // The gateway's own message, on the port input.
    const portError = dialog.locator('[data-field-error="port"]');
    await expect.poll(() => portError.textContent(), { timeout: 5_000 }).toMatch(/65535/);
    expect(await dialog.getByLabel('Port', { exact: true }).getAttribute('aria-invalid')).toBe(
      'true',
    );
    await screenshot(page, 'add-instance-invalid-port');

    await dialog.getByLabel('Port', { exact: true }).fill(String(emu.port));
    await dialog.getByRole('button', { name: 'Add instance' }).click();
    await expect.poll(() => dialog.count(), { timeout: 5_000 }).toBe(0);
    await expect.poll(() => card('extra').count(), { timeout: 5_000 }).toBe(1);
    await expect
      .poll(() => card('extra').getAttribute('data-health'), { timeout: 15_000 })
      .toBe('healthy');
  });

  it('pauses and resumes an instance from its card', async () => {
    await page.goto(`${gw.url}/instances`);
    await expect
      .poll(() => card('emu0').getAttribute('data-status'), { timeout: 10_000 })
      .toBe('running');
    await page.getByRole('button', { name: 'Pause emu0' }).click();
    await expect
      .poll(() => card('emu0').getAttribute('data-status'), { timeout: 5_000 })
      .toBe('paused');
    expect(gw.h.registry.get(gw.h.ids[0]!)?.status).toBe('paused');
    await page.getByRole('button', { name: 'Resume emu0' }).click();
    await expect
      .poll(() => card('emu0').getAttribute('data-status'), { timeout: 5_000 })
      .toBe('running');
    expect(gw.h.registry.get(gw.h.ids[0]!)?.status).toBe('running');
  });

  it('switches the active instance with Ctrl+2 and Ctrl+1', async () => {
    await page.goto(`${gw.url}/`);
    const switcher = page.getByTestId('active-instance');
    await expect.poll(() => switcher.textContent(), { timeout: 10_000 }).toContain('emu0');
    await page.keyboard.press('Control+2');
    await expect.poll(() => switcher.textContent(), { timeout: 5_000 }).toContain('emu1');
    await expect.poll(() => gw.h.registry.active()?.name, { timeout: 5_000 }).toBe('emu1');
    await page.keyboard.press('Control+1');
    await expect.poll(() => gw.h.registry.active()?.name, { timeout: 5_000 }).toBe('emu0');
    // The list marks the current one.
    await switcher.click();
    const current = page.getByRole('option', { selected: true });
    expect(await current.textContent()).toContain('emu0');
  });

  it('shows a stopped emulator as unhealthy within seconds', async () => {
    await page.goto(`${gw.url}/instances`);
    await expect
      .poll(() => card('emu1').getAttribute('data-health'), { timeout: 10_000 })
      .toBe('healthy');
    await gw.h.emulators[1]!.close();
    await expect
      .poll(() => card('emu1').getAttribute('data-health'), { timeout: 10_000 })
      .toBe('unhealthy');
    expect(await card('emu1').textContent()).toMatch(/consecutive failures|Last error/);
  });

  it('shows the compact table, the details panel with its chart, and the dark theme', async () => {
    await page.goto(`${gw.url}/instances`);
    await expect
      .poll(() => card('emu0').getAttribute('data-health'), { timeout: 10_000 })
      .toBe('healthy');
    await page.getByRole('button', { name: 'emu0', exact: true }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe(`/instances/${gw.h.ids[0]}`);
    const details = page.getByRole('complementary', { name: 'Details of emu0' });
    await expect
      .poll(() => details.locator('canvas').count(), { timeout: 5_000 })
      .toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Table' }).click();
    const rows = page.getByRole('table', { name: 'Instances' }).locator('[data-instance]');
    await expect.poll(() => rows.count()).toBe(2);
    await page.getByRole('button', { name: /Switch to dark theme/ }).click();
    await expect.poll(() => page.locator('html').getAttribute('data-theme')).toBe('dark');
    await screenshot(page, 'table-details-dark');
    // Reload on a client route keeps the page (the gateway serves index.html there).
    await page.reload();
    await expect.poll(() => details.count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => page.locator('html').getAttribute('data-theme')).toBe('dark');
  });

  it('works from the keyboard: skip link, editor opened with Enter, Tab trapped, Escape restores focus', async () => {
    await page.goto(`${gw.url}/instances`);
    await expect.poll(() => card('emu0').count(), { timeout: 10_000 }).toBe(1);
    const focused = () =>
      page.evaluate(
        "(() => { const e = document.activeElement; return e ? (e.getAttribute('aria-label') || e.getAttribute('name') || e.textContent || '').trim() : ''; })()",
      );
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Skip to content');
    await page.getByRole('button', { name: 'Add instance' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Add instance' });
    await expect.poll(() => dialog.count()).toBe(1);
    expect(await focused()).toBe('name');
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press(i % 3 === 2 ? 'Shift+Tab' : 'Tab');
      const inside = await page.evaluate(
        "document.querySelector('[role=dialog], dialog')?.contains(document.activeElement) === true",
      );
      expect(inside, `focus left the dialog after ${i + 1} presses`).toBe(true);
    }
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.count()).toBe(0);
    expect(await focused()).toBe('Add instance');
  });

  it('shows configuration warnings prominently on the overview', async () => {
    await gw.close();
    gw = await startDashboardGateway(1, { COMFYUI_SERVERS: '["127.0.0.1:8188",' });
    await page.goto(`${gw.url}/`);
    const banner = page.getByRole('alert', { name: 'Configuration warnings' });
    await expect.poll(() => banner.count(), { timeout: 10_000 }).toBe(1);
    expect(await banner.textContent()).toContain('COMFYUI_SERVERS');
  });

  it('shows the overview with its charts', async () => {
    await page.goto(`${gw.url}/`);
    await expect.poll(() => page.getByText('2 / 2 healthy').count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => page.locator('figure.chart canvas').count()).toBe(3);
  });

  it('asks for the API key when the gateway requires one, then works with it', async () => {
    const { key } = await gw.h.keys.create({ role: 'admin', name: 'e2e' });
    await page.goto(`${gw.url}/instances`);
    const dialog = page.getByRole('dialog', { name: 'API key required' });
    await expect.poll(() => dialog.count(), { timeout: 10_000 }).toBe(1);
    await dialog.getByLabel('API key', { exact: true }).fill('cc_wrong');
    await dialog.getByRole('button', { name: 'Save key' }).click();
    await expect
      .poll(() => page.getByText('The gateway did not accept the key.').count(), {
        timeout: 10_000,
      })
      .toBe(1);
    await page.getByLabel('API key', { exact: true }).fill(key);
    await page.getByRole('button', { name: 'Save key' }).click();
    await expect.poll(() => card('emu0').count(), { timeout: 10_000 }).toBe(1);
    await expect
      .poll(() => page.getByText('Live', { exact: true }).count(), { timeout: 5_000 })
      .toBe(1);
    // Live events flow with the key: pausing from the API shows on the card.
    await gw.h.registry.pause(gw.h.ids[0]!);
    await expect
      .poll(() => card('emu0').getAttribute('data-status'), { timeout: 5_000 })
      .toBe('paused');
    await screenshot(page, 'api-key-accepted');
  });

  it('runs the upscale-image template with an attached image', async () => {
    const png = new PNG({ width: 32, height: 24 });
    png.data.fill(200);
    await page.goto(`${gw.url}/jobs/new`);
    await page.getByRole('button', { name: 'Template' }).click();
    const select = page.getByLabel('Template', { exact: true });
    await expect.poll(() => select.locator('option', { hasText: 'upscale-image' }).count()).toBe(1);
    await select.selectOption('upscale-image');
    await page.getByLabel(/^image/).setInputFiles({
      name: 'small.png',
      mimeType: 'image/png',
      buffer: PNG.sync.write(png),
    });
    await page.getByLabel(/^scale/).fill('3');
    await page.getByRole('button', { name: 'Submit job' }).click();
    await expect
      .poll(() => new URL(page.url()).pathname, { timeout: 10_000 })
      .toMatch(/^\/jobs\/[0-9a-f-]{36}$/);
    await expect
      .poll(() => page.locator('[data-status]').first().getAttribute('data-status'), {
        timeout: 20_000,
      })
      .toBe('completed');
    const img = page.getByRole('img', { name: /^Output 0/ });
    await expect
      .poll(
        () =>
          img
            .evaluate((el: unknown) => {
              const image = el as { complete: boolean; naturalWidth: number };
              return image.complete ? image.naturalWidth : 0;
            })
            .catch(() => 0),
        { timeout: 10_000 },
      )
      .toBe(96);
    expect(await page.getByText('upscale-image').count()).toBeGreaterThan(0);
  });

  it('submits a job from the form, follows its progress to 100% and shows the output image', async () => {
    const workflow = {
      '1': {
        class_type: 'EmptyImage',
        inputs: { width: 64, height: 64, batch_size: 1, color: 16711680 },
      },
      '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'e2e' } },
    };
    await page.goto(`${gw.url}/jobs/new`);
    await page.getByLabel('…or paste it').fill(JSON.stringify(workflow));
    await page.getByRole('button', { name: 'Submit job' }).click();
    await expect
      .poll(() => new URL(page.url()).pathname, { timeout: 10_000 })
      .toMatch(/^\/jobs\/[0-9a-f-]{36}$/);
    const bar = page.getByRole('progressbar', { name: 'Job progress' });
    await expect.poll(() => bar.getAttribute('aria-valuenow'), { timeout: 20_000 }).toBe('100');
    const img = page.getByRole('img', { name: /^Output 0/ });
    await expect
      .poll(
        () =>
          img
            .evaluate((el: unknown) => {
              const image = el as { complete: boolean; naturalWidth: number };
              return image.complete ? image.naturalWidth : 0;
            })
            .catch(() => 0),
        {
          timeout: 10_000,
        },
      )
      .toBe(64);
    await screenshot(page, 'job-completed');
    await page.goto(`${gw.url}/jobs`);
    await expect
      .poll(() => page.locator('[data-job][data-status="completed"]').count(), { timeout: 10_000 })
      .toBe(1);
    // A job another client submits shows up live, without a reload.
    const other = await gw.h.app.inject({
      method: 'POST',
      url: '/api/v1/jobs',
      payload: { workflow },
    });
    expect(other.statusCode).toBe(202);
    await expect
      .poll(() => page.locator('[data-job][data-status="completed"]').count(), { timeout: 10_000 })
      .toBe(2);
  });
});
