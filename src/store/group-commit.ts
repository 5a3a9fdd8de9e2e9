import { type Kysely, SqliteAdapter, type Transaction } from 'kysely';

/** One unit of work of a batch: its statements run inside the batch's transaction. */
export type TransactionWork<DB, T> = (trx: Transaction<DB>) => Promise<T>;

interface Queued<DB> {
  work: TransactionWork<DB, unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Options of {@link GroupCommit}. */
export interface GroupCommitOptions {
  /** Batch the writes (default: on for SQLite, off for PostgreSQL). */
  enabled?: boolean;
  /** Most units of work per transaction (default 256). */
  maxBatch?: number;
}

const DEFAULT_MAX_BATCH = 256;
/**
 * A write arriving this long after the last flush finds the store idle: it is flushed at the end
 * of the current task (with whatever that task queues) instead of waiting for the next turn of
 * the event loop, so a lone request does not pay a loop turn per transition.
 */
const IDLE_MS = 2;

// One queue per database handle: batching is only meaningful per connection (SQLite has one).
const queues = new WeakMap<object, GroupCommit<never>>();

/**
 * Group commit: units of work queued during one turn of the event loop run one after the other
 * in ONE transaction (when the store was idle for a moment, the first write goes at the end of
 * the current task instead, with the writes that task queued), committed once (SQLite writes its WAL pages and takes its lock once per
 * batch instead of once per job transition). Each caller's promise settles only after that
 * commit, so "committed before answered" holds as with a transaction of its own, and every unit
 * sees the writes of the units before it (compare-and-set updates keep their meaning).
 *
 * If any unit fails, the batch is rolled back and every unit runs again in a transaction of its
 * own, so one failure never takes the others with it. Units must therefore only touch the
 * database (no side effects outside it) — a rerun is then the same as a first run — and must not
 * queue further units and wait for them (that unit would wait for the batch it is part of).
 *
 * PostgreSQL (several connections, row locks) runs each unit in its own transaction.
 *
 * @example
 * const writes = GroupCommit.of(store.db);
 * const row = await writes.run((trx) => trx.updateTable('jobs').set({ phase: 'running' })
 *   .where('id', '=', id).returningAll().executeTakeFirst());
 */
export class GroupCommit<DB> {
  readonly #db: Kysely<DB>;
  readonly #enabled: boolean;
  readonly #maxBatch: number;
  #queue: Queued<DB>[] = [];
  #scheduled = false;
  #lastFlush = 0;
  #batches = 0;
  #units = 0;

  constructor(db: Kysely<DB>, options: GroupCommitOptions = {}) {
    this.#db = db;
    this.#enabled = options.enabled ?? db.getExecutor().adapter instanceof SqliteAdapter;
    this.#maxBatch = Math.max(1, Math.floor(options.maxBatch ?? DEFAULT_MAX_BATCH));
  }

  /** The shared queue of a database handle (created on first use with the default options). */
  static of<DB>(db: Kysely<DB>): GroupCommit<DB> {
    let q = queues.get(db) as GroupCommit<DB> | undefined;
    if (!q) {
      q = new GroupCommit(db);
      queues.set(db, q as unknown as GroupCommit<never>);
    }
    return q;
  }

  /** Transactions committed and units of work run through this queue (diagnostics, benches). */
  get stats(): { batches: number; units: number } {
    return { batches: this.#batches, units: this.#units };
  }

  /** Runs `work` in a transaction (shared with the other units of this turn when batching). */
  run<T>(work: TransactionWork<DB, T>): Promise<T> {
    if (!this.#enabled) {
      this.#batches++;
      this.#units++;
      return this.#db.transaction().execute(work);
    }
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({
        work: work as TransactionWork<DB, unknown>,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      if (!this.#scheduled) {
        this.#scheduled = true;
        // Busy: gather the writes of this whole loop turn. Idle: no one to wait for.
        if (performance.now() - this.#lastFlush < IDLE_MS) setImmediate(() => this.#flush());
        else queueMicrotask(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    this.#lastFlush = performance.now();
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      void this.#commit(batch);
    }
  }

  async #commit(batch: Queued<DB>[]): Promise<void> {
    this.#batches++;
    this.#units += batch.length;
    if (batch.length === 1) {
      const only = batch[0] as Queued<DB>;
      await this.#db.transaction().execute(only.work).then(only.resolve, only.reject);
      return;
    }
    let results: unknown[];
    try {
      results = await this.#db.transaction().execute(async (trx) => {
        const out: unknown[] = [];
        for (const unit of batch) out.push(await unit.work(trx));
        return out;
      });
    } catch {
      // Rolled back as a whole: each unit again on its own, so only the failing one fails.
      this.#batches += batch.length;
      await Promise.all(
        batch.map((unit) =>
          this.#db.transaction().execute(unit.work).then(unit.resolve, unit.reject),
        ),
      );
      return;
    }
    for (const [i, unit] of batch.entries()) unit.resolve(results[i]);
  }
}
