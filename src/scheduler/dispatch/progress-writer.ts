import type { JobLease, JobPhase, JobRepository, ProgressUpdate } from '../../jobs/index.js';
import type { EventBus } from '../../store/index.js';
import type { JobEvents } from './job-events.js';

/** Default: at most two progress writes per second per job. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 500;

/**
 * Throttled progress of one attempt: the latest values are written (one row update plus a
 * `progress` entry in the job's event log) and published at most once per interval, trailing
 * (the first write comes one interval after the attempt started, so short jobs cost no progress
 * writes). A refused write (lease lost) stops further writes.
 *
 * @example
 * const p = new ProgressWriter(jobs, lease, bus, 500);
 * p.update({ percent: 40, node: '3', step: 8, steps: 20 });
 * await p.flush();
 */
export class ProgressWriter {
  readonly #jobs: JobRepository;
  readonly #lease: JobLease;
  readonly #bus: EventBus<JobEvents> | undefined;
  readonly #intervalMs: number;
  #pending: ProgressUpdate | undefined;
  #current: Required<ProgressUpdate> = { percent: null, node: null, step: null, steps: null };
  /** Starts at creation: a job that ends within one interval writes no progress at all. */
  #lastWrite = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  #lost = false;
  phase: JobPhase | null = null;

  constructor(
    jobs: JobRepository,
    lease: JobLease,
    bus: EventBus<JobEvents> | undefined,
    intervalMs = DEFAULT_PROGRESS_INTERVAL_MS,
  ) {
    this.#jobs = jobs;
    this.#lease = lease;
    this.#bus = bus;
    this.#intervalMs = Math.max(0, intervalMs);
  }

  /** Merges new values; written now if the interval has passed, else at its end. */
  update(progress: ProgressUpdate): void {
    if (this.#lost) return;
    this.#pending = { ...this.#pending, ...progress };
    if (this.#timer) return;
    const wait = this.#lastWrite + this.#intervalMs - Date.now();
    if (wait <= 0) this.#write();
    else {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#write();
      }, wait);
      this.#timer.unref();
    }
  }

  /** Writes what is pending now and waits for writes in flight. */
  async flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#write();
    }
    await this.#writing;
  }

  /** Drops what is pending (the attempt ended). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = undefined;
  }

  #write(): void {
    const update = this.#pending;
    this.#pending = undefined;
    if (!update || this.#lost) return;
    this.#lastWrite = Date.now();
    this.#current = { ...this.#current, ...update };
    const snapshot = { ...this.#current };
    this.#writing = this.#writing.then(async () => {
      try {
        const ok = await this.#jobs.updateProgress(this.#lease, snapshot);
        if (!ok) {
          this.#lost = true;
          return;
        }
        await this.#jobs.appendEvent(this.#lease.job_id, 'progress', {
          attempt: this.#lease.attempt,
          ...snapshot,
        });
        this.#bus?.publish('job.progress', {
          job_id: this.#lease.job_id,
          status: 'processing',
          phase: this.phase,
          instance_id: this.#lease.instance_id,
          attempt: this.#lease.attempt,
          progress: { ...snapshot, updated_at: this.#lastWrite },
        });
      } catch {
        // Progress is best effort: the attempt's outcome is written separately.
      }
    });
  }
}
