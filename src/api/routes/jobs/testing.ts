/** Test setup for the job API: the API harness plus the job layer, its routes and emulators. */
import path from 'node:path';
import type { ApiPrompt } from '../../../comfy/index.js';
import {
  type EmulatorOptions,
  type RunningEmulator,
  startEmulator,
} from '../../../emulator/index.js';
import type { EventBus } from '../../../store/index.js';
import { registerJobApi } from '../../app.js';
import { type Harness, type HarnessOptions, harness, until } from '../../testing/harness.js';
import { type JobLayer, openJobLayer } from './job-layer.js';

export interface JobHarness extends Harness {
  layer: JobLayer;
}

/** A one-node-and-save workflow the emulator runs (a 16×16 PNG). */
export function emptySave(prefix = 'cc', color = 0x336699): ApiPrompt {
  return {
    '1': { class_type: 'EmptyImage', inputs: { width: 16, height: 16, batch_size: 1, color } },
    '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: prefix } },
  };
}

/**
 * The API harness (real store, registry, monitor, emulators) with the job layer and the job API
 * registered; `extra` emulators get the given options. Resolves once every instance is healthy
 * with its capabilities known.
 */
export async function jobHarness(
  options: HarnessOptions & {
    extra?: EmulatorOptions[];
    allowInputHosts?: string[];
    maxWaitMs?: number;
    templatesDir?: string;
    webhookSecret?: string;
    webhooks?: { baseDelayMs?: number; maxAttempts?: number };
  } = {},
): Promise<JobHarness> {
  const h = await harness({ emulators: 1, ...options });
  const extra: RunningEmulator[] = [];
  try {
    for (const [i, o] of (options.extra ?? []).entries()) {
      const emu = await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY, ...o });
      extra.push(emu);
      h.emulators.push(emu);
      const view = await h.registry.create({
        name: `extra${i}`,
        host: '127.0.0.1',
        port: emu.port,
      });
      h.ids.push(view.id);
    }
    const layer = await openJobLayer({
      store: h.store,
      registry: h.registry,
      monitor: h.monitor,
      bus: h.bus as unknown as EventBus<Record<string, unknown>>,
      dataDir: path.join(h.dir, 'data'),
      ...(options.templatesDir ? { templatesDir: options.templatesDir } : {}),
      ...(options.webhookSecret ? { webhookSecret: options.webhookSecret } : {}),
      webhooks: { baseDelayMs: 20, ...options.webhooks },
    });
    await registerJobApi(h.app, layer, {
      dashboardDir: false,
      ...(options.allowInputHosts ? { allowInputHosts: options.allowInputHosts } : {}),
      ...(options.maxWaitMs === undefined ? {} : { maxWaitMs: options.maxWaitMs }),
    });
    await h.app.ready();
    await until(
      () =>
        h.ids.every(
          (id) =>
            h.monitor.capabilities(id) !== undefined && h.monitor.health(id).health === 'healthy',
        ),
      10_000,
      'instances healthy with capabilities',
    );
    const close = async () => {
      await layer.close();
      await h.close();
      for (const e of extra) await e.close().catch(() => undefined);
    };
    return { ...h, layer, close };
  } catch (err) {
    await h.close();
    for (const e of extra) await e.close().catch(() => undefined);
    throw err;
  }
}
