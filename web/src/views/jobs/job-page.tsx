import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, errorMessage, isNotAvailable, type JobOutput } from '../../api/index.js';
import { ProgressBar, StatusBadge } from '../../components/badges.js';
import { Link } from '../../components/link.js';
import { toast } from '../../components/toasts.js';
import { formatBytes, formatDuration, formatTime } from '../../state/format.js';
import { useJobStream } from '../../state/job-stream.js';
import { useJob } from '../../state/jobs-queries.js';
import { useInstances } from '../../state/queries.js';
import { keys } from '../../state/query-keys.js';
import { navigate } from '../../state/router.js';
import { JobsUnavailable, jobTimes } from './jobs-page.js';

function isImage(o: JobOutput): boolean {
  return (o.mime ?? '').startsWith('image/') || /\.(png|jpe?g|webp|gif)$/i.test(o.filename ?? '');
}

/** The outputs: images inline, other files as downloads, text values as text. */
export function OutputGallery({ jobId, outputs }: { jobId: string; outputs: JobOutput[] }) {
  if (outputs.length === 0) return <p className="muted">No outputs.</p>;
  return (
    <ul className="gallery" aria-label="Outputs">
      {outputs.map((o) => {
        // Built here rather than taken from `o.url`: it carries the API key for <img> requests.
        const url = api.jobs.outputUrl(jobId, o.index);
        const name = o.filename ?? `output ${o.index}`;
        if (o.kind === 'value') {
          return (
            <li key={o.index} className="output-value">
              <span className="small muted">
                node {o.node_id} · {o.output_key}
              </span>
              <pre>{typeof o.value === 'string' ? o.value : JSON.stringify(o.value, null, 2)}</pre>
            </li>
          );
        }
        return (
          <li key={o.index}>
            {isImage(o) ? (
              <a href={url} target="_blank" rel="noreferrer">
                <img src={url} alt={`Output ${o.index}: ${name}`} loading="lazy" />
              </a>
            ) : (
              <div className="file-output">📄</div>
            )}
            <div className="small">
              <a href={api.jobs.outputUrl(jobId, o.index, true)} download={name}>
                {name}
              </a>{' '}
              <span className="muted">
                {formatBytes(o.size)} {o.mime ?? ''}
              </span>
            </div>
          </li>
        );
      })}
    </ul>
  );
}

