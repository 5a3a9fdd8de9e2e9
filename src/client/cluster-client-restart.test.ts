import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseQuickInstances } from '../api/quick-instances.js';
import { type RunningGateway, startGateway } from '../api/server.js';
import { startEmulator } from '../emulator/index.js';
import { txt2img } from '../scheduler/dispatch/testing/workflows.js';
import { ClusterClient } from './cluster-client.js';
import type { JobEvent } from './types.js';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length > 0)
    await closers
      .pop()?.()
      .catch(() => undefined);
});

describe('ClusterClient across a gateway restart', () => {
  it('wait follows a job through a restart of the gateway on the same address', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cc-sdk-restart-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const emu = await startEmulator({ port: 0, speed: 1 });
    closers.push(() => emu.close());
    const start = (port: number) =>
      startGateway({
        port,
        dataDir: dir,
        env: {},
        quickInstances: parseQuickInstances(`127.0.0.1:${emu.port}`),
        templatesDir: path.join(dir, 'templates'),
        dashboardDir: false,
        logDestination: { write: () => true } as never,
        monitor: { intervalMs: 200, probeInitialDelayMs: 100 },
      });
    let gw: RunningGateway = await start(0);
    closers.push(() => gw.close());
    const client = new ClusterClient({ url: gw.url });
    const { job_id } = await client.submit({ workflow: txt2img({ steps: 40, size: 512 }) });
    const events: JobEvent[] = [];
    let restarted = false;
    const done = client.wait(job_id, {
      onEvent: (e) => {
        events.push(e);
        if (!restarted && e.type === 'job.progress') {
          restarted = true;
          const port = Number(new URL(gw.url).port);
          void gw.close().then(async () => {
            gw = await start(port);
          });
        }
      },
      timeoutMs: 15_000,
    });
    const job = await done;
    expect(restarted).toBe(true);
    expect(job.status).toBe('completed');
    expect(job.outputs).toHaveLength(1);
    const ids = events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(events.at(-1)).toMatchObject({ type: 'job.status', data: { status: 'completed' } });
  });
});
