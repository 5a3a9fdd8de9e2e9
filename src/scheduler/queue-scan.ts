import type { JobClass } from './job-class.js';
import {
  entryBefore,
  type Lane,
  type Level,
  laneFirst,
  laneHead,
  type OwnerLanes,
  type QueueEntry,
} from './queue-lanes.js';

/** What a scan needs from the caller. */
export interface ScanOptions {
  /** Jobs each owner has on instances now (for owner caps). */
  in_flight: ReadonlyMap<string, number>;
}

/** Fair-share state a scan reads from its queue. */
export interface OwnerPolicy {
  vtime(owner: string): number;
  weight(owner: string): number;
  cap(owner: string): number | null;
}

/** An owner this walk has changed (planned a job of, skipped its best class, capped). */
interface Local {
  best: QueueEntry | null;
  /** Position in the owner's sorted lanes before which nothing is left for this walk. */
  ptr: number;
}

const EPS = 1e-9;

/**
 * One ordered walk over the waiting queue, for one placement decision. `next()` gives the job
 * that goes next; the caller then either plans it (`consume`: it will take a slot soon, so its
 * owner's share and cap are charged within this walk) or finds that no job of its class fits now
 * (`skipClass`: the rest of the class is passed over). The queue's sorted owners and lanes are
 * read from the front; only owners this walk changed are compared one by one, so a step costs
 * O(owners changed in this walk), not O(jobs), O(owners) or O(classes).
 *
 * @example
 * const scan = queue.scan({ in_flight });
 * for (let e = scan.next(); e !== null; e = scan.next()) {
 *   if (fits(e)) return e;
 *   scan.skipClass(e.cls);
 * }
 */
export class QueueScan {
  /** Distinct entries `next()` returned, for measurements. */
  examined = 0;
  private levelIdx = 0;
  private walk = 0;
  private touched = new Map<OwnerLanes, Local>();
  private readonly vt = new Map<string, number>();
  private readonly planned = new Map<string, number>();
  private readonly cursors = new Map<Lane, number>();
  private readonly consumedLanes = new Map<OwnerLanes, Lane[]>();
  private readonly skipped = new Set<JobClass>();
  private last: QueueEntry | null = null;

  constructor(
    private readonly levels: readonly Level[],
    private readonly options: ScanOptions,
    private readonly policy: OwnerPolicy,
  ) {}

  /**
   * The waiting job that goes next, or null when none is left in this walk.
   *
   * @example
   * const entry = scan.next();
   */
  next(): QueueEntry | null {
    while (this.levelIdx < this.levels.length) {
      const level = this.levels[this.levelIdx] as Level;
      let chosen: QueueEntry | null = null;
      let chosenV = 0;
      const front = this.frontOwner(level);
      const frontLane = front?.sorted[0];
      if (front !== null && frontLane !== undefined) {
        chosen = laneHead(frontLane) ?? null;
        chosenV = this.vtime(front.owner);
      }
      for (const [ol, local] of this.touched) {
        if (local.best === null) continue;
        const v = this.vtime(ol.owner);
        if (
          chosen === null ||
          v < chosenV - EPS ||
          (v <= chosenV + EPS && entryBefore(local.best, chosen))
        ) {
          chosen = local.best;
          chosenV = v;
        }
      }
      if (chosen !== null) {
        if (chosen !== this.last) this.examined++;
        this.last = chosen;
        return chosen;
      }
      this.levelIdx++;
      this.walk = 0;
      this.touched = new Map();
    }
    return null;
  }

  /**
   * Marks the entry `next()` returned as planned: the walk moves past it and charges its owner.
   *
   * @example
   * scan.consume(entry); // held for a busy instance
   */
  consume(entry: QueueEntry): void {
    const lane = entry.lane;
    const ol = lane.owner;
    const at = this.cursors.get(lane);
    if (at === undefined) {
      const list = this.consumedLanes.get(ol);
      if (list === undefined) this.consumedLanes.set(ol, [lane]);
      else list.push(lane);
    }
    const idx = lane.entries.indexOf(entry, at ?? lane.head);
    this.cursors.set(lane, (idx < 0 ? (at ?? lane.head) : idx) + 1);
    const owner = entry.job.owner;
    this.planned.set(owner, (this.planned.get(owner) ?? 0) + 1);
    this.vt.set(owner, this.vtime(owner) + entry.cost / this.policy.weight(owner));
    this.touched.set(ol, this.local(ol, this.touched.get(ol)?.ptr ?? 0));
  }

  /**
   * Passes over every remaining job of a class in this walk.
   *
   * @example
   * scan.skipClass(entry.cls); // no instance for it now
   */
  skipClass(cls: JobClass): void {
    this.skipped.add(cls);
    for (const [ol, local] of this.touched) {
      if (local.best?.cls === cls) this.touched.set(ol, this.local(ol, local.ptr));
    }
  }

  /** The first owner of the level's persistent order this walk has not changed. */
  private frontOwner(level: Level): OwnerLanes | null {
    while (this.walk < level.sorted.length) {
      const ol = level.sorted[this.walk] as OwnerLanes;
      if (this.touched.has(ol)) {
        this.walk++;
        continue;
      }
      const lane = ol.sorted[0];
      if (
        lane !== undefined &&
        !this.vt.has(ol.owner) &&
        !this.capped(ol.owner) &&
        !this.skipped.has(lane.cls) &&
        !this.cursors.has(lane)
      ) {
        return ol;
      }
      this.touched.set(ol, this.local(ol, 0));
      this.walk++;
    }
    return null;
  }

  /** An owner's best remaining entry in this walk. */
  private local(ol: OwnerLanes, from: number): Local {
    let ptr = from;
    if (this.capped(ol.owner)) return { best: null, ptr };
    let best: QueueEntry | null = null;
    while (ptr < ol.sorted.length) {
      const lane = ol.sorted[ptr] as Lane;
      if (this.skipped.has(lane.cls) || this.cursors.has(lane)) {
        ptr++;
        continue;
      }
      best = laneHead(lane) ?? null;
      break;
    }
    for (const lane of this.consumedLanes.get(ol) ?? []) {
      if (this.skipped.has(lane.cls)) continue;
      const idx = laneFirst(lane, this.cursors.get(lane) ?? lane.head);
      const e = idx < 0 ? undefined : lane.entries[idx];
      if (e !== undefined && (best === null || entryBefore(e, best))) best = e;
    }
    return { best, ptr };
  }

  private vtime(owner: string): number {
    return this.vt.get(owner) ?? this.policy.vtime(owner);
  }

  private capped(owner: string): boolean {
    const cap = this.policy.cap(owner);
    if (cap === null) return false;
    return (this.options.in_flight.get(owner) ?? 0) + (this.planned.get(owner) ?? 0) >= cap;
  }
}
