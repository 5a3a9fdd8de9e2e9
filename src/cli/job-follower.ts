/**
 * Follows jobs to the end on their event streams and shows their progress (node, step,
 * instance) on a {@link ProgressDisplay}. Used by `submit --wait`, `templates run --wait` and
 * `jobs watch`.
 */
import type { ClusterClient, JobView } from '../client/index.js';
import { JobProgressTracker } from './job-progress-tracker.js';
import type { JobProgressState, ProgressDisplay } from './progress.js';

/** A job to follow, and the label its bar or lines carry. */
export interface FollowTarget {
  id: string;
  label: string;
  /** The job's workflow, to name the class of the node running (fetched when missing). */
  workflow?: Record<string, unknown> | undefined;
}

/** How one followed job ended: its final record, or why following it stopped. */
export type FollowResult =
  | { id: string; label: string; job: JobView }
  | { id: string; label: string; error: unknown };

/**
 * Instance names by id, fetched once and again when an unknown id shows up.
 *
 * @example
 * const names = new InstanceNames(client); await names.load(); names.name(id);
 */
export class InstanceNames {
  readonly #client: ClusterClient;
  readonly #names = new Map<string, string>();
  #refreshing: Promise<void> | undefined;

  constructor(client: ClusterClient) {
    this.#client = client;
  }

  /** Fetches the list (errors are ignored: ids are shown instead of names). */
  load(): Promise<void> {
    this.#refreshing ??= this.#client
      .listInstances()
      .then((list) => {
        for (const i of list) this.#names.set(i.id, i.name);
      })
      .catch(() => undefined)
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  /** The name of an instance, or its short id while unknown. */
  name(id: string | null | undefined): string | null {
    if (!id) return null;
    const known = this.#names.get(id);
    if (known) return known;
    void this.load();
    return id.slice(0, 8);
  }
}

/**
 * Why a finished job did not complete, in one line (null when the job says nothing).
 *
 * @example
 * failureReason(job); // 'node 3 (ImageBlur): CUDA out of memory'
 */
export function failureReason(job: JobView): string | null {
  const e = job.error;
  if (!e) return null;
  const where = e.node_id ? `node ${e.node_id}${e.node_class ? ` (${e.node_class})` : ''}: ` : '';
  return `${where}${e.exception_message ?? e.message}`.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * The one line reporting a job that failed or was cancelled.
 *
 * @example
 * failureLine(job); // 'job 7d88e267-… failed: node 3 (ImageBlur): CUDA out of memory'
 */
export function failureLine(job: JobView): string {
  const reason = failureReason(job);
  return `job ${job.id} ${job.status === 'cancelled' ? 'was cancelled' : 'failed'}${reason ? `: ${reason}` : ''}`;
}

/** The display state a job record gives (status, phase, progress, instance). */
export function stateOf(job: JobView, names: InstanceNames): JobProgressState {
  const node = job.progress?.node ?? null;
  return {
    status: job.status,
    phase: job.phase,
    percent: job.progress?.percent ?? null,
    node,
    nodeClass: node ? new JobProgressTracker(job.workflow, () => null).classOf(node) : null,
    step: job.progress?.step ?? null,
    steps: job.progress?.steps ?? null,
    instance: names.name(job.instance_id),
    error: job.status === 'failed' || job.status === 'cancelled' ? failureReason(job) : null,
  };
}

/**
 * Follows every target until it is finished (or `signal` aborts), updating `display` as events
 * arrive. Never rejects: each result holds the final job or the error that stopped following it.
 *
 * @example
 * const results = await followJobs(client, [{ id, label: 'a.json' }], { display, signal });
 */
export async function followJobs(
  client: ClusterClient,
  targets: readonly FollowTarget[],
  options: { display?: ProgressDisplay | undefined; signal?: AbortSignal; names?: InstanceNames },
): Promise<FollowResult[]> {
  const names = options.names ?? new InstanceNames(client);
  await names.load();
  return Promise.all(
    targets.map(async (t): Promise<FollowResult> => {
      let workflow = t.workflow;
      try {
        options.display?.add(t.id, t.label);
        if (!workflow && options.display) {
          const job = await client.getJob(t.id, options.signal ? { signal: options.signal } : {});
          workflow = job.workflow;
        }
        const tracker = new JobProgressTracker(workflow, (id) => names.name(id));
        const job = await client.wait(t.id, {
          ...(options.signal ? { signal: options.signal } : {}),
          onEvent: (e) => {
            const change = tracker.change(e);
            if (change && options.display) {
              // A finished status comes with the final record below (its error, its instance).
              if (change.status && ['completed', 'failed', 'cancelled'].includes(change.status)) {
                delete change.status;
              }
              options.display.update(t.id, change);
            }
          },
        });
        options.display?.update(t.id, stateOf(job, names));
        return { id: t.id, label: t.label, job };
      } catch (error) {
        return { id: t.id, label: t.label, error };
      }
    }),
  );
}
