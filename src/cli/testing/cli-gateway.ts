/**
 * A live gateway for CLI tests: emulated ComfyUI instances, the real gateway (store, fleet,
 * monitor, job layer) on a random 127.0.0.1 port, everything under one temp dir.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { parseQuickInstances } from '../../api/quick-instances.js';
import { type RunningGateway, startGateway } from '../../api/server.js';
import { FAST_MONITOR, until } from '../../api/testing/harness.js';
import { type RunningEmulator, startEmulator } from '../../emulator/index.js';

export interface CliGateway {
  url: string;
  gateway: RunningGateway;
  emulators: RunningEmulator[];
  /** The temp dir (data dir and config file inside). */
  dir: string;
  dataDir: string;
  close(): Promise<void>;
}

/**
 * Starts `emulators` emulated instances (simulated time divided by `speed`) and a gateway in
 * front of them; resolves once every instance is healthy.
 *
 * @example
 * const gw = await startCliGateway({ emulators: 3 });
 * await runCli(['status', '--json', '--url', gw.url]);
 * await gw.close();
 */
export async function startCliGateway(
  options: { emulators?: number; speed?: number } = {},
): Promise<CliGateway> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cc-cli-'));
  const emulators: RunningEmulator[] = [];
  let gateway: RunningGateway | undefined;
  const close = async () => {
    await gateway?.close();
    await Promise.allSettled(emulators.map((e) => e.close()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < (options.emulators ?? 1); i++) {
      emulators.push(
        await startEmulator({ port: 0, speed: options.speed ?? Number.POSITIVE_INFINITY }),
      );
    }
    const dataDir = path.join(dir, 'data');
    gateway = await startGateway({
      port: 0,
      dataDir,
      env: { COMFY_CLUSTER_CONFIG: path.join(dir, 'comfyui_instances.json') },
      quickInstances: parseQuickInstances(emulators.map((e) => e.url).join(',')),
      templatesDir: path.join(dir, 'templates'),
      dashboardDir: false,
      monitor: FAST_MONITOR,
      logDestination: new Writable({
        write(_chunk, _enc, done) {
          done();
        },
      }),
    });
    const running = gateway;
    await until(
      () => running.registry.list().every((i) => running.monitor.health(i.id).health === 'healthy'),
      10_000,
      'every instance healthy',
    );
    return { url: running.url, gateway: running, emulators, dir, dataDir, close };
  } catch (err) {
    await close();
    throw err;
  }
}
