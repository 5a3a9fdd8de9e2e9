/**
 * The job service as the HTTP API uses it: idempotent submissions, bus events, wait, retry,
 * refusals, against an emulated instance and a real SQLite store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator } from '../../emulator/index.js';
import { SubmissionInvalidError } from '../../jobs/index.js';
import { type Gateway, openGateway } from './testing/gateway.js';
import { emptySave, txt2img } from './testing/workflows.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function setup(options: { faults?: boolean; slow?: boolean } = {}): Promise<Gateway> {
  const emu = await startEmulator({
    port: 0,
    speed: options.slow ? 1 : Number.POSITIVE_INFINITY,
    ...(options.slow ? { nodeDurations: { KSampler: 5_000 } } : {}),
    ...(options.faults
      ? {
          faults: {
            nodeErrors: { EmptyImage: { exception_type: 'RuntimeError', exception_message: 'x' } },
          },
        }
      : {}),
  });
  cleanups.push(() => emu.close());
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cc-service-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const gw = await openGateway({ dir, instances: [{ name: 'emu0', port: emu.port }] });
  cleanups.push(() => gw.close());
  await gw.ready();
  return gw;
}

describe('JobService', () => {
  it('publishes created, status and completed events with the job', async () => {
    const gw = await setup();
    const seen: string[] = [];
    gw.bus.subscribe('*', (e) => {
      if (e.type.startsWith('job.')) seen.push(e.type);
    });
    const r = await gw.service.submit({ workflow: emptySave() });
    const done = await gw.service.wait(r.job.id, { timeoutMs: 10_000 });
    expect(done?.status).toBe('completed');
    expect(seen[0]).toBe('job.created');
    expect(seen).toContain('job.status');
    expect(seen.at(-1)).toBe('job.completed');
  });

  it('replays an idempotent submission without a second job or run', async () => {
    const gw = await setup();
    const body = { workflow: emptySave(), idempotency_key: 'k-1' };
    const a = await gw.service.submit(body, { owner: 'alice' });
    const b = await gw.service.submit(body, { owner: 'alice' });
    expect(b.created).toBe(false);
    expect(b.same_request).toBe(true);
    expect(b.job.id).toBe(a.job.id);
    await gw.service.wait(a.job.id, { timeoutMs: 10_000 });
    await gw.dispatcher.idle();
    expect((await gw.service.list()).jobs).toHaveLength(1);
    expect((await gw.services.jobs.attempts(a.job.id)).length).toBe(1);
  });

  it('refuses a malformed submission before storing anything', async () => {
    const gw = await setup();
    await expect(
      gw.service.submit({ workflow: emptySave(), priority: 'high' }),
    ).rejects.toBeInstanceOf(SubmissionInvalidError);
    expect((await gw.service.list()).jobs).toHaveLength(0);
  });

  it('retries a failed job as a new job that runs', async () => {
    const gw = await setup({ faults: true });
    const r = await gw.service.submit({ workflow: emptySave() });
    const failed = await gw.service.wait(r.job.id, { timeoutMs: 10_000 });
    expect(failed?.status).toBe('failed');
    const again = await gw.service.retry(r.job.id);
    expect(again.id).not.toBe(r.job.id);
    expect(again.retry_of).toBe(r.job.id);
    const done = await gw.service.wait(again.id, { timeoutMs: 10_000 });
    expect(done?.status).toBe('failed');
    expect(done?.attempts).toBe(1);
  });

  it('wait returns the job as it is when the time runs out, and unknown jobs as undefined', async () => {
    const gw = await setup({ slow: true });
    const r = await gw.service.submit({ workflow: txt2img({ steps: 20 }) });
    const job = await gw.service.wait(r.job.id, { timeoutMs: 100 });
    expect(job?.status === 'pending' || job?.status === 'processing').toBe(true);
    expect(await gw.service.wait('00000000-0000-4000-8000-000000000000')).toBeUndefined();
    const ctl = new AbortController();
    const waiting = gw.service.wait(r.job.id, { signal: ctl.signal });
    ctl.abort();
    expect((await waiting)?.id).toBe(r.job.id);
    await gw.service.cancel(r.job.id);
    expect((await gw.service.wait(r.job.id, { timeoutMs: 10_000 }))?.status).toBe('cancelled');
  });
});
