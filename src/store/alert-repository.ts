import type { Kysely } from 'kysely';
import type { AlertRow, Database } from './schema.js';

/** An alert about an instance; open while `cleared_at` is null. Times in ms since epoch. */
export type InstanceAlert = AlertRow;

/** What to raise. */
export interface RaiseAlertInput {
  instance_id: string;
  /** e.g. `unhealthy`, `high_error_rate`, `low_vram`, `slow_response` */
  kind: string;
  reason: string;
  value?: number | null;
  raised_at: number;
}

/** Filter for {@link AlertRepository.list}. */
export interface AlertQuery {
  instanceId?: string;
  /** true: open only, false: cleared only, undefined: both */
  open?: boolean;
  limit?: number;
}

/**
 * Alerts per instance. At most one open alert per (instance, kind): raising again while open
 * returns the open one unchanged.
 *
 * @example
 * const { alert, created } = await store.alerts.raise({ instance_id: 'a', kind: 'unhealthy',
 *   reason: '3 failed checks', raised_at: Date.now() });
 * await store.alerts.clear('a', 'unhealthy', Date.now());
 */
export class AlertRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Raises an alert unless one of the same kind is open for the instance. */
  async raise(input: RaiseAlertInput): Promise<{ alert: InstanceAlert; created: boolean }> {
    return this.#db.transaction().execute(async (trx) => {
      const open = await trx
        .selectFrom('instance_alerts')
        .selectAll()
        .where('instance_id', '=', input.instance_id)
        .where('kind', '=', input.kind)
        .where('cleared_at', 'is', null)
        .orderBy('id', 'desc')
        .executeTakeFirst();
      if (open) return { alert: open, created: false };
      const alert = await trx
        .insertInto('instance_alerts')
        .values({
          instance_id: input.instance_id,
          kind: input.kind,
          reason: input.reason,
          value: input.value ?? null,
          raised_at: input.raised_at,
          cleared_at: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return { alert: { ...alert, id: Number(alert.id) }, created: true };
    });
  }

  /** Clears the open alert(s) of that kind (or of every kind when `kind` is undefined). */
  async clear(instanceId: string, kind: string | undefined, at: number): Promise<number> {
    let q = this.#db
      .updateTable('instance_alerts')
      .set({ cleared_at: at })
      .where('instance_id', '=', instanceId)
      .where('cleared_at', 'is', null);
    if (kind !== undefined) q = q.where('kind', '=', kind);
    const res = await q.executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  /** Newest first. */
  async list(query: AlertQuery = {}): Promise<InstanceAlert[]> {
    let q = this.#db.selectFrom('instance_alerts').selectAll();
    if (query.instanceId !== undefined) q = q.where('instance_id', '=', query.instanceId);
    if (query.open === true) q = q.where('cleared_at', 'is', null);
    if (query.open === false) q = q.where('cleared_at', 'is not', null);
    const rows = await q
      .orderBy('id', 'desc')
      .limit(query.limit ?? 100)
      .execute();
    return rows.map((r) => ({ ...r, id: Number(r.id) }));
  }

  /** Deletes cleared alerts cleared before `before`; open alerts are kept. */
  async pruneCleared(before: number): Promise<number> {
    const res = await this.#db
      .deleteFrom('instance_alerts')
      .where('cleared_at', 'is not', null)
      .where('cleared_at', '<', before)
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
