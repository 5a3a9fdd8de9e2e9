import type { InfiniteData, QueryClient } from '@tanstack/react-query';
import type { InstanceHealthReport, InstanceView, JobList, JobView } from '../api/index.js';
import type { LiveSeries } from './live-series.js';
import { keys } from './query-keys.js';

/** Health reports by instance id (the `health` query's data). */
export type HealthMap = Record<string, InstanceHealthReport>;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Unwraps the event name and payload. The stream may name events (`event: instance.status`) or
 * send an envelope `{ type, data }` / `{ event, payload }` as unnamed messages.
 *
 * @example
 * unwrapEvent('message', { type: 'instance.removed', data: { id: 'a' } }); // ['instance.removed', { id: 'a' }]
 */
export function unwrapEvent(name: string, payload: unknown): [string, unknown] {
  if (name === 'message' && isObj(payload)) {
    const type = payload.type ?? payload.event ?? payload.name;
    if (typeof type === 'string') {
      const data = payload.data ?? payload.payload ?? payload;
      return [type, data];
    }
  }
  if (isObj(payload) && isObj(payload.data) && payload.type === name) return [name, payload.data];
  return [name, payload];
}

function upsertInstance(qc: QueryClient, instance: InstanceView): void {
  qc.setQueryData<InstanceView[]>(keys.instances, (list) => {
    if (!list) return list;
    const i = list.findIndex((x) => x.id === instance.id);
    if (i < 0) return [...list, instance];
    const next = list.slice();
    next[i] = { ...list[i], ...instance };
    return next;
  });
}

function patchInstance(qc: QueryClient, id: string, patch: Partial<InstanceView>): void {
  qc.setQueryData<InstanceView[]>(keys.instances, (list) =>
    list?.map((x) => (x.id === id ? { ...x, ...patch } : x)),
  );
}

const FINISHED = new Set(['completed', 'failed', 'cancelled']);

/**
 * A job with a change applied, unless the change is older than what is known: a replayed or late
 * event never moves a finished job back, nor a job to an earlier `updated_at`.
 *
 * @example
 * mergeJob(failedJob, { status: 'pending' }); // failedJob, unchanged
 */
export function mergeJob(old: JobView, patch: Partial<JobView>): JobView {
  const oldAt = toTime(old.updated_at);
  const newAt = toTime(patch.updated_at);
  if (oldAt !== null && newAt !== null && newAt < oldAt) return old;
  if (FINISHED.has(old.status) && patch.status !== undefined && !FINISHED.has(patch.status)) {
    return old;
  }
  if (FINISHED.has(old.status) && patch.status === undefined && 'progress' in patch) return old;
  return { ...old, ...patch };
}

function toTime(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : t;
  }
  return null;
}

/** Applies a job change to the job's own query and to every cached list page holding it. */
export function patchJob(qc: QueryClient, id: string, patch: Partial<JobView>): boolean {
  let found = false;
  qc.setQueryData<JobView>(keys.job(id), (job) => {
    if (!job) return job;
    found = true;
    return mergeJob(job, patch);
  });
  for (const [key, data] of qc.getQueriesData<InfiniteData<JobList>>({ queryKey: keys.jobsAll })) {
    if (!data?.pages) continue;
    let changed = false;
    const pages = data.pages.map((p) => {
      const i = p.jobs.findIndex((j) => j.id === id);
      if (i < 0) return p;
      changed = true;
      const jobs = p.jobs.slice();
      jobs[i] = mergeJob(jobs[i]!, patch);
      return { ...p, jobs };
    });
    if (changed) {
      found = true;
      qc.setQueryData(key, { ...data, pages });
    }
  }
  return found;
}

const JOB_FIELDS = [
  'status',
  'phase',
  'progress',
  'instance_id',
  'attempts',
  'error',
  'started_at',
  'completed_at',
  'processing_time_ms',
  'cancel_requested',
  'updated_at',
  'priority',
] as const;

function jobPatchFrom(data: Obj): Partial<JobView> {
  const patch: Obj = {};
  for (const f of JOB_FIELDS) if (f in data) patch[f] = data[f];
  // Progress events may carry the figures flat.
  if (!('progress' in data) && ('percent' in data || 'value' in data)) {
    const value = typeof data.value === 'number' ? data.value : null;
    const max = typeof data.max === 'number' ? data.max : null;
    patch.progress = {
      percent:
        typeof data.percent === 'number'
          ? data.percent
          : value !== null && max
            ? Math.round((value / max) * 1000) / 10
            : null,
      node: typeof data.node === 'string' ? data.node : null,
      step: value,
      steps: max,
    };
  }
  return patch as Partial<JobView>;
}

function numberOr(v: unknown, fallback: number): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return t;
  }
  return fallback;
}

export interface ApplyResult {
  /** Lists of jobs should be refetched (a job appeared that no cached list holds). */
  refetchJobs: boolean;
}

