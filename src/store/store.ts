import type { Kysely } from 'kysely';
import { AlertRepository } from './alert-repository.js';
import { type HealthRingLimits, HealthSampleRepository } from './health-sample-repository.js';
import { InstanceStatsRepository } from './instance-stats-repository.js';
import type { StoreDialect } from './migrations/index.js';
import { type MigrationReport, migrateToLatest } from './migrator.js';
import type { Database } from './schema.js';

/**
 * The database: a Kysely handle plus the repositories of each area. Build it with
 * {@link openStore}; queries written against `db` must run on both dialects.
 *
 * @example
 * const store = await openStore({ kind: 'sqlite', file: '/tmp/cc.db' });
 * await store.healthSamples.record({ instance_id: 'a', sampled_at: Date.now(), health: 'healthy', ok: true });
 * await store.close();
 */
export class Store {
  /** Typed query builder; use it for queries no repository offers yet. */
  readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;
  /** File path (SQLite) or the connection string without its password (PostgreSQL). */
  readonly location: string;
  readonly healthSamples: HealthSampleRepository;
  readonly instanceStats: InstanceStatsRepository;
  readonly alerts: AlertRepository;
  #closed: Promise<void> | undefined;

  constructor(
    db: Kysely<Database>,
    dialect: StoreDialect,
    location: string,
    options: { healthRing?: Partial<HealthRingLimits> } = {},
  ) {
    this.db = db;
    this.dialect = dialect;
    this.location = location;
    this.healthSamples = new HealthSampleRepository(db, options.healthRing);
    this.instanceStats = new InstanceStatsRepository(db);
    this.alerts = new AlertRepository(db);
  }

  /** Applies pending schema steps (openStore does this unless told not to). */
  migrate(): Promise<MigrationReport> {
    return migrateToLatest(this.db, this.dialect);
  }

  /** Closes the connection(s). Safe to call more than once. */
  close(): Promise<void> {
    this.#closed ??= this.db.destroy();
    return this.#closed;
  }
}
