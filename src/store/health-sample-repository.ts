import type { Kysely } from 'kysely';
import type { Database, HealthSampleRow } from './schema.js';

/** One health check result, as recorded. */
export interface HealthSample {
  id: number;
  instance_id: string;
  /** ms since epoch */
  sampled_at: number;
  health: 'unknown' | 'healthy' | 'degraded' | 'unhealthy';
  ok: boolean;
  latency_ms: number | null;
  queue_running: number | null;
  queue_pending: number | null;
  vram_free: number | null;
  vram_total: number | null;
  error: string | null;
}

/** A sample to record (`id` is assigned; optional figures default to null). */
export type HealthSampleInput = Pick<HealthSample, 'instance_id' | 'sampled_at' | 'health' | 'ok'> &
  Partial<Omit<HealthSample, 'id' | 'instance_id' | 'sampled_at' | 'health' | 'ok'>>;

/** Ring-buffer limits: a sample is dropped once it is older than `maxAgeMs` or beyond the cap. */
export interface HealthRingLimits {
  /** Default 24 h. */
  maxAgeMs: number;
  /** Newest samples kept per instance. Default 2,880 (24 h at one check every 30 s). */
  maxPerInstance: number;
}

/** Defaults for {@link HealthRingLimits}. */
export const DEFAULT_HEALTH_RING: HealthRingLimits = {
  maxAgeMs: 24 * 60 * 60 * 1000,
  maxPerInstance: 2880,
};

const HEALTH_VALUES = new Set(['unknown', 'healthy', 'degraded', 'unhealthy']);

function toSample(row: HealthSampleRow): HealthSample {
  return {
    ...row,
    health: (HEALTH_VALUES.has(row.health) ? row.health : 'unknown') as HealthSample['health'],
    ok: row.ok === 1,
  };
}

/**
 * Health samples per instance, kept as a ring buffer: {@link record} trims the instance's
 * oldest samples beyond the cap as it inserts, {@link prune} also drops samples past the age.
 *
 * @example
 * await store.healthSamples.record({ instance_id: 'a', sampled_at: Date.now(), health: 'healthy', ok: true, latency_ms: 12 });
 * const last = await store.healthSamples.recent('a', { limit: 10 });
 */
export class HealthSampleRepository {
  readonly #db: Kysely<Database>;
  readonly #limits: HealthRingLimits;

  constructor(db: Kysely<Database>, limits: Partial<HealthRingLimits> = {}) {
    this.#db = db;
    this.#limits = { ...DEFAULT_HEALTH_RING, ...limits };
  }

  /** The ring limits in force. */
  get limits(): HealthRingLimits {
    return { ...this.#limits };
  }

  /** Inserts one sample and trims that instance beyond the cap; returns the new id. */
  async record(sample: HealthSampleInput): Promise<number> {
    const row = await this.#db
      .insertInto('instance_health_samples')
      .values({
        instance_id: sample.instance_id,
        sampled_at: sample.sampled_at,
        health: sample.health,
        ok: sample.ok ? 1 : 0,
        latency_ms: sample.latency_ms ?? null,
        queue_running: sample.queue_running ?? null,
        queue_pending: sample.queue_pending ?? null,
        vram_free: sample.vram_free ?? null,
        vram_total: sample.vram_total ?? null,
        error: sample.error ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await this.#trimInstance(sample.instance_id, this.#limits.maxPerInstance);
    return Number(row.id);
  }

  /** Newest first; `since` (ms) keeps samples at or after it. */
  async recent(
    instanceId: string,
    options: { limit?: number; since?: number } = {},
  ): Promise<HealthSample[]> {
    let q = this.#db
      .selectFrom('instance_health_samples')
      .selectAll()
      .where('instance_id', '=', instanceId);
    if (options.since !== undefined) q = q.where('sampled_at', '>=', options.since);
    const rows = await q
      .orderBy('id', 'desc')
      .limit(options.limit ?? this.#limits.maxPerInstance)
      .execute();
    return rows.map(toSample);
  }

  /** Number of samples held for one instance. */
  async count(instanceId: string): Promise<number> {
    const row = await this.#db
      .selectFrom('instance_health_samples')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('instance_id', '=', instanceId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * Drops samples older than `now - maxAgeMs` and, per instance, all but the newest
   * `maxPerInstance`. Returns how many rows were deleted.
   */
  async prune(now: number, limits: Partial<HealthRingLimits> = {}): Promise<number> {
    const { maxAgeMs, maxPerInstance } = { ...this.#limits, ...limits };
    const aged = await this.#db
      .deleteFrom('instance_health_samples')
      .where('sampled_at', '<', now - maxAgeMs)
      .executeTakeFirst();
    let deleted = Number(aged.numDeletedRows);
    const instances = await this.#db
      .selectFrom('instance_health_samples')
      .select('instance_id')
      .distinct()
      .execute();
    for (const { instance_id } of instances) {
      deleted += await this.#trimInstance(instance_id, maxPerInstance);
    }
    return deleted;
  }

  /** Removes every sample of an instance (when the instance is deleted). */
  async deleteInstance(instanceId: string): Promise<number> {
    const res = await this.#db
      .deleteFrom('instance_health_samples')
      .where('instance_id', '=', instanceId)
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  // Deletes everything at or below the id of the (cap+1)-th newest sample. When fewer samples
  // exist the subquery yields no row, the comparison is NULL and nothing is deleted.
  async #trimInstance(instanceId: string, keep: number): Promise<number> {
    const res = await this.#db
      .deleteFrom('instance_health_samples')
      .where('instance_id', '=', instanceId)
      .where('id', '<=', (eb) =>
        eb
          .selectFrom('instance_health_samples')
          .select('id')
          .where('instance_id', '=', instanceId)
          .orderBy('id', 'desc')
          .limit(1)
          .offset(Math.max(0, Math.floor(keep))),
      )
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
