import { type InfiniteData, QueryClient } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';
import type { InstanceHealthReport, InstanceView, JobList, JobView } from '../api/index.js';
import { instanceView } from '../testing/fixtures.js';
import { applyEvent, type HealthMap, mergeJob, unwrapEvent } from './apply-event.js';
import { LiveSeries } from './live-series.js';
import { keys } from './query-keys.js';

function inst(id: string, over: Partial<InstanceView> = {}): InstanceView {
  return instanceView(id, { health: 'healthy', ...over });
}

function job(id: string, over: Partial<JobView> = {}): JobView {
  return {
    id,
    status: 'pending',
    phase: null,
    priority: 0,
    owner: null,
    pin: null,
    tags: [],
    template: null,
    attempts: 0,
    instance_id: null,
    progress: null,
    error: null,
    retry_of: null,
    created_at: '2026-01-01T00:00:00Z',
    started_at: null,
    completed_at: null,
    processing_time_ms: null,
    ...over,
  };
}

describe('unwrapEvent', () => {
  it("reads the gateway's {id,type,time,data} envelope and unnamed envelopes", () => {
    expect(
      unwrapEvent('instance.removed', {
        id: 3,
        type: 'instance.removed',
        time: 't',
        data: { id: 'a' },
      }),
    ).toEqual(['instance.removed', { id: 'a' }]);
    expect(unwrapEvent('message', { type: 'job.progress', data: { job_id: 'j' } })).toEqual([
      'job.progress',
      { job_id: 'j' },
    ]);
    expect(unwrapEvent('instance.status', { id: 'a', status: 'paused' })).toEqual([
      'instance.status',
      { id: 'a', status: 'paused' },
    ]);
  });
});

