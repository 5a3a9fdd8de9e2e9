import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type InstanceHealthReport, type InstanceView, isNotAvailable } from '../api/index.js';
import type { HealthMap } from './apply-event.js';
import { keys } from './query-keys.js';

/**
 * Every instance. Live events keep it current; the poll is a safety net when the events stream
 * is down.
 */
export function useInstances() {
  return useQuery({
    queryKey: keys.instances,
    queryFn: ({ signal }) => api.instances.list(signal),
    refetchInterval: 30_000,
  });
}

/** Health reports by instance id; falls back to the reports embedded in the instance list. */
export function useHealthMap(): HealthMap {
  const qc = useQueryClient();
  const q = useQuery({
    queryKey: keys.health,
    queryFn: async (): Promise<HealthMap> => {
      try {
        const all = await api.health.all();
        const map: HealthMap = {};
        for (const r of all) if (r?.instance_id) map[r.instance_id] = r;
        return map;
      } catch (error) {
        if (!isNotAvailable(error)) throw error;
        const list = qc.getQueryData<InstanceView[]>(keys.instances) ?? [];
        const map: HealthMap = {};
        for (const i of list) if (i.health) map[i.id] = i.health;
        return map;
      }
    },
    refetchInterval: 30_000,
  });
  return q.data ?? {};
}

/** The health of one instance: the live map first, then what the instance embeds. */
export function healthOf(map: HealthMap, instance: InstanceView): InstanceHealthReport | null {
  return map[instance.id] ?? instance.health ?? null;
}

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
