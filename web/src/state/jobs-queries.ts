import { type InfiniteData, useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { api, isNotAvailable, type JobList, type JobQuery, type JobView } from '../api/index.js';
import { keys } from './query-keys.js';

const noRetry404 = (n: number, e: unknown) => !isNotAvailable(e) && n < 2;

/** The stable cache key of a job filter. */
export function filterKey(q: JobQuery): string {
  return JSON.stringify({
    s: q.status ? [...q.status].sort() : [],
    i: q.instance ?? '',
    o: q.owner ?? '',
    t: q.template ?? '',
  });
}

/**
 * Jobs matching a filter, page by page (cursor); live events patch the cached pages.
 *
 * @example
 * const q = useJobList({ status: ['processing'] });
 */
export function useJobList(q: JobQuery, pageSize = 200) {
  return useInfiniteQuery({
    queryKey: keys.jobs(filterKey(q)),
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) =>
      api.jobs.list({ ...q, cursor: pageParam, limit: pageSize }, signal),
    getNextPageParam: (last: JobList) => last.next_cursor ?? undefined,
    retry: noRetry404,
    refetchInterval: 60_000,
  });
}

/**
 * Jobs on instances right now (processing), grouped by instance: the cards' "current job".
 * Stored as one page so event patches apply to it like any list.
 */
export function useActiveJobs(): { byInstance: Map<string, JobView[]>; available: boolean } {
  const q = useQuery({
    queryKey: keys.jobs('active'),
    queryFn: async ({ signal }): Promise<InfiniteData<JobList>> => ({
      pages: [await api.jobs.list({ status: ['processing'], limit: 500 }, signal)],
      pageParams: [null],
    }),
    retry: noRetry404,
    refetchInterval: 15_000,
  });
  const byInstance = new Map<string, JobView[]>();
  for (const page of q.data?.pages ?? []) {
    for (const j of page.jobs) {
      if (j.status !== 'processing' || !j.instance_id) continue;
      const list = byInstance.get(j.instance_id) ?? [];
      list.push(j);
      byInstance.set(j.instance_id, list);
    }
  }
  return { byInstance, available: !(q.error && isNotAvailable(q.error)) };
}

export function useJob(id: string) {
  return useQuery({
    queryKey: keys.job(id),
    queryFn: () => api.jobs.get(id),
    retry: noRetry404,
    refetchInterval: (query) => {
      const s = query.state.data?.status;
      return s === 'pending' || s === 'processing' ? 5_000 : false;
    },
  });
}
