import { type CapabilityTarget, canRun } from './capability.js';
import { requirementsKey } from './requirements.js';
import type {
  InstanceCapabilities,
  JobRequirements,
  PlacementConstraints,
  SchedulerJob,
} from './types.js';

interface CachedMatch {
  caps: InstanceCapabilities;
  tags: readonly string[];
  ok: boolean;
}

/**
 * Jobs that may run on exactly the same instances: same requirements, pin, tags, exclusions and
 * OOM floor. The queue groups waiting jobs by class, so finding a job for a free instance looks at
 * classes, not at every job; capability answers are cached per class and instance.
 *
 * @example
 * const cls = new JobClass(job);
 * cls.canRunOn({ id: 'gpu1', capabilities, tags: [] }); // true or false, cached
 */
export class JobClass {
  readonly key: string;
  readonly requirements: JobRequirements;
  readonly constraints: PlacementConstraints;
  /** See `SchedulerJob.oom_vram_free`; undefined when the job did not run out of memory. */
  readonly oom_vram_free: number | null | undefined;
  /** Live queue entries of this class (the queue forgets the class at 0). */
  refs = 0;
  /** Sum of the fair-share costs (reference ms) of its live entries. */
  work = 0;
  /** How many instances of the fleet could run it (fewer goes first); set by the queue. */
  selectivity = 1;
  private readonly cache = new Map<string, CachedMatch>();

  constructor(job: SchedulerJob) {
    this.key = JobClass.keyOf(job);
    this.requirements = job.requirements;
    this.constraints = {
      pin: job.pin ?? null,
      tags: [...(job.tags ?? [])].sort(),
      excluded: [...(job.excluded ?? [])].sort(),
    };
    this.oom_vram_free = job.oom_vram_free;
  }

  /**
   * The class key of a job.
   *
   * @example
   * JobClass.keyOf(a) === JobClass.keyOf(b); // same requirements and constraints
   */
  static keyOf(job: SchedulerJob): string {
    return JSON.stringify([
      requirementsKey(job.requirements),
      job.pin ?? null,
      [...(job.tags ?? [])].sort(),
      [...(job.excluded ?? [])].sort(),
      job.oom_vram_free === undefined ? 'no-oom' : job.oom_vram_free,
    ]);
  }

  /**
   * Whether jobs of this class may run on the instance (capabilities, tags, pin, exclusions).
   * Cached until the instance's capabilities or tags object changes.
   *
   * @example
   * if (cls.canRunOn(instance)) candidates.push(instance);
   */
  canRunOn(target: CapabilityTarget): boolean {
    const hit = this.cache.get(target.id);
    if (hit !== undefined && hit.caps === target.capabilities && hit.tags === target.tags) {
      return hit.ok;
    }
    const ok = canRun(this.requirements, target, this.constraints).ok;
    this.cache.set(target.id, { caps: target.capabilities, tags: target.tags, ok });
    return ok;
  }
}
