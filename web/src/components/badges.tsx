import type { InstanceHealth, InstanceStatus, JobStatus } from '../api/index.js';

/** Status of an instance as a labelled badge. */
export function StatusBadge({ status }: { status: InstanceStatus | JobStatus }) {
  return (
    <span className={`badge status-${status}`} data-status={status}>
      {status}
    </span>
  );
}

/** Health as a labelled badge (colour plus the word, never colour alone). */
export function HealthBadge({ health }: { health: InstanceHealth }) {
  return (
    <span className={`badge health-${health}`} data-health={health}>
      <span className={`dot health-${health}`} aria-hidden="true" />
      {health}
    </span>
  );
}

/** A small coloured dot with an accessible name. */
export function HealthDot({ health }: { health: InstanceHealth }) {
  return <span className={`dot health-${health}`} role="img" aria-label={health} />;
}

/** A progress bar with its value for assistive tech. */
export function ProgressBar({
  value,
  label,
  tone,
}: {
  value: number | null;
  label: string;
  tone?: 'ok' | 'warn' | 'bad';
}) {
  const v = value === null ? null : Math.max(0, Math.min(100, value));
  return (
    <div
      className={`progress-wrap ${tone ?? ''}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      {...(v === null ? {} : { 'aria-valuenow': Math.round(v) })}
    >
      {/* The figure sits beside the track, never on the fill, so it keeps its contrast. */}
      <div className="progress">
        <div className="progress-fill" style={{ width: v === null ? '0%' : `${v}%` }} />
      </div>
      <span className="progress-text">{v === null ? '—' : `${Math.round(v)}%`}</span>
    </div>
  );
}
