import { describe, expect, it } from 'vitest';
import { JobStats } from './job-stats.js';

describe('JobStats', () => {
  it('counts jobs, averages successful run times, keeps the last error', () => {
    const stats = new JobStats();
    stats.record({ ok: true, execution_ms: 1000 }, 10);
    stats.record({ ok: true }, 20);
    stats.record({ ok: true, execution_ms: 3000 }, 30);
    stats.record({ ok: false, error: 'CUDA out of memory', execution_ms: 50 }, 40);
    expect(stats.view(50)).toMatchObject({
      total: 4,
      succeeded: 3,
      failed: 1,
      avg_execution_ms: 2000,
      last_error: 'CUDA out of memory',
      last_error_at: new Date(40).toISOString(),
      last_job_at: new Date(40).toISOString(),
    });
  });

  it('gives a failure rate over the recent jobs once there are enough, and drops old ones', () => {
    const stats = new JobStats({ rateWindow: 4, minJobs: 3, rateMaxAgeMs: 1000 });
    stats.record({ ok: false }, 0);
    stats.record({ ok: false }, 0);
    expect(stats.failureRate(0)).toBeNull();
    stats.record({ ok: true }, 500);
    expect(stats.failureRate(500)).toEqual({ rate: 2 / 3, jobs: 3 });
    stats.record({ ok: true }, 600);
    stats.record({ ok: true }, 700); // the window keeps the 4 newest
    expect(stats.failureRate(700)).toEqual({ rate: 1 / 4, jobs: 4 });
    expect(stats.failureRate(1200)).toEqual({ rate: 0, jobs: 3 });
    expect(stats.failureRate(1600)).toBeNull();
  });

  it('counts errors within the error window', () => {
    const stats = new JobStats({ errorWindowMs: 60_000 });
    for (let i = 0; i < 6; i++) stats.record({ ok: false, error: 'x' }, i * 10_000);
    expect(stats.recentErrors(50_000)).toBe(6);
    expect(stats.recentErrors(75_000)).toBe(4);
    expect(stats.recentErrors(200_000)).toBe(0);
  });

  it('adds a stored snapshot to what was recorded since', () => {
    const before = new JobStats();
    before.record({ ok: true, execution_ms: 1000 }, 1);
    before.record({ ok: false, error: 'old' }, 2);
    const snapshot = before.snapshot('gpu', 3);
    expect(snapshot).toMatchObject({
      instance_id: 'gpu',
      updated_at: 3,
      jobs_total: 2,
      avg_run_ms: 1000,
    });

    const after = new JobStats();
    after.record({ ok: true, execution_ms: 3000 }, 10);
    after.restore(snapshot);
    expect(after.view(10)).toMatchObject({
      total: 3,
      succeeded: 2,
      failed: 1,
      avg_execution_ms: 2000,
      last_error: 'old',
      last_job_at: new Date(10).toISOString(),
    });
  });
});
