import type { StoreMigration } from './migration.js';
import { notNull, withId } from './migration.js';

/** Instance health samples (ring buffer), per-instance stats snapshot and alerts. */
export const fleetTables: StoreMigration = {
  name: '0001_fleet_tables',
  async up(db, dialect) {
    await withId(db.schema.createTable('instance_health_samples'), dialect)
      .addColumn('instance_id', 'text', notNull)
      .addColumn('sampled_at', 'bigint', notNull)
      .addColumn('health', 'text', notNull)
      .addColumn('ok', 'integer', notNull)
      .addColumn('latency_ms', 'integer')
      .addColumn('queue_running', 'integer')
      .addColumn('queue_pending', 'integer')
      .addColumn('vram_free', 'bigint')
      .addColumn('vram_total', 'bigint')
      .addColumn('error', 'text')
      .execute();
    await db.schema
      .createIndex('instance_health_samples_instance_time')
      .on('instance_health_samples')
      .columns(['instance_id', 'sampled_at'])
      .execute();

    await db.schema
      .createTable('instance_stats')
      .addColumn('instance_id', 'text', (c) => c.primaryKey())
      .addColumn('updated_at', 'bigint', notNull)
      .addColumn('jobs_total', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('jobs_succeeded', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('jobs_failed', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('avg_run_ms', 'double precision')
      .addColumn('last_error', 'text')
      .addColumn('last_error_at', 'bigint')
      .addColumn('details_json', 'text', (c) => c.notNull().defaultTo('{}'))
      .execute();

    await withId(db.schema.createTable('instance_alerts'), dialect)
      .addColumn('instance_id', 'text', notNull)
      .addColumn('kind', 'text', notNull)
      .addColumn('reason', 'text', notNull)
      .addColumn('value', 'double precision')
      .addColumn('raised_at', 'bigint', notNull)
      .addColumn('cleared_at', 'bigint')
      .execute();
    await db.schema
      .createIndex('instance_alerts_instance_open')
      .on('instance_alerts')
      .columns(['instance_id', 'kind', 'cleared_at'])
      .execute();
  },
  async down(db) {
    await db.schema.dropTable('instance_alerts').execute();
    await db.schema.dropTable('instance_stats').execute();
    await db.schema.dropTable('instance_health_samples').execute();
  },
};
