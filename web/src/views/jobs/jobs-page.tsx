import { useMemo, useState } from 'react';
import {
  errorMessage,
  isNotAvailable,
  JOB_STATUSES,
  type JobStatus,
  type JobView,
} from '../../api/index.js';
import { ProgressBar, StatusBadge } from '../../components/badges.js';
import { TableBox, Td, Th, Tr } from '../../components/grid-table.js';
import { Link } from '../../components/link.js';
import { VirtualList } from '../../components/virtual-list.js';
import { formatDuration, toMs } from '../../state/format.js';
import { useJobList } from '../../state/jobs-queries.js';
import { useInstances } from '../../state/queries.js';

/** Wait (queued → started, or until now) and run (started → finished, or until now) in ms. */
export function jobTimes(
  j: JobView,
  now = Date.now(),
): { wait: number | null; run: number | null } {
  const created = toMs(j.queued_at ?? j.created_at);
  const started = toMs(j.started_at);
  const done = toMs(j.completed_at);
  const wait =
    created === null ? null : (started ?? (j.status === 'pending' ? now : (done ?? now))) - created;
  const run =
    j.processing_time_ms ??
    (started === null ? null : (done ?? (j.status === 'processing' ? now : started)) - started);
  return {
    wait: wait === null ? null : Math.max(0, wait),
    run: run === null ? null : Math.max(0, run),
  };
}

/** A message for when the jobs API is missing on this gateway. */
export function JobsUnavailable() {
  return (
    <div className="notice warn" role="status">
      <strong>Jobs API not available on this gateway.</strong> Instances and health work; jobs
      appear here once the gateway serves <code>/api/v1/jobs</code>.
    </div>
  );
}

/** The live jobs table with filters; thousands of rows stay smooth (windowed). */
export function JobsPage() {
  const [status, setStatus] = useState<JobStatus | ''>('');
  const [instance, setInstance] = useState('');
  const [owner, setOwner] = useState('');
  const instances = useInstances();
  const q = useJobList({
    ...(status ? { status: [status] } : {}),
    ...(instance ? { instance } : {}),
    ...(owner ? { owner } : {}),
  });
  const jobs = useMemo(() => q.data?.pages.flatMap((p) => p.jobs) ?? [], [q.data]);
  const names = useMemo(
    () => new Map((instances.data ?? []).map((i) => [i.id, i.name] as const)),
    [instances.data],
  );
  const now = Date.now();

  return (
    <section className="page jobs-page" aria-labelledby="jobs-title">
      <div className="page-head">
        <h1 id="jobs-title">Jobs</h1>
        <span className="muted" aria-live="polite">
          {jobs.length}
          {q.hasNextPage ? '+' : ''} jobs
        </span>
        <span className="spacer" />
        <Link to="/jobs/new" className="button primary">
          Submit job
        </Link>
      </div>
      <search className="toolbar" aria-label="Filter jobs">
        <label className="field inline">
          <span>Status</span>
          <select value={status} onChange={(e) => setStatus(e.target.value as JobStatus | '')}>
            <option value="">any</option>
            {JOB_STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label className="field inline">
          <span>Instance</span>
          <select value={instance} onChange={(e) => setInstance(e.target.value)}>
            <option value="">any</option>
            {(instances.data ?? []).map((i) => (
              <option key={i.id} value={i.id}>
                {i.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field inline">
          <span>Owner</span>
          <input value={owner} onChange={(e) => setOwner(e.target.value)} placeholder="any" />
        </label>
      </search>
      {q.error ? (
        isNotAvailable(q.error) ? (
          <JobsUnavailable />
        ) : (
          <p className="error-text" role="alert">
            Could not load jobs: {errorMessage(q.error)}
          </p>
        )
      ) : (
        <TableBox className="jobs-table" label="Jobs" rowCount={jobs.length + 1}>
          <Tr header>
            <Th>Job</Th>
            <Th>Status</Th>
            <Th>Progress</Th>
            <Th>Instance</Th>
            <Th>Priority</Th>
            <Th>Owner</Th>
            <Th>Wait</Th>
            <Th>Run</Th>
          </Tr>
          {q.isPending ? (
            <p className="muted">Loading…</p>
          ) : jobs.length === 0 ? (
            <p className="muted">
              No jobs{status || instance || owner ? ' match the filter' : ' yet'}.
            </p>
          ) : (
            <VirtualList
              label="Job rows"
              items={jobs}
              rowHeight={40}
              getKey={(j) => j.id}
              onEndReached={() => {
                if (q.hasNextPage && !q.isFetchingNextPage) void q.fetchNextPage();
              }}
              renderRow={(j) => {
                const t = jobTimes(j, now);
                const pct =
                  j.status === 'completed'
                    ? 100
                    : j.status === 'processing'
                      ? (j.progress?.percent ?? 0)
                      : null;
                return (
                  <Tr data={{ 'data-job': j.id, 'data-status': j.status }}>
                    <Td>
                      <Link to={`/jobs/${j.id}`}>
                        <code>{j.id.slice(0, 8)}</code>
                      </Link>{' '}
                      <span className="muted small">{j.template?.name ?? ''}</span>
                    </Td>
                    <Td>
                      <StatusBadge status={j.status} />
                      {j.phase && j.status === 'processing' && (
                        <span className="small muted"> {j.phase.replaceAll('_', ' ')}</span>
                      )}
                    </Td>
                    <Td>
                      <ProgressBar
                        value={pct}
                        label={`Progress of job ${j.id.slice(0, 8)}`}
                        tone={j.status === 'failed' ? 'bad' : 'ok'}
                      />
                    </Td>
                    <Td>{j.instance_id ? (names.get(j.instance_id) ?? j.instance_id) : '—'}</Td>
                    <Td>{j.priority}</Td>
                    <Td>{j.owner ?? '—'}</Td>
                    <Td>{formatDuration(t.wait)}</Td>
                    <Td>{formatDuration(t.run)}</Td>
                  </Tr>
                );
              }}
            />
          )}
        </TableBox>
      )}
    </section>
  );
}
