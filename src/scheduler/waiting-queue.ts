import { JobClass } from './job-class.js';
import {
  compareHead,
  compareOwner,
  fifoBefore,
  type HeadKey,
  headKey,
  type Lane,
  type Level,
  laneHead,
  laneInsert,
  laneTidy,
  type OwnerKey,
  type OwnerLanes,
  type QueueEntry,
  sortedInsert,
  sortedRemove,
} from './queue-lanes.js';
import { QueueScan, type ScanOptions } from './queue-scan.js';
import type { SchedulerJob } from './types.js';

/** Fair-share settings. */
export interface WaitingQueueOptions {
  /** Share weight per owner (default 1): an owner of weight 2 gets twice the GPU time. */
  owner_weights?: Readonly<Record<string, number>>;
  /** Most jobs an owner may have on instances at once, per owner. */
  owner_caps?: Readonly<Record<string, number>>;
  /** Cap for owners not in `owner_caps`; null or absent: no cap. */
  default_owner_cap?: number | null;
}

interface OwnerState {
  /** Virtual time: service received ÷ weight (start-time fair queueing). */
  vtime: number;
  live: number;
  /** Its lanes at each priority level it has jobs at. */
  levels: Set<OwnerLanes>;
}

/**
 * The gateway's waiting jobs. Order: priority (higher first); within a priority, owners share by
 * weighted virtual time (the owner who received least service goes next, so one owner's 10 000
 * jobs do not starve another's 10); within an owner, jobs fewer instances can run first
 * (selectivity), then FIFO. Jobs are grouped by class (same requirements and constraints), so a
 * scan for a free instance touches classes, not every job.
 *
 * @example
 * const queue = new WaitingQueue({ owner_caps: { batch: 4 } });
 * queue.enqueue(job, 5000); // cost: its estimated run time, for fair share
 * const scan = queue.scan({ in_flight: new Map() });
 * const first = scan.next(); // the entry that goes next
 * if (first) queue.take(first.job.id);
 */
export class WaitingQueue {
  private readonly byId = new Map<string, QueueEntry>();
  private readonly classes = new Map<string, JobClass>();
  private readonly levels = new Map<number, Level>();
  private levelOrder: Level[] = [];
  private readonly owners = new Map<string, OwnerState>();
  private virtualNow = 0;
  private seq = 0;
  private readonly weights: Readonly<Record<string, number>>;
  private readonly caps: Readonly<Record<string, number>>;
  private readonly defaultCap: number | null;
  private selectivityOf: (cls: JobClass) => number = () => 1;

  constructor(options: WaitingQueueOptions = {}) {
    this.weights = options.owner_weights ?? {};
    this.caps = options.owner_caps ?? {};
    this.defaultCap = options.default_owner_cap ?? null;
  }

  /** Number of waiting jobs. */
  get size(): number {
    return this.byId.size;
  }

  /** Sum of the costs (estimated reference ms) of the waiting jobs. */
  get work(): number {
    let total = 0;
    for (const level of this.levelOrder) total += level.work;
    return total;
  }

  /**
   * Whether a job is waiting.
   *
   * @example
   * queue.has(job.id);
   */
  has(id: string): boolean {
    return this.byId.has(id);
  }

  /**
   * A waiting job's entry.
   *
   * @example
   * queue.get(id)?.job.priority;
   */
  get(id: string): QueueEntry | undefined {
    return this.byId.get(id);
  }

  /**
   * Adds a job. `cost` is its fair-share weight (its estimated run time; any positive number).
   * A job put back after a failure keeps its place: FIFO is by `submitted_at`, then arrival.
   * Throws on a duplicate id or a malformed job.
   *
   * @example
   * queue.enqueue({ ...job, excluded: ['gpu2'] }, estimator.referenceMs(job.shape));
   */
  enqueue(job: SchedulerJob, cost = 1): QueueEntry {
    checkJob(job);
    if (this.byId.has(job.id)) throw new Error(`job ${job.id} is already waiting`);
    const key = JobClass.keyOf(job);
    let cls = this.classes.get(key);
    if (cls === undefined) {
      cls = new JobClass(job);
      cls.selectivity = this.selectivityOf(cls);
      this.classes.set(key, cls);
    }
    let level = this.levels.get(job.priority);
    if (level === undefined) {
      level = { priority: job.priority, owners: new Map(), sorted: [], live: 0, work: 0 };
      this.levels.set(job.priority, level);
      this.levelOrder = [...this.levels.values()].sort((a, b) => b.priority - a.priority);
    }
    let state = this.owners.get(job.owner);
    let vtimeChanged = false;
    if (state === undefined) {
      state = { vtime: this.virtualNow, live: 0, levels: new Set() };
      this.owners.set(job.owner, state);
    } else if (state.live === 0 && state.vtime < this.virtualNow) {
      // An owner coming back does not bank the service it did not use while away.
      state.vtime = this.virtualNow;
      vtimeChanged = true;
    }
    let ownerLanes = level.owners.get(job.owner);
    if (ownerLanes === undefined) {
      ownerLanes = {
        owner: job.owner,
        level,
        lanes: new Map(),
        sorted: [],
        live: 0,
        work: 0,
        key: null,
      };
      level.owners.set(job.owner, ownerLanes);
      state.levels.add(ownerLanes);
    }
    let lane = ownerLanes.lanes.get(key);
    if (lane === undefined) {
      lane = { cls, owner: ownerLanes, entries: [], head: 0, live: 0, key: null };
      ownerLanes.lanes.set(key, lane);
    }
    const safeCost = Number.isFinite(cost) && cost > 0 ? cost : 1;
    const entry: QueueEntry = { job, seq: this.seq++, cls, cost: safeCost, lane, removed: false };
    laneInsert(lane, entry);
    lane.live++;
    ownerLanes.live++;
    ownerLanes.work += safeCost;
    level.live++;
    level.work += safeCost;
    state.live++;
    cls.refs++;
    cls.work += safeCost;
    this.byId.set(job.id, entry);
    if (laneHead(lane) === entry) {
      this.fileLane(lane);
      this.fileOwner(ownerLanes);
    }
    if (vtimeChanged) this.fileOwnerEverywhere(job.owner);
    return entry;
  }

