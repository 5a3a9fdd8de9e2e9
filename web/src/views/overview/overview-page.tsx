import { useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useSyncExternalStore } from 'react';
import { api, isNotAvailable } from '../../api/index.js';
import { HealthDot, ProgressBar } from '../../components/badges.js';
import { TimeChart } from '../../components/chart.js';
import { Link } from '../../components/link.js';
import { formatDuration } from '../../state/format.js';
import { useActiveJobs } from '../../state/jobs-queries.js';
import { liveSeries } from '../../state/live-series.js';
import { healthOf, useHealthMap, useInstances, useWarnings } from '../../state/queries.js';
import { keys } from '../../state/query-keys.js';
import { jobStats } from './job-stats.js';

const MINUTE = 60_000;

/** Mean of the values in a series over the last `windowMs`, null when empty. */
export function recentMean(
  points: ReadonlyArray<readonly [number, number]>,
  windowMs: number,
  now = Date.now(),
): number | null {
  let sum = 0;
  let n = 0;
  for (const [t, v] of points) {
    if (t >= now - windowMs) {
      sum += v;
      n++;
    }
  }
  return n === 0 ? null : sum / n;
}

/** Config warnings, prominent (bad env values, migrated files...). */
export function WarningsBanner() {
  const w = useWarnings();
  const list = w.data ?? [];
  if (list.length === 0) return null;
  return (
    <div className="notice warn banner" role="alert" aria-label="Configuration warnings">
      <strong>
        {list.length} configuration warning{list.length === 1 ? '' : 's'}
      </strong>
      <ul>
        {list.map((x) => (
          <li key={`${x.source}-${x.code}-${x.message}`}>
            <code>{x.source}</code>: {x.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

function Stat(props: { label: string; value: string; hint?: string }) {
  return (
    <div className="stat">
      <span className="stat-label">{props.label}</span>
      <span className="stat-value">{props.value}</span>
      {props.hint && <span className="stat-hint small muted">{props.hint}</span>}
    </div>
  );
}

/** Overview: throughput, queue depth, wait and run time, utilisation, warnings. */
export function OverviewPage() {
  const instances = useInstances();
  const health = useHealthMap();
  const { byInstance, available: jobsAvailable } = useActiveJobs();
  useSyncExternalStore(liveSeries.subscribe, liveSeries.version);
  const pending = useQuery({
    queryKey: keys.jobs('pending-count'),
    queryFn: async () => ({
      pages: [await api.jobs.list({ status: ['pending'], limit: 500 })],
      pageParams: [null],
    }),
    refetchInterval: 10_000,
    retry: (n, e) => !isNotAvailable(e) && n < 1,
  });
  // Recently finished jobs give the charts their history; live events refetch this list.
  const finished = useQuery({
    queryKey: keys.jobs('finished-recent'),
    queryFn: async () => ({
      pages: [await api.jobs.list({ status: ['completed', 'failed'], limit: 500 })],
      pageParams: [null],
    }),
    refetchInterval: 30_000,
    retry: (n, e) => !isNotAvailable(e) && n < 1,
  });
  const pendingCount = pending.data?.pages[0]?.jobs.length ?? null;
  const pendingMore = Boolean(pending.data?.pages[0]?.next_cursor);

  // Queue depth has no event of its own: sample it while the page is open.
  useEffect(() => {
    if (pendingCount !== null) liveSeries.add('queue_depth', Date.now(), pendingCount);
  }, [pendingCount]);

  const list = instances.data ?? [];
  const running = [...byInstance.values()].reduce((n, l) => n + l.length, 0);
  const slots = list
    .filter((i) => i.status === 'running' && i.enabled)
    .reduce((n, i) => n + i.max_concurrent, 0);
  const healthCounts = useMemo(() => {
    const c = { healthy: 0, degraded: 0, unhealthy: 0, unknown: 0 };
    for (const i of list) c[healthOf(health, i)?.health ?? 'unknown']++;
    return c;
  }, [list, health]);

  const depth = liveSeries.get('queue_depth');
  const utilisation = liveSeries.get('utilisation');
  const history = finished.data ? jobStats(finished.data.pages[0]?.jobs ?? [], Date.now()) : null;
  const liveDone = liveSeries.buckets('jobs:completed', MINUTE);
  const done = history ? { t: history.t, n: history.completed } : liveDone;
  const failed = history
    ? { t: history.t, n: history.failed }
    : liveSeries.buckets('jobs:failed', MINUTE);
  const waitMean = history?.waitMean ?? recentMean(liveSeries.get('wait_ms'), 3_600_000);
  const runMean = history?.runMean ?? recentMean(liveSeries.get('run_ms'), 3_600_000);
  const last10 = liveDone.n.slice(-10);
  const perMin =
    history?.perMinute ??
    (last10.length === 0 ? null : last10.reduce((a, b) => a + b, 0) / last10.length);

  return (
    <section className="page overview" aria-labelledby="overview-title">
      <div className="page-head">
        <h1 id="overview-title">Overview</h1>
      </div>
      <WarningsBanner />
      <div className="stats">
        <Stat
          label="Instances"
          value={`${healthCounts.healthy} / ${list.length} healthy`}
          hint={`${healthCounts.degraded} degraded, ${healthCounts.unhealthy} unhealthy`}
        />
        <Stat
          label="Queue depth"
          value={pendingCount === null ? '—' : `${pendingCount}${pendingMore ? '+' : ''}`}
          hint="jobs waiting in the gateway"
        />
        <Stat
          label="Running"
          value={jobsAvailable ? `${running} / ${slots}` : '—'}
          hint="jobs / slots"
        />
        <Stat
          label="Throughput"
          value={perMin === null || !jobsAvailable ? '—' : `${perMin.toFixed(1)} / min`}
          hint="completed, last 10 min"
        />
        <Stat label="Wait time" value={formatDuration(waitMean)} hint="mean, last hour" />
        <Stat label="Run time" value={formatDuration(runMean)} hint="mean, last hour" />
      </div>
      {!jobsAvailable && (
        <p className="muted">Jobs API not available on this gateway: job figures stay empty.</p>
      )}
      <div className="charts">
        <div className="card">
          <h2 className="flush">Jobs per minute (last hour)</h2>
          <TimeChart
            label="Completed and failed jobs per minute"
            times={done.t}
            series={[
              { label: 'completed', color: 'var(--ok)', values: done.n },
              { label: 'failed', color: 'var(--bad)', values: failed.n },
            ]}
          />
        </div>
        <div className="card">
          <h2 className="flush">Utilisation (last hour)</h2>
          <TimeChart
            label="Busy slots, percent"
            unit="%"
            times={utilisation.map((p) => p[0] / 1000)}
            series={[{ label: 'busy %', color: 'var(--ok)', values: utilisation.map((p) => p[1]) }]}
          />
        </div>
        <div className="card">
          <h2 className="flush">Queue depth (last hour)</h2>
          <TimeChart
            label="Jobs waiting"
            times={depth.map((p) => p[0] / 1000)}
            series={[{ label: 'pending', color: 'var(--accent)', values: depth.map((p) => p[1]) }]}
          />
        </div>
      </div>
      <div className="card">
        <h2 className="flush">Utilisation per instance</h2>
        {list.length === 0 ? (
          <p className="muted">
            No instances. <Link to="/instances">Add one</Link>.
          </p>
        ) : (
          <ul className="util">
            {list.map((i) => {
              const h = healthOf(health, i);
              const n = byInstance.get(i.id)?.length ?? h?.queue?.running ?? 0;
              return (
                <li key={i.id}>
                  <HealthDot health={h?.health ?? 'unknown'} />
                  <Link to={`/instances/${encodeURIComponent(i.id)}`}>{i.name}</Link>
                  <ProgressBar
                    value={(n / Math.max(1, i.max_concurrent)) * 100}
                    label={`Utilisation of ${i.name}`}
                  />
                  <span className="small muted">
                    {n} / {i.max_concurrent} · {i.status}
                  </span>
                </li>
              );
            })}
          </ul>
        )}
      </div>
    </section>
  );
}
