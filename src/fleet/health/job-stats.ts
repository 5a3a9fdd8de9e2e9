import type { InstanceStatsSnapshot } from '../../store/index.js';

/** One finished job, as the scheduler reports it. */
export interface JobResult {
  ok: boolean;
  /** Run time on the instance, ms (omit when unknown, e.g. failed before it started). */
  execution_ms?: number;
  /** What went wrong (message), for failed jobs. */
  error?: string;
}

/** Job figures of one instance, as shown. Times are ISO-8601. */
export interface JobStatsView {
  total: number;
  succeeded: number;
  failed: number;
  /** Mean run time of successful jobs, null until one succeeded. */
  avg_execution_ms: number | null;
  last_error: string | null;
  last_error_at: string | null;
  last_job_at: string | null;
  /** Failed share of the recent jobs (see the degraded thresholds), null with too few jobs. */
  recent_failure_rate: number | null;
  /** Failed jobs within the alert window (default the last minute). */
  recent_errors: number;
}

/** Window settings of {@link JobStats}. */
export interface JobStatsWindows {
  /** Recent jobs the failure rate looks at (default 20). */
  rateWindow: number;
  /** Fewest recent jobs for a rate (default 5). */
  minJobs: number;
  /** Jobs older than this (ms) leave the rate (default 10 min). */
  rateMaxAgeMs: number;
  /** Window of the error count, ms (default 60 000). */
  errorWindowMs: number;
}

const DEFAULT_WINDOWS: JobStatsWindows = {
  rateWindow: 20,
  minJobs: 5,
  rateMaxAgeMs: 10 * 60_000,
  errorWindowMs: 60_000,
};

const MAX_ERROR_TIMES = 10_000;

/**
 * Totals, mean run time, last error, recent failure rate and errors per window of one instance's
 * jobs. Fed by the scheduler; totals survive restarts through the store's stats snapshot.
 *
 * @example
 * const stats = new JobStats();
 * stats.record({ ok: true, execution_ms: 812 }, Date.now());
 * stats.view(Date.now()).avg_execution_ms; // 812
 */
export class JobStats {
  readonly #windows: JobStatsWindows;
  #total = 0;
  #succeeded = 0;
  #failed = 0;
  #avgMs: number | null = null;
  #timedSuccesses = 0;
  #lastError: string | null = null;
  #lastErrorAt: number | null = null;
  #lastJobAt: number | null = null;
  #recent: { at: number; ok: boolean }[] = [];
  #errorTimes: number[] = [];

  constructor(windows: Partial<JobStatsWindows> = {}) {
    this.#windows = { ...DEFAULT_WINDOWS, ...windows };
  }

  /** Adds one finished job. */
  record(result: JobResult, now: number): void {
    this.#total++;
    this.#lastJobAt = now;
    if (result.ok) {
      this.#succeeded++;
      const ms = result.execution_ms;
      if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0) {
        this.#timedSuccesses++;
        const prev = this.#avgMs ?? 0;
        this.#avgMs = prev + (ms - prev) / this.#timedSuccesses;
      }
    } else {
      this.#failed++;
      this.#lastError = result.error ?? 'failed';
      this.#lastErrorAt = now;
      this.#errorTimes.push(now);
      if (this.#errorTimes.length > MAX_ERROR_TIMES) this.#errorTimes.shift();
    }
    this.#recent.push({ at: now, ok: result.ok });
    if (this.#recent.length > this.#windows.rateWindow) this.#recent.shift();
  }

  /** Failed share of the recent jobs, or null with fewer than `minJobs` of them. */
  failureRate(now: number): { rate: number; jobs: number } | null {
    const since = now - this.#windows.rateMaxAgeMs;
    const recent = this.#recent.filter((r) => r.at >= since);
    if (recent.length < this.#windows.minJobs || recent.length === 0) return null;
    const failed = recent.filter((r) => !r.ok).length;
    return { rate: failed / recent.length, jobs: recent.length };
  }

  /** Failed jobs within the error window ending now. */
  recentErrors(now: number): number {
    const since = now - this.#windows.errorWindowMs;
    while (this.#errorTimes.length > 0 && (this.#errorTimes[0] ?? 0) < since) {
      this.#errorTimes.shift();
    }
    return this.#errorTimes.length;
  }

  /** The figures, for reports. */
  view(now: number): JobStatsView {
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      total: this.#total,
      succeeded: this.#succeeded,
      failed: this.#failed,
      avg_execution_ms: this.#avgMs === null ? null : Math.round(this.#avgMs),
      last_error: this.#lastError,
      last_error_at: iso(this.#lastErrorAt),
      last_job_at: iso(this.#lastJobAt),
      recent_failure_rate: this.failureRate(now)?.rate ?? null,
      recent_errors: this.recentErrors(now),
    };
  }

  /** The snapshot kept in the store. */
  snapshot(instanceId: string, now: number): InstanceStatsSnapshot {
    return {
      instance_id: instanceId,
      updated_at: now,
      jobs_total: this.#total,
      jobs_succeeded: this.#succeeded,
      jobs_failed: this.#failed,
      avg_run_ms: this.#avgMs,
      last_error: this.#lastError,
      last_error_at: this.#lastErrorAt,
      details: { timed_successes: this.#timedSuccesses, last_job_at: this.#lastJobAt },
    };
  }

  /** Takes the totals from a stored snapshot, adding what was recorded since. */
  restore(snapshot: InstanceStatsSnapshot): void {
    const timed = Number(snapshot.details.timed_successes);
    const storedTimed = Number.isFinite(timed) && timed >= 0 ? timed : snapshot.jobs_succeeded;
    const storedAvg = snapshot.avg_run_ms;
    if (storedAvg !== null && storedTimed > 0) {
      const mine = this.#timedSuccesses;
      const sum = (this.#avgMs ?? 0) * mine + storedAvg * storedTimed;
      this.#timedSuccesses = mine + storedTimed;
      this.#avgMs = sum / this.#timedSuccesses;
    }
    this.#total += snapshot.jobs_total;
    this.#succeeded += snapshot.jobs_succeeded;
    this.#failed += snapshot.jobs_failed;
    if (this.#lastErrorAt === null && snapshot.last_error !== null) {
      this.#lastError = snapshot.last_error;
      this.#lastErrorAt = snapshot.last_error_at;
    }
    const lastJob = Number(snapshot.details.last_job_at);
    if (this.#lastJobAt === null && Number.isFinite(lastJob) && lastJob > 0) {
      this.#lastJobAt = lastJob;
    }
  }
}
