/**
 * An instance killed mid-job (emulator child process, SIGKILL): the job goes back to the queue
 * with that instance excluded and completes on another one; the breaker hears of it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, startEmulatorChild } from '../../fleet/health/testing/support.js';
import { openGateway } from './testing/gateway.js';
import { txt2img } from './testing/workflows.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

describe('failover', () => {
  it('completes a killed instance’s in-flight job on another instance', {
    timeout: 40_000,
  }, async () => {
    const a = await startEmulatorChild(await freePort(), ['--speed', '0.25']);
    cleanups.push(() => a.kill());
    const b = await startEmulatorChild(await freePort(), ['--speed', '4']);
    cleanups.push(() => b.kill());
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cc-failover-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const gw = await openGateway({
      dir,
      instances: [
        { name: 'a', port: a.port, priority: 0 },
        { name: 'b', port: b.port, priority: 5 },
      ],
      scheduler: { strategy: 'priority' },
      runner: { pollIntervalMs: 200 },
    });
    cleanups.push(() => gw.close());
    await gw.ready();
    const [idA, idB] = gw.ids;
    const r = await gw.service.submit({ workflow: txt2img({ steps: 20, size: 512 }) });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const job = await gw.service.get(r.job.id);
      if (job?.phase === 'running' && job.instance_id === idA) break;
      if (Date.now() > deadline) throw new Error(`never ran on a: ${JSON.stringify(job)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await a.kill();
    const job = await gw.service.wait(r.job.id, { timeoutMs: 20_000 });
    expect(job?.status).toBe('completed');
    expect(job?.instance_id).toBe(idB);
    expect(job?.excluded_instances).toEqual([idA]);
    const attempts = await gw.services.jobs.attempts(r.job.id);
    expect(attempts.map((x) => [x.instance_id, x.outcome])).toEqual([
      [idA, 'requeued'],
      [idB, 'completed'],
    ]);
    expect(await gw.service.outputs(r.job.id)).toHaveLength(1);
  });
});
