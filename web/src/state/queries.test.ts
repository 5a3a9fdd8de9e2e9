import { describe, expect, it } from 'vitest';
import { instanceView } from '../testing/fixtures.js';
import { LiveSeries } from './live-series.js';
import { recordLatencies, recordUtilisation } from './queries.js';

const inst = instanceView;

const figures = (in_flight: number) => ({
  in_flight,
  instance_queue: null,
  jobs_total: 0,
  jobs_succeeded: 0,
  jobs_failed: 0,
  avg_run_ms: null,
  last_job_at: null,
});

describe('series fed from the instance list', () => {
  const now = Date.parse('2026-01-01T00:10:00Z');

  it('samples utilisation over the slots of running instances (prefetch does not count twice)', () => {
    const s = new LiveSeries(() => now);
    recordUtilisation(
      [
        inst('a', { max_concurrent: 2, figures: figures(3) }),
        inst('b', { max_concurrent: 2, figures: figures(0) }),
        inst('c', { status: 'paused', max_concurrent: 4, figures: figures(1) }),
      ],
      now,
      s,
    );
    expect(s.get('utilisation')).toEqual([[now, 50]]);
    recordUtilisation([inst('c', { status: 'stopped' })], now, s);
    expect(s.get('utilisation')).toHaveLength(1);
  });

  it('records each health check once, however often the list is fetched', () => {
    const s = new LiveSeries(() => now);
    const details = (checked_at: string, latency_ms: number) => ({
      circuit: 'closed' as const,
      reasons: [],
      checked_at,
      latency_ms,
      consecutive_failures: 0,
      last_error: null,
      next_probe_at: null,
      comfyui_version: '0.8.0',
      vram_free: null,
      vram_total: null,
    });
    const a1 = inst('a', { health_details: details('2026-01-01T00:09:00Z', 12) });
    recordLatencies([a1], s);
    recordLatencies([a1], s);
    recordLatencies([inst('a', { health_details: details('2026-01-01T00:09:30Z', 20) })], s);
    expect(s.get('latency:a').map((p) => p[1])).toEqual([12, 20]);
  });
});