describe('applyEvent', () => {
  it('keeps the instance list current: added, changed (health kept), status, active, removed', () => {
    const qc = new QueryClient();
    qc.setQueryData(keys.instances, [inst('a', { active: true }), inst('b')]);
    const list = () => qc.getQueryData<InstanceView[]>(keys.instances)!;

    const { health: _h, ...registryView } = inst('c');
    applyEvent(qc, 'instance.added', { instance: registryView });
    expect(list().map((i) => i.id)).toEqual(['a', 'b', 'c']);

    const { health: _h2, ...changed } = inst('a', { name: 'renamed', active: true });
    applyEvent(qc, 'instance.changed', { instance: changed, changes: ['name'] });
    expect(list()[0]).toMatchObject({ name: 'renamed', health: 'healthy' });

    applyEvent(qc, 'instance.status', {
      id: 'b',
      status: 'paused',
      previous: 'running',
      reason: null,
    });
    expect(list()[1]!.status).toBe('paused');

    applyEvent(qc, 'instance.active', { id: 'c', previous: 'a' });
    expect(
      list()
        .filter((i) => i.active)
        .map((i) => i.id),
    ).toEqual(['c']);

    applyEvent(qc, 'instance.removed', { id: 'b', name: 'b' });
    expect(list().map((i) => i.id)).toEqual(['a', 'c']);
  });

  it('stores health reports and feeds the response-time series', () => {
    const qc = new QueryClient();
    const series = new LiveSeries(() => Date.parse('2026-01-01T00:00:10Z'));
    const report = {
      instance_id: 'a',
      health: 'unhealthy',
      circuit: 'open',
      reasons: ['circuit_open'],
      checked_at: '2026-01-01T00:00:05Z',
      latency_ms: 12,
      consecutive_failures: 3,
      last_error: 'refused',
      next_probe_at: null,
      comfyui_version: null,
      vram_free: null,
      vram_total: null,
      response_ms: { last: 12, avg: 10 },
      queue: { running: 1, pending: 2 },
    } satisfies InstanceHealthReport;
    applyEvent(
      qc,
      'instance.health',
      { id: 'a', health: 'unhealthy', previous: 'healthy', circuit: 'open', reasons: [], report },
      series,
    );
    expect(qc.getQueryData<HealthMap>(keys.health)?.a?.consecutive_failures).toBe(3);
    expect(series.get('latency:a')).toEqual([[Date.parse('2026-01-01T00:00:05Z'), 12]]);
    expect(series.get('queue:a')).toEqual([[Date.parse('2026-01-01T00:00:05Z'), 3]]);
    // Monitoring stopped: no report, the word changes and the rest stays.
    applyEvent(qc, 'instance.health', {
      id: 'a',
      health: 'unknown',
      previous: 'unhealthy',
      circuit: 'closed',
      reasons: [],
      report: null,
    });
    expect(qc.getQueryData<HealthMap>(keys.health)?.a).toMatchObject({
      health: 'unknown',
      last_error: 'refused',
    });
  });

  it('patches jobs in every cached list page and in the job query; unknown jobs ask for a refetch', () => {
    const qc = new QueryClient();
    const page = (jobs: JobView[]): InfiniteData<JobList> => ({
      pages: [{ jobs, next_cursor: null }],
      pageParams: [null],
    });
    qc.setQueryData(keys.jobs('all'), page([job('j1'), job('j2')]));
    qc.setQueryData(keys.jobs('active'), page([job('j1')]));
    qc.setQueryData(keys.job('j1'), job('j1'));

    const r = applyEvent(qc, 'job.progress', {
      job_id: 'j1',
      status: 'processing',
      value: 5,
      max: 20,
      node: '3',
    });
    expect(r.refetchJobs).toBe(false);
    for (const k of [keys.jobs('all'), keys.jobs('active')]) {
      const j = qc.getQueryData<InfiniteData<JobList>>(k)!.pages[0]!.jobs[0]!;
      expect(j.progress).toEqual({ percent: 25, node: '3', step: 5, steps: 20 });
      expect(j.status).toBe('processing');
    }
    expect(qc.getQueryData<JobView>(keys.job('j1'))?.progress?.percent).toBe(25);

    expect(applyEvent(qc, 'job.status', { job_id: 'new', status: 'pending' }).refetchJobs).toBe(
      true,
    );
    expect(applyEvent(qc, 'job.created', { job: job('j9') }).refetchJobs).toBe(true);
  });

  it('counts completions for the throughput chart', () => {
    const qc = new QueryClient();
    const now = Date.parse('2026-01-01T00:30:00Z');
    const series = new LiveSeries(() => now);
    applyEvent(
      qc,
      'job.completed',
      { job: job('j', { status: 'completed', processing_time_ms: 900 }) },
      series,
      now,
    );
    applyEvent(qc, 'job.failed', { job_id: 'k', status: 'failed' }, series, now);
    expect(series.get('jobs:completed')).toHaveLength(1);
    expect(series.get('jobs:failed')).toHaveLength(1);
    expect(series.get('run_ms')).toEqual([[now, 900]]);
    const b = series.buckets('jobs:completed', 60_000);
    expect(b.n.reduce((a, x) => a + x, 0)).toBe(1);
    expect(b.n.at(-1)).toBe(1);
  });

  it('never lets a replayed or late event move a job backwards', () => {
    const done = job('j', { status: 'completed', updated_at: '2026-01-01T00:00:09Z' });
    expect(mergeJob(done, { status: 'pending' })).toBe(done);
    expect(mergeJob(done, { progress: { percent: 10, node: null, step: null, steps: null } })).toBe(
      done,
    );
    const running = job('j', { status: 'processing', updated_at: '2026-01-01T00:00:05Z' });
    expect(
      mergeJob(running, {
        status: 'pending',
        updated_at: Date.parse('2026-01-01T00:00:01Z') as unknown as string,
      }),
    ).toBe(running);
    expect(
      mergeJob(running, { status: 'completed', updated_at: '2026-01-01T00:00:09Z' }).status,
    ).toBe('completed');
  });

  it('ignores what it does not know', () => {
    const qc = new QueryClient();
    expect(applyEvent(qc, 'alert.raised', { alert: {} })).toEqual({ refetchJobs: false });
    expect(applyEvent(qc, 'instance.status', 'nonsense')).toEqual({ refetchJobs: false });
  });
});