/** A job: status, progress, timeline of events, error with the failing node, outputs, actions. */
export function JobPage({ id }: { id: string }) {
  const qc = useQueryClient();
  const job = useJob(id);
  const timeline = useJobStream(id);
  const instances = useInstances();
  const withNames = (text: string) =>
    (instances.data ?? []).reduce((t, i) => t.replaceAll(`on ${i.id}`, `on ${i.name}`), text);
  const [busy, setBusy] = useState(false);
  const [showWorkflow, setShowWorkflow] = useState(false);

  if (job.error) {
    return (
      <section className="page">
        <h1>Job {id.slice(0, 8)}</h1>
        {isNotAvailable(job.error) && (job.error as { code?: string }).code !== 'job_not_found' ? (
          <JobsUnavailable />
        ) : (
          <p className="error-text" role="alert">
            {errorMessage(job.error)}
          </p>
        )}
        <Link to="/jobs">Back to jobs</Link>
      </section>
    );
  }
  const j = job.data;
  if (!j) return <p className="muted">Loading…</p>;
  const t = jobTimes(j);
  const finished = j.status === 'completed' || j.status === 'failed' || j.status === 'cancelled';
  const pct =
    j.status === 'completed'
      ? 100
      : (j.progress?.percent ?? (j.status === 'processing' ? 0 : null));

  const cancel = async () => {
    setBusy(true);
    try {
      await api.jobs.cancel(id);
      toast('Cancel requested');
      void qc.invalidateQueries({ queryKey: keys.job(id) });
    } catch (e) {
      toast(`Cancel: ${errorMessage(e)}`, 'error');
    } finally {
      setBusy(false);
    }
  };
  const retry = async () => {
    setBusy(true);
    try {
      const r = await api.jobs.retry(id);
      toast('Retry submitted');
      void qc.invalidateQueries({ queryKey: keys.jobsAll });
      navigate(`/jobs/${r.job_id}`);
    } catch (e) {
      toast(`Retry: ${errorMessage(e)}`, 'error');
    } finally {
      setBusy(false);
    }
  };

  return (
    <section
      className="page job-page"
      aria-labelledby="job-title"
      data-job={j.id}
      data-status={j.status}
    >
      <div className="page-head">
        <h1 id="job-title">
          Job <code>{j.id.slice(0, 8)}</code>
        </h1>
        <StatusBadge status={j.status} />
        {j.phase && !finished && <span className="muted">{j.phase.replaceAll('_', ' ')}</span>}
        <span className="spacer" />
        {!finished && (
          <button
            type="button"
            onClick={() => void cancel()}
            disabled={busy || j.cancel_requested === true}
          >
            {j.cancel_requested ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
        {(j.status === 'failed' || j.status === 'cancelled') && (
          <button type="button" className="primary" onClick={() => void retry()} disabled={busy}>
            Retry
          </button>
        )}
      </div>
      {pct !== null && (
        <ProgressBar value={pct} label="Job progress" tone={j.status === 'failed' ? 'bad' : 'ok'} />
      )}
      {j.progress?.node && !finished && (
        <p className="small muted">
          Node {j.progress.node}
          {j.progress.steps ? ` — step ${j.progress.step ?? 0} of ${j.progress.steps}` : ''}
        </p>
      )}
      <dl className="facts wide">
        <div>
          <dt>Id</dt>
          <dd className="wrap">
            <code>{j.id}</code>
          </dd>
        </div>
        <div>
          <dt>Instance</dt>
          <dd>
            {j.instance_id ? (
              <Link to={`/instances/${encodeURIComponent(j.instance_id)}`}>
                {instances.data?.find((i) => i.id === j.instance_id)?.name ?? j.instance_id}
              </Link>
            ) : (
              '—'
            )}
          </dd>
        </div>
        <div>
          <dt>Template</dt>
          <dd>{j.template?.name ?? '—'}</dd>
        </div>
        <div>
          <dt>Priority</dt>
          <dd>{j.priority}</dd>
        </div>
        <div>
          <dt>Owner</dt>
          <dd>{j.owner ?? '—'}</dd>
        </div>
        <div>
          <dt>Attempts</dt>
          <dd>
            {j.attempts}
            {j.max_attempts ? ` of ${j.max_attempts}` : ''}
          </dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>{formatTime(j.created_at)}</dd>
        </div>
        <div>
          <dt>Wait / run</dt>
          <dd>
            {formatDuration(t.wait)} / {formatDuration(t.run)}
          </dd>
        </div>
        {j.retry_of && (
          <div>
            <dt>Retry of</dt>
            <dd>
              <Link to={`/jobs/${j.retry_of}`}>{j.retry_of.slice(0, 8)}</Link>
            </dd>
          </div>
        )}
      </dl>
      {j.error && (
        <div className="notice bad" role="alert">
          <h2 className="flush">Error: {j.error.code}</h2>
          <p>{j.error.message}</p>
          {(j.error.node_id || j.error.node_class) && (
            <p>
              Failing node: <code>{j.error.node_id ?? '?'}</code> (
              {j.error.node_class ?? 'unknown class'})
            </p>
          )}
          {j.error.exception_type && (
            <pre className="small">
              {j.error.exception_type}: {j.error.exception_message}
            </pre>
          )}
          {j.error.details && (
            <details>
              <summary>Details</summary>
              <pre className="small">{JSON.stringify(j.error.details, null, 2)}</pre>
            </details>
          )}
        </div>
      )}
      <h2>Outputs</h2>
      {j.status === 'completed' ? (
        <OutputGallery jobId={j.id} outputs={j.outputs ?? []} />
      ) : (
        <p className="muted">
          {finished ? 'No outputs.' : 'Outputs appear when the job completes.'}
        </p>
      )}
      <h2>Timeline</h2>
      {timeline.state === 'unavailable' ? (
        <p className="muted">The event log of this job is not available on this gateway.</p>
      ) : timeline.entries.length === 0 ? (
        <p className="muted">No events yet.</p>
      ) : (
        <ol className="timeline" aria-label="Job events">
          {timeline.entries.map((e) => (
            <li key={e.key}>
              <time>{formatTime(e.at)}</time> <strong>{e.type}</strong>{' '}
              <span className="small muted">{withNames(e.summary)}</span>
            </li>
          ))}
        </ol>
      )}
      <h2>
        <button
          type="button"
          className="link"
          aria-expanded={showWorkflow}
          onClick={() => setShowWorkflow((s) => !s)}
        >
          {showWorkflow ? '▾' : '▸'} Workflow
        </button>
      </h2>
      {showWorkflow && (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable block must be reachable by keyboard
        <pre className="json" tabIndex={0} title="Workflow JSON">
          {JSON.stringify(j.workflow ?? {}, null, 2)}
        </pre>
      )}
    </section>
  );
}
