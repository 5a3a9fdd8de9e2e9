import { memo, useSyncExternalStore } from 'react';
import type { InstanceHealthReport, InstanceView, JobView } from '../../api/index.js';
import { HealthBadge, ProgressBar, StatusBadge } from '../../components/badges.js';
import { Sparkline } from '../../components/sparkline.js';
import { formatBytes } from '../../state/format.js';
import { liveSeries } from '../../state/live-series.js';
import { InstanceActions } from './instance-actions.js';

/** The response-time series of an instance, re-rendering when it grows. */
export function useLatencySeries(id: string) {
  useSyncExternalStore(liveSeries.subscribe, liveSeries.version);
  return liveSeries.get(`latency:${id}`);
}

/**
 * Device name of an instance: what the live health report saw, else what the instance list
 * carried from the last check, else the configured GPU.
 */
export function deviceLabel(i: InstanceView, h: InstanceHealthReport | null): string {
  const d = h?.devices?.[0] ?? i.health_details?.devices?.[0];
  if (d) return d.name;
  return i.gpu_device ? `GPU ${i.gpu_device}` : '—';
}

export function VramBar({ h }: { h: InstanceHealthReport | null }) {
  const total = h?.vram_total ?? h?.devices?.[0]?.vram_total ?? null;
  const free = h?.vram_free ?? h?.devices?.[0]?.vram_free ?? null;
  if (!total || free === null) return <span className="muted small">VRAM —</span>;
  const used = ((total - free) / total) * 100;
  return (
    <div className="vram">
      <span className="small">
        VRAM {formatBytes(total - free)} / {formatBytes(total)}
      </span>
      <ProgressBar
        value={used}
        label="VRAM used"
        tone={used > 95 ? 'bad' : used > 85 ? 'warn' : 'ok'}
      />
    </div>
  );
}

interface CardProps {
  instance: InstanceView;
  health: InstanceHealthReport | null;
  jobs: JobView[];
  selected: boolean;
  onSelect: () => void;
  onEdit: () => void;
}

// Scrolling re-renders the visible rows; a card whose data did not change is skipped (the
// callbacks are recreated every render but do the same thing for the same instance).
function sameCard(a: CardProps, b: CardProps): boolean {
  return (
    a.instance === b.instance &&
    a.selected === b.selected &&
    JSON.stringify(a.jobs) === JSON.stringify(b.jobs) &&
    JSON.stringify(a.health) === JSON.stringify(b.health)
  );
}

/** One instance as a card in the grid. */
export const InstanceCard = memo(function InstanceCard(props: CardProps) {
  const { instance: i, health: h } = props;
  const series = useLatencySeries(i.id);
  const word = h?.health ?? 'unknown';
  const queue = h?.queue;
  const job = props.jobs[0];
  const ms = h?.response_ms?.last ?? h?.latency_ms ?? null;
  return (
    <article
      className={`card instance-card ${props.selected ? 'selected' : ''}`}
      aria-label={`Instance ${i.name}`}
      data-instance={i.id}
      data-health={word}
      data-status={i.status}
    >
      <header className="card-head">
        <h3>
          <button
            type="button"
            className="link title"
            onClick={props.onSelect}
            aria-expanded={props.selected}
          >
            {i.name}
          </button>
          {i.active && (
            <span className="pill" title="Active instance">
              active
            </span>
          )}
        </h3>
        <div className="badges">
          <StatusBadge status={i.status} />
          <HealthBadge health={word} />
        </div>
      </header>
      <dl className="facts">
        <div>
          <dt>Address</dt>
          <dd>
            {i.tls ? 'https://' : ''}
            {i.host}:{i.port}
          </dd>
        </div>
        <div>
          <dt>Device</dt>
          <dd title={deviceLabel(i, h)}>{deviceLabel(i, h)}</dd>
        </div>
        <div>
          <dt>Queue</dt>
          <dd>{queue ? `${queue.running} running / ${queue.pending} pending` : '—'}</dd>
        </div>
        <div>
          <dt>Response</dt>
          <dd className="row">
            <span>{ms === null ? '—' : `${Math.round(ms)} ms`}</span>
            <Sparkline
              points={series}
              label={`Response time of ${i.name}`}
              width={80}
              height={20}
            />
          </dd>
        </div>
      </dl>
      <VramBar h={h} />
      <div className="current-job">
        {job ? (
          <>
            <span className="small">
              Job <code>{job.id.slice(0, 8)}</code> {job.phase ?? job.status}
            </span>
            <ProgressBar
              value={job.progress?.percent ?? null}
              label={`Progress of job ${job.id}`}
            />
          </>
        ) : (
          <span className="muted small">No job running</span>
        )}
      </div>
      {(h?.consecutive_failures ?? 0) > 0 || h?.last_error ? (
        <p className="card-error small">
          {(h?.consecutive_failures ?? 0) > 0 && (
            <strong>{h?.consecutive_failures} consecutive failures. </strong>
          )}
          {h?.last_error && <span title={h.last_error}>Last error: {h.last_error}</span>}
        </p>
      ) : null}
      {i.status_reason && <p className="small muted">{i.status_reason}</p>}
      {i.tags.length > 0 && (
        <ul className="tags" aria-label="Tags">
          {i.tags.map((t) => (
            <li key={t} className="tag">
              {t}
            </li>
          ))}
        </ul>
      )}
      <InstanceActions instance={i} onEdit={props.onEdit} />
    </article>
  );
}, sameCard);
