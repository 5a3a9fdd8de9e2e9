/**
 * The waiting queue's inner structure: priority level → owner → lane (one per job class), each
 * lane in FIFO order. Plain records, used by `WaitingQueue` and `QueueScan` only.
 */
import type { JobClass } from './job-class.js';
import type { SchedulerJob } from './types.js';

/** A waiting job in the queue. */
export interface QueueEntry {
  readonly job: SchedulerJob;
  /** Arrival order (FIFO tie-breaker after `submitted_at`). */
  readonly seq: number;
  readonly cls: JobClass;
  /** Fair-share cost (estimated run time at reference speed, ms). */
  readonly cost: number;
  /** @internal */
  readonly lane: Lane;
  removed: boolean;
}

/** Jobs of one class, one owner, one priority: in (submitted_at, seq) order, removals lazy. */
export interface Lane {
  readonly cls: JobClass;
  readonly owner: OwnerLanes;
  entries: QueueEntry[];
  head: number;
  live: number;
}

/** One owner's jobs at one priority level. */
export interface OwnerLanes {
  readonly owner: string;
  readonly level: Level;
  readonly lanes: Map<string, Lane>;
  live: number;
  /** Sum of the costs of its live entries. */
  work: number;
}

/** All jobs of one priority. */
export interface Level {
  readonly priority: number;
  readonly owners: Map<string, OwnerLanes>;
  live: number;
  work: number;
}

/** FIFO order of two entries: earlier submission first, then arrival. */
export function fifoBefore(a: QueueEntry, b: QueueEntry): boolean {
  return (
    a.job.submitted_at < b.job.submitted_at ||
    (a.job.submitted_at === b.job.submitted_at && a.seq < b.seq)
  );
}

/** Inserts in FIFO order (appending in the common case). */
export function laneInsert(lane: Lane, entry: QueueEntry): void {
  const list = lane.entries;
  const last = list[list.length - 1];
  if (last === undefined || fifoBefore(last, entry)) {
    list.push(entry);
    return;
  }
  let lo = lane.head;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const at = list[mid];
    if (at !== undefined && fifoBefore(at, entry)) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, entry);
}

/** Index of the first live entry at or after `from`, or -1. */
export function laneFirst(lane: Lane, from: number): number {
  const list = lane.entries;
  for (let i = Math.max(from, lane.head); i < list.length; i++) {
    if (!list[i]?.removed) return i;
  }
  return -1;
}

/** Drops removed entries from the front, and compacts when most of the lane is dead. */
export function laneTidy(lane: Lane): void {
  const list = lane.entries;
  while (lane.head < list.length && list[lane.head]?.removed) lane.head++;
  const dead = list.length - lane.live;
  if (lane.head === list.length) {
    lane.entries = [];
    lane.head = 0;
  } else if (dead > 64 && dead > lane.live) {
    lane.entries = list.filter((e) => !e.removed);
    lane.head = 0;
  }
}
