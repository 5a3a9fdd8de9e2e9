import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import {
  api,
  type HealthSample,
  type InstanceHealthReport,
  type InstanceView,
  isNotAvailable,
} from '../../api/index.js';
import { HealthBadge, ProgressBar, StatusBadge } from '../../components/badges.js';
import { TimeChart } from '../../components/chart.js';
import { Link } from '../../components/link.js';
import { formatAgo, formatBytes, formatDuration, formatTime, toMs } from '../../state/format.js';
import { keys } from '../../state/query-keys.js';
import { useLatencySeries, VramBar } from './instance-card.js';
import { InstanceLogs } from './instance-logs.js';

/** Times (s) and response times (ms) for the chart: stored history, else live samples. */
export function historySeries(
  samples: readonly HealthSample[],
  live: ReadonlyArray<readonly [number, number]>,
): { t: number[]; v: Array<number | null> } {
  const t: number[] = [];
  const v: Array<number | null> = [];
  for (const s of samples) {
    const at = toMs(s.sampled_at);
    if (at === null) continue;
    t.push(at / 1000);
    v.push(s.ok ? s.latency_ms : null);
  }
  if (t.length === 0) {
    for (const [at, ms] of live) {
      t.push(at / 1000);
      v.push(ms);
    }
  }
  return { t, v };
}

