import { describe, expect, it } from 'vitest';
import type { JobView } from '../../api/index.js';
import { jobStats } from './job-stats.js';

const now = Date.parse('2026-01-01T12:00:00Z');
const at = (minAgo: number) => new Date(now - minAgo * 60_000).toISOString();

function job(over: Partial<JobView>): JobView {
  return {
    id: 'j',
    status: 'completed',
    phase: null,
    priority: 0,
    owner: null,
    pin: null,
    tags: [],
    template: null,
    attempts: 1,
    instance_id: 'gpu1',
    progress: null,
    error: null,
    retry_of: null,
    created_at: at(10),
    started_at: at(9),
    completed_at: at(8),
    processing_time_ms: 60_000,
    ...over,
  };
}

describe('jobStats', () => {
  it('buckets finished jobs per minute and averages wait and run times over the window', () => {
    const s = jobStats(
      [
        job({}),
        job({
          completed_at: at(0),
          created_at: at(3),
          started_at: at(2),
          processing_time_ms: 120_000,
        }),
        job({
          status: 'failed',
          completed_at: at(30),
          processing_time_ms: null,
          created_at: at(31),
          started_at: at(31),
        }),
        job({ completed_at: at(90) }), // outside the hour
        job({ status: 'processing', completed_at: null }),
        job({ status: 'cancelled', completed_at: at(1) }),
      ],
      now,
    );
    expect(s.t).toHaveLength(61);
    expect(s.completed.reduce((a, b) => a + b, 0)).toBe(2);
    expect(s.completed.at(-1)).toBe(1);
    expect(s.failed.reduce((a, b) => a + b, 0)).toBe(1);
    expect(s.perMinute).toBe(0.2);
    expect(s.waitMean).toBe((60_000 + 60_000 + 0) / 3);
    expect(s.runMean).toBe((60_000 + 120_000 + 60_000) / 3);
  });

  it('is empty without jobs', () => {
    const s = jobStats([], now);
    expect(s.waitMean).toBeNull();
    expect(s.runMean).toBeNull();
    expect(s.perMinute).toBe(0);
  });
});
