/**
 * `Dispatcher.onInstanceStalled`: a job whose instance goes silent while it runs is requeued,
 * completes on another instance, and the listener hears which instance stalled.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.js';
import { openGateway } from './testing/gateway.js';
import { emptySave } from './testing/workflows.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function emulator(nodeMs: number): Promise<RunningEmulator> {
  const emu = await startEmulator({ port: 0, speed: 1, nodeDurations: { EmptyImage: nodeMs } });
  cleanups.push(() => emu.close());
  return emu;
}

describe('Dispatcher.onInstanceStalled', () => {
  it('tells which instance stalled; the job is requeued and completes elsewhere', async () => {
    // emu0 spends 60 s in one node without a single event: a stall after 400 ms.
    const silent = await emulator(60_000);
    const quick = await emulator(1);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cc-stall-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const gw = await openGateway({
      dir,
      instances: [
        { name: 'emu0', port: silent.port },
        { name: 'emu1', port: quick.port },
      ],
      runner: { stallTimeoutMs: 400 },
    });
    cleanups.push(() => gw.close());
    await gw.ready();
    const [silentId, quickId] = gw.ids;
    if (!silentId || !quickId) throw new Error('instances missing');
    await gw.registry.pause(quickId); // the first placement must be the silent instance
    const stalls: [string, string][] = [];
    const off = gw.dispatcher.onInstanceStalled((instanceId, jobId) =>
      stalls.push([instanceId, jobId]),
    );
    const { job } = await gw.service.submit({ workflow: emptySave({ prefix: 'stall' }) });
    for (let i = 0; i < 200 && stalls.length === 0; i++) {
      if (i === 5) await gw.registry.resume(quickId);
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(stalls).toEqual([[silentId, job.id]]);
    const done = await gw.service.wait(job.id, { timeoutMs: 10_000 });
    expect(done?.status).toBe('completed');
    expect(done?.instance_id).toBe(quickId);
    off();
  });
});
