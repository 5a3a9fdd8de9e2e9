import type { JobView } from '../../api/index.js';
import { toMs } from '../../state/format.js';

export interface JobStats {
  /** Bucket starts, seconds since epoch (uPlot's x). */
  t: number[];
  completed: number[];
  failed: number[];
  /** Mean wait (queued → started) and run time of the jobs finished in the window, ms. */
  waitMean: number | null;
  runMean: number | null;
  /** Completed per minute over the last 10 minutes. */
  perMinute: number;
}

/**
 * Figures of the jobs that finished in the last `windowMs`, from a job listing (so the overview
 * has history after a reload, not only what it saw live).
 *
 * @example
 * jobStats(recentJobs, Date.now()).perMinute;
 */
export function jobStats(
  jobs: readonly JobView[],
  now: number,
  windowMs = 3_600_000,
  bucketMs = 60_000,
): JobStats {
  const start = Math.floor((now - windowMs) / bucketMs) * bucketMs;
  const count = Math.floor((now - start) / bucketMs) + 1;
  const t = Array.from({ length: count }, (_, i) => (start + i * bucketMs) / 1000);
  const completed = new Array<number>(count).fill(0);
  const failed = new Array<number>(count).fill(0);
  let waitSum = 0;
  let waitN = 0;
  let runSum = 0;
  let runN = 0;
  let recent = 0;
  for (const j of jobs) {
    if (j.status !== 'completed' && j.status !== 'failed') continue;
    const done = toMs(j.completed_at);
    if (done === null || done < start || done > now) continue;
    const i = Math.floor((done - start) / bucketMs);
    if (j.status === 'completed') {
      completed[i] = (completed[i] ?? 0) + 1;
      if (done >= now - 10 * 60_000) recent++;
    } else failed[i] = (failed[i] ?? 0) + 1;
    const queued = toMs(j.queued_at ?? j.created_at);
    const started = toMs(j.started_at);
    if (queued !== null && started !== null && started >= queued) {
      waitSum += started - queued;
      waitN++;
    }
    const run = j.processing_time_ms ?? (started === null ? null : done - started);
    if (run !== null && run >= 0) {
      runSum += run;
      runN++;
    }
  }
  return {
    t,
    completed,
    failed,
    waitMean: waitN ? waitSum / waitN : null,
    runMean: runN ? runSum / runN : null,
    perMinute: recent / 10,
  };
}
