import { describe, expect, it } from 'vitest';
import { alertConditions, degradedReasons } from './health-rules.js';
import type { AlertThresholds, DegradedThresholds } from './monitor-options.js';

const degraded: DegradedThresholds = {
  slowResponseMs: 5000,
  minVramFreeRatio: 0.05,
  jobFailureRate: 0.5,
  jobWindow: 20,
  minJobs: 5,
  jobWindowMs: 600_000,
};
const alerts: AlertThresholds = {
  jobErrors: 5,
  jobErrorWindowMs: 60_000,
  vramUseRatio: 0.9,
  ramUseRatio: 0.9,
  slowCheckMs: 30_000,
};
const GIB = 2 ** 30;
const device = (free: number, total = 24 * GIB, name = 'cuda:0 X') => ({
  name,
  type: 'cuda',
  index: 0,
  vram_total: total,
  vram_free: free,
});

describe('degradedReasons', () => {
  it('is empty for a fast instance with room and good jobs', () => {
    expect(
      degradedReasons(
        { avgResponseMs: 20, devices: [device(20 * GIB)], jobFailure: { rate: 0.1, jobs: 10 } },
        degraded,
      ),
    ).toEqual([]);
  });

  it('names each reason with its figure and threshold, worst device first', () => {
    const reasons = degradedReasons(
      {
        avgResponseMs: 7200.4,
        devices: [device(10 * GIB), device(GIB / 2, 24 * GIB, 'cuda:1 Y')],
        jobFailure: { rate: 0.6, jobs: 10 },
      },
      degraded,
    );
    expect(reasons.map((r) => r.code)).toEqual(['slow_response', 'low_vram', 'job_failure_rate']);
    expect(reasons[0]).toMatchObject({ value: 7200, threshold: 5000 });
    expect(reasons[0]?.message).toBe(
      'slow_response: answers in 7200 ms on average (threshold 5000 ms)',
    );
    expect(reasons[1]?.message).toBe(
      'low_vram: 512 MiB of 24576 MiB VRAM free on cuda:1 Y (2.1 %, threshold 5 %)',
    );
    expect(reasons[2]?.message).toBe(
      'job_failure_rate: 6 of the last 10 jobs failed (60 %, threshold 50 %)',
    );
  });
});

describe('alertConditions', () => {
  it('only speaks about what it was given', () => {
    expect(alertConditions({}, alerts)).toEqual({});
    expect(alertConditions({ jobErrors: 5 }, alerts)).toEqual({ job_errors: null });
  });

  it('raises each seed alert past its threshold', () => {
    const c = alertConditions(
      {
        circuit: { open: true, consecutiveFailures: 3, lastError: 'refused' },
        check: { ms: 31_000, timedOut: true },
        devices: [device(GIB)],
        ram: { total: 100, free: 5 },
        jobErrors: 6,
      },
      alerts,
    );
    expect(c.unhealthy).toEqual({
      reason: 'circuit open after 3 consecutive failures: refused',
      value: 3,
    });
    expect(c.slow_check).toEqual({
      reason: 'health check timed out after 31000 ms (threshold 30000 ms)',
      value: 31000,
    });
    expect(c.vram_high?.value).toBe(95.8);
    expect(c.ram_high).toEqual({ reason: 'RAM 95 % used (threshold 90 %)', value: 95 });
    expect(c.job_errors).toEqual({
      reason: '6 job errors in the last 60 s (threshold 5)',
      value: 6,
    });
  });

  it('clears conditions that no longer hold', () => {
    expect(
      alertConditions(
        {
          circuit: { open: false, consecutiveFailures: 0, lastError: null },
          check: { ms: 12, timedOut: false },
          devices: [device(20 * GIB)],
          ram: null,
          jobErrors: 0,
        },
        alerts,
      ),
    ).toEqual({
      unhealthy: null,
      slow_check: null,
      vram_high: null,
      ram_high: null,
      job_errors: null,
    });
  });
});