/**
 * Applies one live event to the query caches (and the live series), so every view shows it
 * without a refetch. Unknown events are ignored; events the caches cannot absorb ask for a
 * refetch through the result.
 *
 * @example
 * applyEvent(queryClient, 'instance.status', { id: 'gpu1', status: 'paused', previous: 'running', reason: null });
 */
export function applyEvent(
  qc: QueryClient,
  name: string,
  payload: unknown,
  series?: LiveSeries,
  now: number = Date.now(),
): ApplyResult {
  const result: ApplyResult = { refetchJobs: false };
  if (!isObj(payload)) return result;
  const d = payload;
  switch (name) {
    case 'instance.added':
    case 'instance.changed':
      if (isObj(d.instance)) upsertInstance(qc, d.instance as unknown as InstanceView);
      return result;
    case 'instance.removed':
      if (typeof d.id === 'string') {
        const id = d.id;
        qc.setQueryData<InstanceView[]>(keys.instances, (list) => list?.filter((x) => x.id !== id));
        qc.setQueryData<HealthMap>(keys.health, (map) => {
          if (!map || !(id in map)) return map;
          const { [id]: _gone, ...rest } = map;
          return rest;
        });
      }
      return result;
    case 'instance.status':
      if (typeof d.id === 'string' && typeof d.status === 'string') {
        patchInstance(qc, d.id, {
          status: d.status as InstanceView['status'],
          status_reason: typeof d.reason === 'string' ? d.reason : null,
        });
      }
      return result;
    case 'instance.active': {
      const id = typeof d.id === 'string' ? d.id : null;
      qc.setQueryData<InstanceView[]>(keys.instances, (list) =>
        list?.map((x) => (x.active === (x.id === id) ? x : { ...x, active: x.id === id })),
      );
      return result;
    }
    case 'instance.health': {
      if (typeof d.id !== 'string') return result;
      const id = d.id;
      const report = isObj(d.report) ? (d.report as unknown as InstanceHealthReport) : null;
      qc.setQueryData<HealthMap>(keys.health, (map) => {
        const prev = map?.[id];
        const base: InstanceHealthReport =
          report ??
          ({
            ...(prev ?? emptyReport(id)),
            health: d.health as InstanceHealthReport['health'],
            reasons: Array.isArray(d.reasons) ? (d.reasons as string[]) : [],
          } as InstanceHealthReport);
        return {
          ...(map ?? {}),
          [id]: { ...base, health: d.health as InstanceHealthReport['health'] },
        };
      });
      if (series && report) {
        const at = numberOr(report.checked_at, now);
        const ms = report.response_ms?.last ?? report.latency_ms;
        if (typeof ms === 'number') series.add(`latency:${id}`, at, ms);
        if (report.queue)
          series.add(`queue:${id}`, at, report.queue.running + report.queue.pending);
      }
      return result;
    }
    case 'config.warnings':
      void qc.invalidateQueries({ queryKey: keys.warnings });
      return result;
    default:
      break;
  }
  if (name.startsWith('job.') || name === 'job') {
    const job = isObj(d.job) ? (d.job as unknown as JobView) : null;
    const id =
      job?.id ?? (typeof d.job_id === 'string' ? d.job_id : typeof d.id === 'string' ? d.id : null);
    if (!id) return result;
    const patch: Partial<JobView> = job ? { ...job } : jobPatchFrom(d);
    if (Array.isArray(d.outputs)) patch.outputs = d.outputs as NonNullable<JobView['outputs']>;
    if (name === 'job.created' || name === 'job.submitted') result.refetchJobs = true;
    else if (!patchJob(qc, id, patch)) result.refetchJobs = true;
    const status = (job?.status ?? d.status) as string | undefined;
    if (series && status && (status === 'completed' || status === 'failed')) {
      series.add(`jobs:${status}`, now, 1);
      const runMs = job?.processing_time_ms ?? (d.processing_time_ms as number | undefined);
      if (typeof runMs === 'number') series.add('run_ms', now, runMs);
    }
    // Wait time: measured once per placement, when the job starts uploading to its instance.
    const phase = job?.phase ?? d.phase;
    if (series && status === 'processing' && phase === 'uploading' && job) {
      const queued = job.queued_at ?? job.created_at;
      const started = numberOr(job.started_at, now);
      if (queued) series.add('wait_ms', now, Math.max(0, started - numberOr(queued, started)));
    }
    if (status && ['completed', 'failed', 'cancelled'].includes(status)) {
      void qc.invalidateQueries({ queryKey: keys.job(id) });
    }
  }
  return result;
}

function emptyReport(id: string): InstanceHealthReport {
  return {
    instance_id: id,
    health: 'unknown',
    circuit: 'closed',
    reasons: [],
    checked_at: null,
    latency_ms: null,
    consecutive_failures: 0,
    last_error: null,
    next_probe_at: null,
    comfyui_version: null,
    vram_free: null,
    vram_total: null,
  };
}
