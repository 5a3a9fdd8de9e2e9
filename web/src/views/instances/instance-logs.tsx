import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, errorMessage } from '../../api/index.js';

const LINE_CHOICES = [200, 1000, 5000] as const;

/**
 * The "Logs" panel of a managed instance: the last lines it printed (stdout, stderr and the
 * supervisor's notes: starts, exits, restarts), newest at the bottom, with a refresh button and
 * how many lines to show.
 *
 * @example
 * {instance.kind === 'managed' && <InstanceLogs instanceId={instance.id} />}
 */
export function InstanceLogs(props: { instanceId: string }) {
  const [lines, setLines] = useState<number>(200);
  const logs = useQuery({
    queryKey: ['instance-logs', props.instanceId, lines],
    queryFn: ({ signal }) => api.instances.logs(props.instanceId, lines, signal),
  });
  const shown = logs.data?.lines ?? [];
  return (
    <section aria-label="Logs">
      <h3>Logs</h3>
      <div className="toolbar">
        <label>
          Lines{' '}
          <select value={lines} onChange={(e) => setLines(Number(e.target.value))}>
            {LINE_CHOICES.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>{' '}
        <button type="button" onClick={() => void logs.refetch()} disabled={logs.isFetching}>
          {logs.isFetching ? 'Loading…' : 'Refresh'}
        </button>
      </div>
      {logs.error ? (
        <p className="error-text">Cannot read the logs: {errorMessage(logs.error)}</p>
      ) : logs.isPending ? (
        <p className="muted">Loading…</p>
      ) : shown.length === 0 ? (
        <p className="muted">Nothing printed yet.</p>
      ) : (
        <pre
          className="log-lines"
          role="log"
          aria-label={`Last ${shown.length} log lines`}
          style={{
            maxHeight: '24rem',
            overflow: 'auto',
            fontSize: '0.8em',
            whiteSpace: 'pre-wrap',
          }}
        >
          {shown.join('\n')}
        </pre>
      )}
    </section>
  );
}
