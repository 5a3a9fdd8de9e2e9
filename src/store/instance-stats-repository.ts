import type { Kysely } from 'kysely';
import type { Database, InstanceStatsRow } from './schema.js';

/** Latest figures of one instance, as kept in the store. */
export interface InstanceStatsSnapshot {
  instance_id: string;
  /** ms since epoch */
  updated_at: number;
  jobs_total: number;
  jobs_succeeded: number;
  jobs_failed: number;
  avg_run_ms: number | null;
  last_error: string | null;
  last_error_at: number | null;
  /** Further figures (JSON-serialisable). */
  details: Record<string, unknown>;
}

function parseDetails(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

function toSnapshot(row: InstanceStatsRow): InstanceStatsSnapshot {
  const { details_json, ...rest } = row;
  return {
    ...rest,
    jobs_total: Number(rest.jobs_total),
    jobs_succeeded: Number(rest.jobs_succeeded),
    jobs_failed: Number(rest.jobs_failed),
    details: parseDetails(details_json),
  };
}

/**
 * One stats snapshot per instance, replaced as a whole (the fleet computes the figures; the
 * store keeps them across restarts).
 *
 * @example
 * await store.instanceStats.save({ instance_id: 'a', updated_at: Date.now(), jobs_total: 3,
 *   jobs_succeeded: 3, jobs_failed: 0, avg_run_ms: 812, last_error: null, last_error_at: null, details: {} });
 * const s = await store.instanceStats.get('a');
 */
export class InstanceStatsRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Inserts or replaces the snapshot of `snapshot.instance_id`. */
  async save(snapshot: InstanceStatsSnapshot): Promise<void> {
    const { details, ...fields } = snapshot;
    const values = { ...fields, details_json: JSON.stringify(details) };
    const { instance_id: _id, ...update } = values;
    await this.#db
      .insertInto('instance_stats')
      .values(values)
      .onConflict((oc) => oc.column('instance_id').doUpdateSet(update))
      .execute();
  }

  /** The snapshot of one instance, or undefined. */
  async get(instanceId: string): Promise<InstanceStatsSnapshot | undefined> {
    const row = await this.#db
      .selectFrom('instance_stats')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .executeTakeFirst();
    return row ? toSnapshot(row) : undefined;
  }

  /** All snapshots, by instance id. */
  async list(): Promise<InstanceStatsSnapshot[]> {
    const rows = await this.#db
      .selectFrom('instance_stats')
      .selectAll()
      .orderBy('instance_id')
      .execute();
    return rows.map(toSnapshot);
  }

  /** Forgets an instance's snapshot. */
  async delete(instanceId: string): Promise<boolean> {
    const res = await this.#db
      .deleteFrom('instance_stats')
      .where('instance_id', '=', instanceId)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }
}
