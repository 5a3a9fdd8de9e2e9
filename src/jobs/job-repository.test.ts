import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../store/index.js';
import type { Store } from '../store/store.js';
import { InputRepository } from './input-repository.js';
import { canTransition, JOB_STATUSES } from './job-model.js';
import { type JobLease, JobRepository, type NewJobOutput } from './job-repository.js';

let dir: string;
let store: Store;
let jobs: JobRepository;
let inputs: InputRepository;
let clock: number;
const extraStores: Store[] = [];

const workflow = {
  '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
  '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'x' } },
};
const HASH_A = 'a'.repeat(64);

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cc-jobs-'));
  store = await openStore({ kind: 'sqlite', file: path.join(dir, 'cc.db') });
  clock = 1_700_000_000_000;
  jobs = new JobRepository(store.db, { now: () => clock });
  inputs = new InputRepository(store.db, { now: () => clock });
});

afterEach(async () => {
  for (const s of extraStores.splice(0)) await s.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function output(n: number): NewJobOutput {
  return {
    node_id: '2',
    output_key: 'images',
    kind: 'file',
    filename: `x_${n}.png`,
    subfolder: '',
    type: 'output',
    size: 10 + n,
    sha256: String(n).repeat(64).slice(0, 64),
    mime: 'image/png',
    stored_path: `j/1/${n}-x.png`,
  };
}

async function claimed(
  instance = 'gpu-0',
  extra: Parameters<JobRepository['create']>[0] = { workflow },
) {
  const { job } = await jobs.create(extra);
  const lease = await jobs.claim(job.id, instance);
  if (!lease) throw new Error('claim failed');
  return { job, lease };
}

describe('create and read', () => {
  it('commits a pending job with every field, FIFO sequence and a created event', async () => {
    await inputs.record({ hash: HASH_A, size: 3, mime: 'image/png', original_name: 'a.png' });
    const { job, created } = await jobs.create({
      workflow,
      template: { name: 'upscale-image', params: { scale: 2 } },
      inputs: [{ hash: HASH_A, name: 'a.png', node_id: '1', input_name: 'image' }],
      priority: 5,
      owner: 'key-1',
      pin: 'gpu-1',
      tags: ['sdxl'],
      timeout_ms: 60_000,
      max_attempts: 2,
      metadata: { shot: 'sh010' },
      webhook_url: 'https://example.invalid/hook',
    });
    expect(created).toBe(true);
    expect(job).toMatchObject({
      status: 'pending',
      phase: null,
      priority: 5,
      owner: 'key-1',
      pin: 'gpu-1',
      tags: ['sdxl'],
      workflow,
      template: { name: 'upscale-image', params: { scale: 2 } },
      metadata: { shot: 'sh010' },
      timeout_ms: 60_000,
      max_attempts: 2,
      attempts: 0,
      created_at: clock,
      queued_at: clock,
      started_at: null,
      error: null,
      progress: null,
    });
    expect(job.id).toMatch(/^[0-9a-f-]{36}$/);
    const second = await jobs.create({ workflow });
    expect(second.job.seq).toBe(job.seq + 1);
    expect(await jobs.get(job.id)).toEqual(job);
    expect(await jobs.inputs(job.id)).toEqual([
      {
        index: 0,
        hash: HASH_A,
        name: 'a.png',
        node_id: '1',
        input_name: 'image',
        size: 3,
        mime: 'image/png',
      },
    ]);
    expect((await jobs.events(job.id)).map((e) => e.type)).toEqual(['created']);
    await expect(jobs.getOrThrow('nope')).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
  });

  it('the same owner and idempotency key return the same job; other owners get their own', async () => {
    const a = await jobs.create({
      workflow,
      owner: 'k1',
      idempotency_key: 'order-42',
      request_hash: 'h1',
    });
    const again = await jobs.create({
      workflow,
      owner: 'k1',
      idempotency_key: 'order-42',
      request_hash: 'h1',
    });
    expect(again).toMatchObject({ created: false, same_request: true });
    expect(again.job.id).toBe(a.job.id);
    const changed = await jobs.create({
      workflow,
      owner: 'k1',
      idempotency_key: 'order-42',
      request_hash: 'h2',
    });
    expect(changed).toMatchObject({ created: false, same_request: false });
    const other = await jobs.create({ workflow, owner: 'k2', idempotency_key: 'order-42' });
    expect(other.created).toBe(true);
    const anon1 = await jobs.create({ workflow, idempotency_key: 'order-42' });
    const anon2 = await jobs.create({ workflow, idempotency_key: 'order-42' });
    expect(anon2.job.id).toBe(anon1.job.id);
    const noKey = await Promise.all([jobs.create({ workflow }), jobs.create({ workflow })]);
    expect(noKey[0].job.id).not.toBe(noKey[1].job.id);
    expect((await jobs.list()).jobs).toHaveLength(5);
  });

  it('concurrent creations with one key make one job', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        jobs.create({ workflow, owner: 'k', idempotency_key: 'same' }),
      ),
    );
    expect(new Set(results.map((r) => r.job.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });
});

describe('state machine', () => {
  it('declares the transitions of the design', () => {
    expect(canTransition('pending', 'processing')).toBe(true);
    expect(canTransition('processing', 'pending')).toBe(true);
    expect(canTransition('pending', 'completed')).toBe(false);
    for (const s of ['completed', 'failed', 'cancelled'] as const) {
      for (const t of JOB_STATUSES) expect(canTransition(s, t)).toBe(false);
    }
  });

  it('claim → phases → progress → complete records the attempt, timings and outputs', async () => {
    const { job } = await jobs.create({ workflow });
    clock += 1000;
    const lease = (await jobs.claim(job.id, 'gpu-0')) as JobLease;
    expect(lease).toEqual({ job_id: job.id, attempt: 1, instance_id: 'gpu-0' });
    expect(await jobs.claim(job.id, 'gpu-1')).toBeUndefined();
    expect(await jobs.setPhase(lease, 'running')).toBe(true);
    expect(await jobs.updateProgress(lease, { percent: 40, node: '1', step: 2, steps: 5 })).toBe(
      true,
    );
    expect((await jobs.get(job.id))?.progress).toEqual({
      percent: 40,
      node: '1',
      step: 2,
      steps: 5,
      updated_at: clock,
    });
    clock += 2500;
    const done = await jobs.complete(lease, [
      output(0),
      { node_id: '3', output_key: 'text', kind: 'value', value: 'hi' },
    ]);
    expect(done.ok).toBe(true);
    if (!done.ok) return;
    expect(done.job).toMatchObject({
      status: 'completed',
      phase: null,
      instance_id: 'gpu-0',
      attempts: 1,
      started_at: job.created_at + 1000,
      completed_at: job.created_at + 3500,
      processing_time_ms: 2500,
    });
    expect(done.outputs.map((o) => [o.index, o.kind, o.filename ?? o.value])).toEqual([
      [0, 'file', 'x_0.png'],
      [1, 'value', 'hi'],
    ]);
    expect(await jobs.attempts(job.id)).toEqual([
      {
        job_id: job.id,
        n: 1,
        instance_id: 'gpu-0',
        started_at: job.created_at + 1000,
        ended_at: job.created_at + 3500,
        outcome: 'completed',
        error_code: null,
        error_message: null,
      },
    ]);
    expect((await jobs.events(job.id)).map((e) => e.data.status ?? e.data.phase)).toEqual([
      'pending',
      'processing',
      'running',
      'completed',
    ]);
    // A finished job takes no further runner updates.
    expect(await jobs.updateProgress(lease, { percent: 10 })).toBe(false);
    expect((await jobs.fail(lease, { code: 'x', message: 'late' })).ok).toBe(false);
  });

  it('the jobs and outputs that transitions return are what the store then reads back', async () => {
    const { job: created } = await jobs.create({ workflow, tags: ['x'], metadata: { a: 1 } });
    expect(created).toEqual(await jobs.get(created.id));
    clock += 10;
    const claimed = await jobs.claimJob(created.id, 'gpu-0');
    expect(claimed?.lease).toEqual({ job_id: created.id, attempt: 1, instance_id: 'gpu-0' });
    expect(claimed?.job).toEqual(await jobs.get(created.id));
    clock += 10;
    const lease = claimed?.lease as JobLease;
    const done = await jobs.complete(lease, [
      output(0),
      { node_id: '3', output_key: 'text', kind: 'value', value: { nested: ['v'] } },
    ]);
    if (!done.ok) throw new Error('refused');
    expect(done.job).toEqual(await jobs.get(created.id));
    expect(done.outputs).toEqual(await jobs.outputs(created.id));
    const other = await jobs.create({ workflow });
    const failedLease = (await jobs.claim(other.job.id, 'gpu-1')) as JobLease;
    const failed = await jobs.fail(failedLease, { code: 'x', message: 'boom' });
    if (!failed.ok) throw new Error('refused');
    expect(failed.job).toEqual(await jobs.get(other.job.id));
  });

  it('concurrent claims of one job in the same turn: one lease, one attempt', async () => {
    const { job } = await jobs.create({ workflow });
    const leases = await Promise.all(['a', 'b', 'c'].map((i) => jobs.claim(job.id, i)));
    expect(leases.filter((l) => l !== undefined)).toHaveLength(1);
    expect(await jobs.attempts(job.id)).toHaveLength(1);
  });

  it('two concurrent completions of one attempt: exactly one wins, outputs recorded once', async () => {
    const { job, lease } = await claimed();
    const results = await Promise.all([
      jobs.complete(lease, [output(0), output(1)]),
      jobs.complete(lease, [output(0), output(1)]),
      jobs.complete(lease, [output(5)]),
    ]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    const outs = await jobs.outputs(job.id);
    const winner = results.find((r) => r.ok);
    expect(outs).toEqual(winner?.ok ? winner.outputs : []);
    expect((await jobs.events(job.id)).filter((e) => e.data.status === 'completed')).toHaveLength(
      1,
    );
    for (const r of results.filter((x) => !x.ok)) expect(r.job?.status).toBe('completed');
  });

  it('a stale runner cannot complete after its attempt was requeued', async () => {
    const { job, lease: stale } = await claimed('gpu-0');
    const requeued = await jobs.requeue(stale, {
      code: 'instance_unreachable',
      message: 'ECONNREFUSED',
    });
    expect(requeued).toMatchObject({ ok: true, outcome: 'requeued' });
    expect(requeued.ok && requeued.job).toMatchObject({
      status: 'pending',
      instance_id: null,
      excluded_instances: ['gpu-0'],
      attempts: 1,
    });
    const fresh = (await jobs.claim(job.id, 'gpu-1')) as JobLease;
    expect(fresh.attempt).toBe(2);
    expect(await jobs.updateProgress(stale, { percent: 90 })).toBe(false);
    expect(await jobs.setPhase(stale, 'collecting')).toBe(false);
    expect(await jobs.holds(stale)).toBe(false);
    const late = await jobs.complete(stale, [output(9)]);
    expect(late.ok).toBe(false);
    expect(late.job?.status).toBe('processing');
    expect(await jobs.outputs(job.id)).toEqual([]);
    expect((await jobs.complete(fresh, [output(1)])).ok).toBe(true);
    expect((await jobs.outputs(job.id)).map((o) => o.filename)).toEqual(['x_1.png']);
    expect(
      (await jobs.attempts(job.id)).map((a) => [a.instance_id, a.outcome, a.error_code]),
    ).toEqual([
      ['gpu-0', 'requeued', 'instance_unreachable'],
      ['gpu-1', 'completed', null],
    ]);
  });

  it('a second connection to the same database file is refused once the job completed', async () => {
    const other = await openStore({ kind: 'sqlite', file: path.join(dir, 'cc.db') });
    extraStores.push(other);
    const otherJobs = new JobRepository(other.db);
    const { job, lease } = await claimed();
    expect((await jobs.complete(lease, [output(0)])).ok).toBe(true);
    const second = await otherJobs.complete(lease, [output(0), output(1)]);
    expect(second.ok).toBe(false);
    expect(await otherJobs.outputs(job.id)).toHaveLength(1);
  });

  it('requeue past max_attempts fails the job with the last error', async () => {
    const { job, lease } = await claimed('a', { workflow, max_attempts: 2 });
    await jobs.requeue(lease, { code: 'instance_unreachable', message: 'dropped' });
    const second = (await jobs.claim(job.id, 'b')) as JobLease;
    const r = await jobs.requeue(second, {
      code: 'instance_unreachable',
      message: 'dropped again',
    });
    expect(r).toMatchObject({ ok: true, outcome: 'failed' });
    expect(r.ok && r.job.error).toMatchObject({
      code: 'attempts_exhausted',
      message: 'gave up after 2 attempt(s); last: dropped again',
      details: { last_error_code: 'instance_unreachable' },
    });
    expect(r.ok && r.job.excluded_instances).toEqual(['a', 'b']);
    expect(await jobs.claim(job.id, 'c')).toBeUndefined();
  });

  it('requeue without exclusion keeps the instance eligible', async () => {
    const { lease } = await claimed('a');
    const r = await jobs.requeue(
      lease,
      { code: 'gateway_shutdown', message: 'stopping' },
      { exclude: false },
    );
    expect(r.ok && r.job.excluded_instances).toEqual([]);
  });

  it('fail records the error with node and exception details', async () => {
    const { lease } = await claimed();
    clock += 700;
    const r = await jobs.fail(lease, {
      code: 'execution_error',
      message: 'ImageToMask raised',
      node_id: '2',
      node_class: 'ImageToMask',
      exception_type: 'IndexError',
      exception_message: 'index 3 is out of bounds',
      details: { traceback: ['...'] },
    });
    expect(r.ok && r.job).toMatchObject({
      status: 'failed',
      processing_time_ms: 700,
      error: {
        code: 'execution_error',
        node_id: '2',
        node_class: 'ImageToMask',
        exception_type: 'IndexError',
        exception_message: 'index 3 is out of bounds',
        details: { traceback: ['...'] },
      },
    });
  });

  it('cancel: pending at once, processing by request then markCancelled, finished unchanged', async () => {
    const { job: p } = await jobs.create({ workflow });
    expect(await jobs.cancel(p.id)).toMatchObject({
      state: 'cancelled',
      job: { status: 'cancelled' },
    });
    expect(await jobs.claim(p.id, 'a')).toBeUndefined();

    const { job: r, lease } = await claimed();
    const req = await jobs.cancel(r.id);
    expect(req).toMatchObject({
      state: 'cancel_requested',
      job: { status: 'processing', cancel_requested: true },
    });
    expect((await jobs.markCancelled(lease)).ok).toBe(true);
    expect((await jobs.attempts(r.id))[0]?.outcome).toBe('cancelled');
    expect(await jobs.cancel(r.id)).toMatchObject({
      state: 'finished',
      job: { status: 'cancelled' },
    });
    expect(await jobs.cancel('00000000-0000-4000-8000-000000000000')).toEqual({
      state: 'not_found',
    });

    // A completion that lands before the runner acted on the cancel wins.
    const { job: late, lease: l2 } = await claimed();
    await jobs.cancel(late.id);
    expect((await jobs.complete(l2, [])).ok).toBe(true);
    expect((await jobs.markCancelled(l2)).ok).toBe(false);
  });

  it('failPending refuses a job at placement', async () => {
    const { job } = await jobs.create({ workflow });
    const r = await jobs.failPending(job.id, {
      code: 'no_capable_instance',
      message: 'no instance has X',
    });
    expect(r.ok && r.job.status).toBe('failed');
    expect((await jobs.failPending(job.id, { code: 'x', message: 'y' })).ok).toBe(false);
  });

  it('retry creates a new job linked to the failed one, with the same inputs', async () => {
    await inputs.record({ hash: HASH_A, size: 3, mime: 'image/png', original_name: 'a.png' });
    const { job, lease } = await claimed('a', {
      workflow,
      owner: 'k',
      inputs: [{ hash: HASH_A, name: 'a.png', node_id: '1', input_name: 'image' }],
      idempotency_key: 'once',
    });
    await expect(jobs.retry(job.id)).rejects.toMatchObject({ code: 'JOB_STATE_CONFLICT' });
    await jobs.fail(lease, { code: 'execution_error', message: 'boom' });
    const again = await jobs.retry(job.id);
    expect(again).toMatchObject({
      status: 'pending',
      retry_of: job.id,
      owner: 'k',
      idempotency_key: null,
      attempts: 0,
    });
    expect(again.id).not.toBe(job.id);
    expect((await jobs.inputs(again.id)).map((i) => i.hash)).toEqual([HASH_A]);
    expect((await jobs.get(job.id))?.status).toBe('failed');
  });
});

describe('queue, listings and counts', () => {
  it('queue position follows priority, then FIFO', async () => {
    const low = (await jobs.create({ workflow, priority: 0 })).job;
    const high = (await jobs.create({ workflow, priority: 10 })).job;
    const low2 = (await jobs.create({ workflow, priority: 0 })).job;
    expect(await jobs.queuePosition(high.id)).toBe(0);
    expect(await jobs.queuePosition(low.id)).toBe(1);
    expect(await jobs.queuePosition(low2.id)).toBe(2);
    expect((await jobs.listPending()).map((j) => j.id)).toEqual([high.id, low.id, low2.id]);
    await jobs.claim(high.id, 'a');
    expect(await jobs.queuePosition(high.id)).toBeUndefined();
    expect(await jobs.queuePosition(low2.id)).toBe(1);
  });

  it('filters by status, owner, instance and time range', async () => {
    const a = (await jobs.create({ workflow, owner: 'alice' })).job;
    clock += 10;
    const b = (await jobs.create({ workflow, owner: 'bob' })).job;
    clock += 10;
    const c = (await jobs.create({ workflow, owner: 'alice' })).job;
    await jobs.claim(b.id, 'gpu-1');
    await jobs.cancel(c.id);
    const ids = async (q: Parameters<JobRepository['list']>[0]) =>
      (await jobs.list(q)).jobs.map((j) => j.id);
    expect(await ids({ owner: 'alice' })).toEqual([c.id, a.id]);
    expect(await ids({ status: ['pending', 'processing'] })).toEqual([b.id, a.id]);
    expect(await ids({ status: [] })).toEqual([]);
    expect(await ids({ instance_id: 'gpu-1' })).toEqual([b.id]);
    expect(await ids({ created_from: a.created_at + 5, created_to: c.created_at })).toEqual([b.id]);
    await expect(jobs.list({ status: ['done' as never] })).rejects.toMatchObject({
      code: 'QUERY_INVALID',
    });
    expect(await jobs.countByStatus()).toEqual({
      pending: 1,
      processing: 1,
      completed: 0,
      failed: 0,
      cancelled: 1,
    });
    expect((await jobs.listProcessing()).map((j) => j.id)).toEqual([b.id]);
  });

  it('cursor paging is stable while new jobs arrive, in both orders', async () => {
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push((await jobs.create({ workflow })).job.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const res = await jobs.list({ limit: 3, cursor });
      seen.push(...res.jobs.map((j) => j.id));
      // Jobs arriving between pages must not shift what the next page shows.
      await jobs.create({ workflow });
      cursor = res.next_cursor;
      if (!cursor) break;
    }
    expect(seen).toEqual([...made].reverse());

    const oldest: string[] = [];
    cursor = null;
    for (let page = 0; page < 10; page++) {
      const res = await jobs.list({ limit: 4, cursor, order: 'oldest' });
      oldest.push(...res.jobs.map((j) => j.id));
      cursor = res.next_cursor;
      if (!cursor) break;
    }
    expect(oldest.slice(0, 7)).toEqual(made);
    expect(new Set(oldest).size).toBe(oldest.length);
    const first = await jobs.list({ limit: 1 });
    await expect(jobs.list({ cursor: first.next_cursor, order: 'oldest' })).rejects.toMatchObject({
      code: 'QUERY_INVALID',
    });
    await expect(jobs.list({ cursor: 'garbage' })).rejects.toMatchObject({ code: 'QUERY_INVALID' });
  });

  it('recent attempts per instance, newest first, with the job status', async () => {
    const { job: j1, lease: l1 } = await claimed('gpu-0');
    await jobs.requeue(l1, { code: 'instance_unreachable', message: 'x' });
    clock += 5;
    const { job: j2 } = await claimed('gpu-0');
    const recent = await jobs.recentByInstance('gpu-0');
    expect(recent.map((r) => [r.job_id, r.outcome, r.job_status])).toEqual([
      [j2.id, null, 'processing'],
      [j1.id, 'requeued', 'pending'],
    ]);
  });

  it('retention deletes finished jobs that finished before the cutoff, with their rows', async () => {
    await inputs.record({ hash: HASH_A, size: 3, mime: 'image/png', original_name: 'a.png' });
    const { job: old, lease } = await claimed('a', {
      workflow,
      inputs: [{ hash: HASH_A, name: 'a.png' }],
    });
    await jobs.complete(lease, [output(0)]);
    const running = (await claimed('b')).job;
    const pending = (await jobs.create({ workflow })).job;
    clock += 10_000;
    const { job: recent, lease: l3 } = await claimed('c');
    await jobs.fail(l3, { code: 'x', message: 'y' });
    expect(await jobs.deleteFinishedBefore(clock - 5_000)).toEqual([old.id]);
    expect(await jobs.get(old.id)).toBeUndefined();
    expect(await jobs.outputs(old.id)).toEqual([]);
    expect(await jobs.events(old.id)).toEqual([]);
    expect(await jobs.inputs(old.id)).toEqual([]);
    expect((await jobs.existing([old.id, running.id, pending.id, recent.id])).size).toBe(3);
    // The input is now unreferenced; it goes once it is old enough.
    expect(await inputs.deleteUnreferencedBefore(clock - 60_000)).toEqual([]);
    expect(await inputs.deleteUnreferencedBefore(clock + 1)).toEqual([HASH_A]);
  });
});
