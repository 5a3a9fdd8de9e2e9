import { useQuery } from '@tanstack/react-query';
import { api, type InstanceView, isNotAvailable } from '../api/index.js';
import type { HealthMap } from './apply-event.js';
import { toMs } from './format.js';
import { type LiveSeries, liveSeries } from './live-series.js';
import { keys } from './query-keys.js';

/**
 * Every instance. Live events keep it current; the poll is a safety net when the events stream
 * is down.
 */
export function useInstances() {
  return useQuery({
    queryKey: keys.instances,
    queryFn: async ({ signal }) => {
      const list = await api.instances.list(signal);
      recordLatencies(list);
      recordUtilisation(list, Date.now());
      return list;
    },
    // Health events fire on changes only; response times and queues come with the list.
    refetchInterval: 5_000,
  });
}

/**
 * Samples the fleet's utilisation: the gateway's prompts on instances (running + prefetched) over
 * the slots of running instances, in percent.
 *
 * @example
 * recordUtilisation(list, Date.now()); // liveSeries 'utilisation' gets a point
 */
export function recordUtilisation(
  list: readonly InstanceView[],
  at: number,
  series: LiveSeries = liveSeries,
): void {
  let slots = 0;
  let busy = 0;
  for (const i of list) {
    if (i.status !== 'running' || !i.enabled) continue;
    slots += i.max_concurrent;
    busy += Math.min(i.max_concurrent, i.figures?.in_flight ?? 0);
  }
  if (slots > 0) series.add('utilisation', at, (busy / slots) * 100);
}

/** Feeds each instance's last check into its response-time series (once per check). */
export function recordLatencies(
  list: readonly InstanceView[],
  series: LiveSeries = liveSeries,
): void {
  for (const i of list) {
    const d = i.health_details;
    const at = toMs(d?.checked_at ?? null);
    if (at === null || d?.latency_ms === null || d?.latency_ms === undefined) continue;
    const name = `latency:${i.id}`;
    const points = series.get(name);
    const last = points[points.length - 1];
    if (last && last[0] >= at) continue;
    series.add(name, at, d.latency_ms);
  }
}

/** Live health reports by instance id (filled by `instance.health` events). */
export function useHealthMap(): HealthMap {
  const q = useQuery({
    queryKey: keys.health,
    queryFn: (): HealthMap => ({}),
    staleTime: Number.POSITIVE_INFINITY,
  });
  return q.data ?? {};
}

export { healthOf } from './health.js';

export function useWarnings() {
  return useQuery({
    queryKey: keys.warnings,
    queryFn: () => api.config.warnings(),
    refetchInterval: 60_000,
    retry: (n, e) => !isNotAvailable(e) && n < 2,
  });
}

export function useTemplates() {
  return useQuery({
    queryKey: keys.templates,
    queryFn: () => api.templates.list(),
    retry: (n, e) => !isNotAvailable(e) && n < 2,
  });
}