  /**
   * Removes a waiting job without charging its owner (cancel). Returns it, or null if absent.
   *
   * @example
   * queue.remove(jobId); // pending job cancelled
   */
  remove(id: string): SchedulerJob | null {
    const entry = this.byId.get(id);
    if (entry === undefined) return null;
    this.unlink(entry);
    return entry.job;
  }

  /**
   * Removes a job because it was assigned: its owner is charged its cost ÷ weight.
   *
   * @example
   * const job = queue.take(decision.job.id);
   */
  take(id: string): SchedulerJob | null {
    const entry = this.byId.get(id);
    if (entry === undefined) return null;
    const state = this.owners.get(entry.job.owner);
    if (state !== undefined) {
      this.virtualNow = Math.max(this.virtualNow, state.vtime);
      state.vtime += entry.cost / this.ownerWeight(entry.job.owner);
    }
    this.unlink(entry);
    this.fileOwnerEverywhere(entry.job.owner);
    return entry.job;
  }

  /**
   * An ordered walk over the waiting jobs for one placement decision (see `QueueScan`). Valid
   * until the queue changes.
   *
   * @example
   * const scan = queue.scan({ in_flight: perOwner });
   */
  /**
   * Sets how selectivity (the number of instances that could run a class) is computed, and
   * recomputes it for every waiting class. Call it when the fleet changes.
   *
   * @example
   * queue.setSelectivity((cls) => fleet.filter((i) => cls.canRunOn(i)).length);
   */
  setSelectivity(selectivityOf: (cls: JobClass) => number): void {
    this.selectivityOf = selectivityOf;
    for (const cls of this.classes.values()) cls.selectivity = selectivityOf(cls);
    for (const level of this.levelOrder) {
      for (const ol of level.owners.values()) {
        for (const lane of ol.lanes.values()) {
          const head = laneHead(lane);
          lane.key = head === undefined ? null : headKey(head);
        }
        ol.sorted = [...ol.lanes.values()].filter((l) => l.key !== null);
        ol.sorted.sort((a, b) => compareHead(a.key as HeadKey, b.key as HeadKey));
        ol.key = this.ownerKey(ol);
      }
      level.sorted = [...level.owners.values()].filter((o) => o.key !== null);
      level.sorted.sort((a, b) => compareOwner(a.key as OwnerKey, b.key as OwnerKey));
    }
  }

  scan(options: ScanOptions): QueueScan {
    return new QueueScan(this.levelOrder, options, {
      vtime: (owner) => this.owners.get(owner)?.vtime ?? this.virtualNow,
      weight: (owner) => this.ownerWeight(owner),
      cap: (owner) => this.ownerCap(owner),
    });
  }

  /**
   * Every waiting entry (no particular order).
   *
   * @example
   * for (const entry of queue.entries()) console.log(entry.job.id);
   */
  entries(): IterableIterator<QueueEntry> {
    return this.byId.values();
  }

  /**
   * The classes of the waiting jobs.
   *
   * @example
   * for (const cls of queue.jobClasses()) console.log(cls.key, cls.refs);
   */
  jobClasses(): IterableIterator<JobClass> {
    return this.classes.values();
  }

  /**
   * An owner's share weight (default 1).
   *
   * @example
   * queue.ownerWeight('studio'); // 1
   */
  ownerWeight(owner: string): number {
    const w = Object.hasOwn(this.weights, owner) ? this.weights[owner] : undefined;
    return w !== undefined && Number.isFinite(w) && w > 0 ? w : 1;
  }

  /**
   * An owner's cap on jobs on instances at once, or null for none.
   *
   * @example
   * queue.ownerCap('batch'); // 4
   */
  ownerCap(owner: string): number | null {
    const c = Object.hasOwn(this.caps, owner) ? this.caps[owner] : undefined;
    if (c !== undefined && Number.isFinite(c) && c >= 0) return Math.floor(c);
    return this.defaultCap;
  }

