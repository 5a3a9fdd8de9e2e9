/**
 * Gateway-wide settings reaching the job layer through startGateway, as `serve` runs it:
 * MAX_CONCURRENT_JOBS caps the jobs on instances across the whole fleet.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../emulator/index.js';
import { emptySave } from '../scheduler/dispatch/testing/workflows.js';
import { type RunningGateway, startGateway } from './server.js';
import { FAST_MONITOR, until } from './testing/harness.js';

const quiet = () =>
  new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function gateway(env: NodeJS.ProcessEnv): Promise<RunningGateway> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cc-settings-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const emulators: RunningEmulator[] = [];
  for (let i = 0; i < 2; i++) {
    const emu = await startEmulator({ port: 0, speed: 1, nodeDurations: { EmptyImage: 600 } });
    cleanups.push(() => emu.close());
    emulators.push(emu);
  }
  const gw = await startGateway({
    port: 0,
    dataDir: dir,
    env,
    logDestination: quiet(),
    monitor: FAST_MONITOR,
    dashboardDir: false,
    quickInstances: emulators.map((e, i) => ({ name: `emu${i}`, host: '127.0.0.1', port: e.port })),
  });
  cleanups.push(() => gw.close());
  return gw;
}

/** Instances healthy and with known capabilities (what validation of a job needs). */
const ready = (gw: RunningGateway) =>
  gw.monitor
    .monitored()
    .filter((id) => gw.monitor.health(id).health === 'healthy' && gw.monitor.capabilities(id))
    .length;

interface JobList {
  jobs: { id: string; status: string }[];
}

/** Submits three 600 ms jobs and samples how many are processing at once until all are done. */
async function mostAtOnce(gw: RunningGateway): Promise<number> {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${gw.url}/api/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workflow: emptySave({ prefix: `cap-${i}` }) }),
    });
    expect(res.status).toBe(202);
    ids.push(((await res.json()) as { job_id: string }).job_id);
  }
  let most = 0;
  await until(
    async () => {
      const { jobs } = (await (await fetch(`${gw.url}/api/v1/jobs?limit=10`)).json()) as JobList;
      const mine = jobs.filter((j) => ids.includes(j.id));
      most = Math.max(most, mine.filter((j) => j.status === 'processing').length);
      return mine.length === 3 && mine.every((j) => j.status === 'completed');
    },
    20_000,
    'three jobs completed',
  );
  return most;
}

describe('gateway settings', () => {
  it('MAX_CONCURRENT_JOBS=1 runs one job at a time across two idle instances', async () => {
    const gw = await gateway({ MAX_CONCURRENT_JOBS: '1' });
    await until(() => ready(gw) === 2, 10_000, 'two healthy instances');
    expect(await mostAtOnce(gw)).toBe(1);
  }, 40_000);

  it('without a cap, both idle instances take work at once', async () => {
    const gw = await gateway({});
    await until(() => ready(gw) === 2, 10_000, 'two healthy instances');
    expect(await mostAtOnce(gw)).toBeGreaterThanOrEqual(2);
  }, 40_000);
});
