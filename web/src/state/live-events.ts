import type { QueryClient } from '@tanstack/react-query';
import { onApiKeyChange, openEventStream, type StreamState } from '../api/index.js';
import { applyEvent, unwrapEvent } from './apply-event.js';
import { liveSeries } from './live-series.js';
import { keys } from './query-keys.js';

let state: StreamState = 'connecting';
const listeners = new Set<() => void>();

/** The live connection's state, for useSyncExternalStore. */
export const streamState = {
  get: (): StreamState => state,
  subscribe(fn: () => void): () => void {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
};

function setState(s: StreamState): void {
  state = s;
  for (const fn of listeners) fn();
}

/**
 * Opens the dashboard's one live connection (GET /api/v1/events) and feeds every event into the
 * query caches. Job lists that cannot absorb an event are refetched, at most once a second.
 *
 * @example
 * const stop = connectLiveEvents(queryClient);
 */
export function connectLiveEvents(qc: QueryClient, url = '/api/v1/events'): () => void {
  let refetchTimer: ReturnType<typeof setTimeout> | null = null;
  const refetchJobs = () => {
    if (refetchTimer) return;
    refetchTimer = setTimeout(() => {
      refetchTimer = null;
      void qc.invalidateQueries({ queryKey: keys.jobsAll });
    }, 1000);
  };
  const open = () =>
    openEventStream({
      url,
      onState: setState,
      onReconnect: () => {
        // Events may have been missed while away.
        void qc.invalidateQueries();
      },
      onMessage(msg) {
        let payload: unknown;
        try {
          payload = JSON.parse(msg.data);
        } catch {
          return;
        }
        const [name, data] = unwrapEvent(msg.event, payload);
        if (applyEvent(qc, name, data, liveSeries).refetchJobs) refetchJobs();
      },
    });
  let stream = open();
  // A new key: connect again at once instead of waiting out the unauthorized backoff.
  const offKey = onApiKeyChange(() => {
    stream.close();
    stream = open();
  });
  return () => {
    offKey();
    if (refetchTimer) clearTimeout(refetchTimer);
    stream.close();
  };
}