function definedOnly<T extends object>(o: T | null): Partial<T> {
  if (!o) return {};
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The details panel of one instance: facts, health history chart, reasons, recent jobs. */
export function InstanceDetails(props: {
  instance: InstanceView;
  health: InstanceHealthReport | null;
  onClose: () => void;
}) {
  const { instance: i } = props;
  const live = useLatencySeries(i.id);
  // Opening the panel (or switching instance) moves focus into it.
  const headingRef = useRef<HTMLHeadingElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when another instance is shown
  useEffect(() => {
    headingRef.current?.focus();
  }, [i.id]);
  const detail = useQuery({
    queryKey: ['instance', i.id],
    queryFn: () => api.instances.get(i.id),
    refetchInterval: 10_000,
  });
  // The full report (devices, RAM, job stats) comes with the detail; live fields win.
  const h: InstanceHealthReport | null = detail.data?.report
    ? { ...detail.data.report, ...definedOnly(props.health) }
    : props.health;
  const history = useQuery({
    queryKey: keys.healthHistory(i.id),
    queryFn: () => api.instances.healthHistory(i.id, Date.now() - 3_600_000),
    refetchInterval: 30_000,
    retry: (n, e) => !isNotAvailable(e) && n < 1,
  });
  const jobs = useQuery({
    queryKey: ['jobs', `instance:${i.id}`],
    queryFn: async () => ({
      pages: [await api.jobs.list({ instance: i.id, limit: 20 })],
      pageParams: [null],
    }),
    retry: (n, e) => !isNotAvailable(e) && n < 1,
  });
  const { t, v } = historySeries(history.data ?? [], live);
  const recent = jobs.data?.pages[0]?.jobs ?? [];

  return (
    <aside className="details" aria-label={`Details of ${i.name}`}>
      <header className="details-head">
        <h2 className="flush" tabIndex={-1} ref={headingRef}>
          {i.name}
        </h2>
        <button type="button" className="icon" onClick={props.onClose} aria-label="Close details">
          ×
        </button>
      </header>
      <div className="badges">
        <StatusBadge status={i.status} />
        <HealthBadge health={h?.health ?? 'unknown'} />
        <span className="pill">{i.kind}</span>
        <span className="pill">source: {i.source}</span>
      </div>
      {i.description && <p>{i.description}</p>}
      <dl className="facts wide">
        <div>
          <dt>Address</dt>
          <dd>
            {i.tls ? 'https' : 'http'}://{i.host}:{i.port}
          </dd>
        </div>
        <div>
          <dt>ComfyUI</dt>
          <dd>{h?.comfyui_version ?? '—'}</dd>
        </div>
        <div>
          <dt>Circuit</dt>
          <dd>
            {h?.circuit ?? '—'}
            {h?.next_probe_at && <> (next probe {formatTime(h.next_probe_at)})</>}
          </dd>
        </div>
        <div>
          <dt>Last check</dt>
          <dd>{formatAgo(h?.checked_at)}</dd>
        </div>
        <div>
          <dt>Response (avg)</dt>
          <dd>{formatDuration(h?.response_ms?.avg ?? h?.latency_ms ?? null)}</dd>
        </div>
        <div>
          <dt>Checks</dt>
          <dd>{h?.checks ? `${h.checks.total} (${h.checks.failed} failed)` : '—'}</dd>
        </div>
        <div>
          <dt>Jobs</dt>
          <dd>
            {h?.jobs
              ? `${h.jobs.total} (${h.jobs.succeeded} ok, ${h.jobs.failed} failed), avg ${formatDuration(h.jobs.avg_execution_ms)}`
              : '—'}
          </dd>
        </div>
        <div>
          <dt>RAM</dt>
          <dd>
            {h?.ram
              ? `${formatBytes(h.ram.total - h.ram.free)} / ${formatBytes(h.ram.total)}`
              : '—'}
          </dd>
        </div>
        <div>
          <dt>Slots</dt>
          <dd>
            {i.max_concurrent} running + {i.prefetch} prefetch, timeout{' '}
            {formatDuration(i.timeout_ms)}
          </dd>
        </div>
        <div>
          <dt>Priority</dt>
          <dd>{i.priority}</dd>
        </div>
      </dl>
      <VramBar h={h} />
      {(h?.devices?.length ?? 0) > 1 && (
        <ul className="small">
          {h?.devices?.map((d) => (
            <li key={`${d.name}-${d.index}`}>
              {d.name}: {formatBytes(d.vram_free)} free of {formatBytes(d.vram_total)}
            </li>
          ))}
        </ul>
      )}
      {(h?.reason_details?.length ?? h?.reasons.length ?? 0) > 0 && (
        <div className="notice warn">
          <strong>Why {h?.health}:</strong>
          <ul>
            {(h?.reason_details?.map((r) => r.message) ?? h?.reasons ?? []).map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
        </div>
      )}
      {h?.last_error && (
        <p className="error-text">
          Last error{h.last_error_kind ? ` (${h.last_error_kind})` : ''}: {h.last_error}{' '}
          {h.last_error_at && <span className="muted">{formatAgo(h.last_error_at)}</span>}
        </p>
      )}
      <h3>Health history (last hour)</h3>
      <TimeChart
        label={`Response time of ${i.name}`}
        times={t}
        series={[{ label: 'response ms', color: 'var(--accent)', values: v }]}
        height={140}
        unit=" ms"
      />
      {history.data && history.data.length > 0 && (
        <p className="small muted">
          {history.data.filter((s) => s.ok === false || s.health === 'unhealthy').length} failed
          checks of {history.data.length}
        </p>
      )}
      <h3>Recent jobs</h3>
      {jobs.error && isNotAvailable(jobs.error) ? (
        <p className="muted">Jobs API not available on this gateway.</p>
      ) : recent.length === 0 ? (
        <p className="muted">No jobs yet.</p>
      ) : (
        <ul className="recent-jobs">
          {recent.map((j) => (
            <li key={j.id}>
              <Link to={`/jobs/${j.id}`}>
                <code>{j.id.slice(0, 8)}</code>
              </Link>{' '}
              <StatusBadge status={j.status} />{' '}
              {j.status === 'processing' ? (
                <ProgressBar value={j.progress?.percent ?? null} label={`Progress of ${j.id}`} />
              ) : (
                <span className="small muted">{formatAgo(j.completed_at ?? j.created_at)}</span>
              )}
            </li>
          ))}
        </ul>
      )}
      {i.kind === 'managed' && <InstanceLogs instanceId={i.id} />}
    </aside>
  );
}
