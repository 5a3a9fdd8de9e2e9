/**
 * The waiting queue's inner structure: priority level → owner → lane (one per job class), each
 * lane in FIFO order. Each owner keeps its lanes sorted by their head job (selectivity, then
 * FIFO) and each level keeps its owners sorted by (virtual time, best head), so the next job is
 * found at the front instead of by a search. Plain records, used by `WaitingQueue` and
 * `QueueScan` only.
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

/** Sort key of a lane: its head job's selectivity, submission time and arrival. */
export interface HeadKey {
  sel: number;
  at: number;
  seq: number;
}

/** Sort key of an owner within a level: virtual time, then its best lane's head. */
export interface OwnerKey extends HeadKey {
  v: number;
}

/** Jobs of one class, one owner, one priority: in (submitted_at, seq) order, removals lazy. */
export interface Lane {
  readonly cls: JobClass;
  readonly owner: OwnerLanes;
  entries: QueueEntry[];
  head: number;
  live: number;
  /** The key it is filed under in `owner.sorted`, or null when not filed. */
  key: HeadKey | null;
}

/** One owner's jobs at one priority level. */
export interface OwnerLanes {
  readonly owner: string;
  readonly level: Level;
  readonly lanes: Map<string, Lane>;
  /** Non-empty lanes, best head first. */
  sorted: Lane[];
  live: number;
  /** Sum of the costs of its live entries. */
  work: number;
  /** The key it is filed under in `level.sorted`, or null when not filed. */
  key: OwnerKey | null;
}

/** All jobs of one priority. */
export interface Level {
  readonly priority: number;
  readonly owners: Map<string, OwnerLanes>;
  /** Owners with jobs, next to serve first. */
  sorted: OwnerLanes[];
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

/** Queue order of two entries of one owner: fewer capable instances first, then FIFO. */
export function entryBefore(a: QueueEntry, b: QueueEntry): boolean {
  if (a.cls.selectivity !== b.cls.selectivity) return a.cls.selectivity < b.cls.selectivity;
  return fifoBefore(a, b);
}

/** The key of an entry as the head of its lane. */
export function headKey(e: QueueEntry): HeadKey {
  return { sel: e.cls.selectivity, at: e.job.submitted_at, seq: e.seq };
}

/** Compares head keys (negative: a first). */
export function compareHead(a: HeadKey, b: HeadKey): number {
  return a.sel - b.sel || a.at - b.at || a.seq - b.seq;
}

/** Compares owner keys (negative: a first). */
export function compareOwner(a: OwnerKey, b: OwnerKey): number {
  return a.v - b.v || compareHead(a, b);
}

/** Inserts into a sorted array (binary search on the keys). */
export function sortedInsert<T>(list: T[], item: T, before: (x: T) => boolean): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (before(list[mid] as T)) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, item);
}

/** Removes an item filed under a key from a sorted array. */
export function sortedRemove<T>(list: T[], item: T, before: (x: T) => boolean): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (before(list[mid] as T)) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < list.length; i++) {
    if (list[i] === item) {
      list.splice(i, 1);
      return;
    }
  }
  // Not where its key says (should not happen): fall back to a search.
  const at = list.indexOf(item);
  if (at >= 0) list.splice(at, 1);
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

/** The first live entry of a lane. */
export function laneHead(lane: Lane): QueueEntry | undefined {
  const i = laneFirst(lane, lane.head);
  return i < 0 ? undefined : lane.entries[i];
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
