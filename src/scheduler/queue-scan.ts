import type { JobClass } from './job-class.js';
import {
  fifoBefore,
  type Lane,
  type Level,
  laneFirst,
  type OwnerLanes,
  type QueueEntry,
} from './queue-lanes.js';

/** What a scan needs from the caller. */
export interface ScanOptions {
  /** Jobs each owner has on instances now (for owner caps). */
  in_flight: ReadonlyMap<string, number>;
  /** How many instances could run jobs of a class: fewer goes first. */
  selectivity: (cls: JobClass) => number;
}

/** Fair-share state a scan reads from its queue. */
export interface OwnerPolicy {
  vtime(owner: string): number;
  weight(owner: string): number;
  cap(owner: string): number | null;
}

const EPS = 1e-9;

/**
 * One ordered walk over the waiting queue, for one placement decision. `next()` gives the job
 * that goes next; the caller then either plans it (`consume`: it will take a slot soon, so its
 * owner's share and cap are charged within this walk) or finds that no job of its class fits now
 * (`skipClass`: the rest of the class is passed over). Each step costs O(owners of the level +
 * lanes of one owner), never O(jobs).
 *
 * @example
 * const scan = queue.scan({ in_flight, selectivity });
 * for (let e = scan.next(); e !== null; e = scan.next()) {
 *   if (fits(e)) return e;
 *   scan.skipClass(e.cls);
 * }
 */
export class QueueScan {
  /** Entries `next()` returned (distinct steps), for measurements. */
  examined = 0;
  private levelIdx = 0;
  private readonly vt = new Map<string, number>();
  private readonly planned = new Map<string, number>();
  private readonly cursors = new Map<Lane, number>();
  private readonly skipped = new Set<JobClass>();
  private readonly best = new Map<OwnerLanes, QueueEntry | null>();
  private readonly sel = new Map<JobClass, number>();
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
      const level = this.levels[this.levelIdx];
      let chosen: QueueEntry | null = null;
      let chosenV = 0;
      if (level !== undefined) {
        for (const ol of level.owners.values()) {
          if (this.capped(ol.owner)) continue;
          const cand = this.ownerBest(ol);
          if (cand === null) continue;
          const v = this.vtime(ol.owner);
          if (
            chosen === null ||
            v < chosenV - EPS ||
            (v <= chosenV + EPS && this.before(cand, chosen))
          ) {
            chosen = cand;
            chosenV = v;
          }
        }
      }
      if (chosen !== null) {
        if (chosen !== this.last) this.examined++;
        this.last = chosen;
        return chosen;
      }
      this.levelIdx++;
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
    const at = this.cursors.get(lane) ?? lane.head;
    this.cursors.set(lane, Math.max(at, lane.entries.indexOf(entry, at)) + 1);
    this.best.delete(lane.owner);
    const owner = entry.job.owner;
    this.planned.set(owner, (this.planned.get(owner) ?? 0) + 1);
    this.vt.set(owner, this.vtime(owner) + entry.cost / this.policy.weight(owner));
  }

  /**
   * Passes over every remaining job of a class in this walk.
   *
   * @example
   * scan.skipClass(entry.cls); // no instance for it now
   */
  skipClass(cls: JobClass): void {
    this.skipped.add(cls);
    this.best.clear();
  }

  /**
   * The selectivity of a class, computed once per walk.
   *
   * @example
   * scan.selectivityOf(entry.cls); // 2: two instances could run it
   */
  selectivityOf(cls: JobClass): number {
    let s = this.sel.get(cls);
    if (s === undefined) {
      s = this.options.selectivity(cls);
      this.sel.set(cls, s);
    }
    return s;
  }

  private vtime(owner: string): number {
    return this.vt.get(owner) ?? this.policy.vtime(owner);
  }

  private capped(owner: string): boolean {
    const cap = this.policy.cap(owner);
    if (cap === null) return false;
    return (this.options.in_flight.get(owner) ?? 0) + (this.planned.get(owner) ?? 0) >= cap;
  }

  private ownerBest(ol: OwnerLanes): QueueEntry | null {
    const cached = this.best.get(ol);
    if (cached !== undefined) return cached;
    let chosen: QueueEntry | null = null;
    for (const lane of ol.lanes.values()) {
      if (this.skipped.has(lane.cls)) continue;
      const idx = laneFirst(lane, this.cursors.get(lane) ?? lane.head);
      if (idx < 0) continue;
      this.cursors.set(lane, idx);
      const e = lane.entries[idx];
      if (e !== undefined && (chosen === null || this.before(e, chosen))) chosen = e;
    }
    this.best.set(ol, chosen);
    return chosen;
  }

  /** Within a priority and share: fewer capable instances first, then FIFO. */
  private before(a: QueueEntry, b: QueueEntry): boolean {
    const sa = this.selectivityOf(a.cls);
    const sb = this.selectivityOf(b.cls);
    if (sa !== sb) return sa < sb;
    return fifoBefore(a, b);
  }
}