  /**
   * Estimated work (reference ms) that goes before a waiting job: higher priorities, the owner's
   * own earlier jobs, and what fair share gives the other owners of its priority meanwhile.
   *
   * @example
   * const ms = queue.workAhead(jobId) / totalFleetSpeed;
   */
  workAhead(id: string): number | null {
    const entry = this.byId.get(id);
    if (entry === undefined) return null;
    const level = entry.lane.owner.level;
    let ahead = 0;
    for (const l of this.levelOrder) if (l.priority > level.priority) ahead += l.work;
    const own = entry.lane.owner;
    let behind = 0;
    for (const lane of own.lanes.values()) {
      for (let i = lane.entries.length - 1; i >= lane.head; i--) {
        const e = lane.entries[i];
        if (e === undefined || fifoBefore(e, entry)) break;
        if (!e.removed) behind += e.cost;
      }
    }
    const ownAhead = Math.max(0, own.work - behind);
    const owner = entry.job.owner;
    const finishV = (this.owners.get(owner)?.vtime ?? 0) + ownAhead / this.ownerWeight(owner);
    for (const other of level.owners.values()) {
      if (other === own) continue;
      const v = this.owners.get(other.owner)?.vtime ?? 0;
      const share = (finishV - v) * this.ownerWeight(other.owner);
      ahead += Math.min(other.work, Math.max(0, share));
    }
    return ahead + ownAhead;
  }

  private unlink(entry: QueueEntry): void {
    const lane: Lane = entry.lane;
    const wasHead = laneHead(lane) === entry;
    entry.removed = true;
    this.byId.delete(entry.job.id);
    const ownerLanes: OwnerLanes = lane.owner;
    const level = ownerLanes.level;
    lane.live--;
    ownerLanes.live--;
    ownerLanes.work -= entry.cost;
    level.live--;
    level.work -= entry.cost;
    const state = this.owners.get(entry.job.owner);
    if (state !== undefined) state.live--;
    entry.cls.refs--;
    entry.cls.work = entry.cls.refs === 0 ? 0 : entry.cls.work - entry.cost;
    laneTidy(lane);
    if (wasHead) {
      this.fileLane(lane);
      this.fileOwner(ownerLanes);
    }
    if (lane.live === 0) ownerLanes.lanes.delete(entry.cls.key);
    if (ownerLanes.live === 0) {
      ownerLanes.work = 0;
      level.owners.delete(ownerLanes.owner);
      state?.levels.delete(ownerLanes);
    }
    if (level.live === 0) {
      this.levels.delete(level.priority);
      this.levelOrder = this.levelOrder.filter((l) => l !== level);
    }
    if (entry.cls.refs === 0) this.classes.delete(entry.cls.key);
  }

  /** Re-files a lane in its owner's order after its head changed. */
  private fileLane(lane: Lane): void {
    const list = lane.owner.sorted;
    const old = lane.key;
    if (old !== null) sortedRemove(list, lane, (x) => compareHead(x.key as HeadKey, old) < 0);
    const head = laneHead(lane);
    lane.key = head === undefined ? null : headKey(head);
    const key = lane.key;
    if (key !== null) sortedInsert(list, lane, (x) => compareHead(x.key as HeadKey, key) < 0);
  }

  /** Re-files an owner in its level's order after its vtime or best lane changed. */
  private fileOwner(ol: OwnerLanes): void {
    const list = ol.level.sorted;
    const old = ol.key;
    if (old !== null) sortedRemove(list, ol, (x) => compareOwner(x.key as OwnerKey, old) < 0);
    ol.key = this.ownerKey(ol);
    const key = ol.key;
    if (key !== null) sortedInsert(list, ol, (x) => compareOwner(x.key as OwnerKey, key) < 0);
  }

  private fileOwnerEverywhere(owner: string): void {
    for (const ol of this.owners.get(owner)?.levels ?? []) this.fileOwner(ol);
  }

  private ownerKey(ol: OwnerLanes): OwnerKey | null {
    const best = ol.sorted[0]?.key;
    if (best === undefined || best === null || ol.live === 0) return null;
    return { v: this.owners.get(ol.owner)?.vtime ?? this.virtualNow, ...best };
  }
}

function checkJob(job: SchedulerJob): void {
  const problems: string[] = [];
  if (typeof job?.id !== 'string' || job.id === '') problems.push('id must be a non-empty string');
  if (typeof job?.owner !== 'string') problems.push('owner must be a string');
  if (typeof job?.priority !== 'number' || !Number.isFinite(job.priority)) {
    problems.push('priority must be a finite number');
  }
  if (typeof job?.submitted_at !== 'number' || !Number.isFinite(job.submitted_at)) {
    problems.push('submitted_at must be a finite number (ms)');
  }
  if (
    !Array.isArray(job?.requirements?.node_classes) ||
    !Array.isArray(job?.requirements?.models)
  ) {
    problems.push('requirements must have node_classes and models arrays');
  }
  if (typeof job?.shape !== 'string') problems.push('shape must be a string');
  if (problems.length > 0) {
    throw new TypeError(
      `invalid job${typeof job?.id === 'string' ? ` ${job.id}` : ''}: ${problems.join('; ')}`,
    );
  }
}
