import { sql } from 'kysely';
import type { StoreMigration } from './migration.js';
import { notNull, withId } from './migration.js';

/**
 * Jobs and what hangs off them: attempts, inputs (content-addressed, with per-instance uploads),
 * outputs, templates, an append-only event log per job, and a counter table that hands out the
 * FIFO queue sequence (an UPDATE ... RETURNING on one row: portable, and unique under concurrency
 * on both dialects because the row is write-locked until the inserting transaction commits).
 */
export const jobTables: StoreMigration = {
  name: '0002_jobs',
  async up(db, dialect) {
    await db.schema
      .createTable('store_counters')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('value', 'bigint', notNull)
      .execute();
    await sql`insert into store_counters (name, value) values ('job_seq', 0)`.execute(db);

    await db.schema
      .createTable('jobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('seq', 'bigint', notNull)
      .addColumn('status', 'text', notNull)
      .addColumn('phase', 'text')
      .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('owner', 'text')
      .addColumn('idempotency_scope', 'text')
      .addColumn('idempotency_key', 'text')
      .addColumn('request_hash', 'text')
      .addColumn('pin', 'text')
      .addColumn('tags_json', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('workflow_json', 'text', notNull)
      .addColumn('template_name', 'text')
      .addColumn('template_params_json', 'text')
      .addColumn('metadata_json', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('webhook_url', 'text')
      .addColumn('timeout_ms', 'bigint', notNull)
      .addColumn('max_attempts', 'integer', notNull)
      .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('excluded_instances_json', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('instance_id', 'text')
      .addColumn('progress_percent', 'double precision')
      .addColumn('progress_node', 'text')
      .addColumn('progress_step', 'integer')
      .addColumn('progress_steps', 'integer')
      .addColumn('progress_updated_at', 'bigint')
      .addColumn('error_code', 'text')
      .addColumn('error_message', 'text')
      .addColumn('error_node_id', 'text')
      .addColumn('error_node_class', 'text')
      .addColumn('error_exception_type', 'text')
      .addColumn('error_exception_message', 'text')
      .addColumn('error_details_json', 'text')
      .addColumn('retry_of', 'text')
      .addColumn('created_at', 'bigint', notNull)
      .addColumn('queued_at', 'bigint', notNull)
      .addColumn('started_at', 'bigint')
      .addColumn('completed_at', 'bigint')
      .addColumn('processing_time_ms', 'bigint')
      .addColumn('updated_at', 'bigint', notNull)
      .execute();
    await db.schema.createIndex('jobs_seq').unique().on('jobs').column('seq').execute();
    // The scheduler's basic order: highest priority first, FIFO within a priority.
    await db.schema
      .createIndex('jobs_queue')
      .on('jobs')
      .columns(['status', 'priority desc', 'seq'])
      .execute();
    // NULL keys never collide (NULLs are distinct in unique indexes on both dialects).
    await db.schema
      .createIndex('jobs_idempotency')
      .unique()
      .on('jobs')
      .columns(['idempotency_scope', 'idempotency_key'])
      .execute();
    await db.schema.createIndex('jobs_status_seq').on('jobs').columns(['status', 'seq']).execute();
    await db.schema.createIndex('jobs_owner_seq').on('jobs').columns(['owner', 'seq']).execute();
    await db.schema
      .createIndex('jobs_instance_seq')
      .on('jobs')
      .columns(['instance_id', 'seq'])
      .execute();
    await db.schema.createIndex('jobs_created').on('jobs').column('created_at').execute();
    await db.schema.createIndex('jobs_completed').on('jobs').column('completed_at').execute();

    await db.schema
      .createTable('job_attempts')
      .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
      .addColumn('n', 'integer', notNull)
      .addColumn('instance_id', 'text', notNull)
      .addColumn('started_at', 'bigint', notNull)
      .addColumn('ended_at', 'bigint')
      .addColumn('outcome', 'text')
      .addColumn('error_code', 'text')
      .addColumn('error_message', 'text')
      .addPrimaryKeyConstraint('job_attempts_pk', ['job_id', 'n'])
      .execute();
    await db.schema
      .createIndex('job_attempts_instance')
      .on('job_attempts')
      .columns(['instance_id', 'started_at'])
      .execute();

    await db.schema
      .createTable('inputs')
      .addColumn('hash', 'text', (c) => c.primaryKey())
      .addColumn('size', 'bigint', notNull)
      .addColumn('mime', 'text', notNull)
      .addColumn('original_name', 'text', notNull)
      .addColumn('created_at', 'bigint', notNull)
      .addColumn('last_used_at', 'bigint', notNull)
      .execute();

    await db.schema
      .createTable('job_inputs')
      .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
      .addColumn('idx', 'integer', notNull)
      .addColumn('hash', 'text', (c) => c.notNull().references('inputs.hash'))
      .addColumn('name', 'text', notNull)
      .addColumn('node_id', 'text')
      .addColumn('input_name', 'text')
      .addPrimaryKeyConstraint('job_inputs_pk', ['job_id', 'idx'])
      .execute();
    await db.schema.createIndex('job_inputs_hash').on('job_inputs').column('hash').execute();

    await db.schema
      .createTable('instance_inputs')
      .addColumn('instance_id', 'text', notNull)
      .addColumn('hash', 'text', (c) => c.notNull().references('inputs.hash').onDelete('cascade'))
      .addColumn('name', 'text', notNull)
      .addColumn('subfolder', 'text', notNull)
      .addColumn('uploaded_at', 'bigint', notNull)
      .addPrimaryKeyConstraint('instance_inputs_pk', ['instance_id', 'hash'])
      .execute();
    await db.schema
      .createIndex('instance_inputs_hash')
      .on('instance_inputs')
      .column('hash')
      .execute();

    await db.schema
      .createTable('job_outputs')
      .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
      .addColumn('idx', 'integer', notNull)
      .addColumn('node_id', 'text', notNull)
      .addColumn('output_key', 'text', notNull)
      .addColumn('kind', 'text', notNull)
      .addColumn('filename', 'text')
      .addColumn('subfolder', 'text')
      .addColumn('type', 'text')
      .addColumn('size', 'bigint')
      .addColumn('sha256', 'text')
      .addColumn('mime', 'text')
      .addColumn('stored_path', 'text')
      .addColumn('value_json', 'text')
      .addColumn('created_at', 'bigint', notNull)
      .addPrimaryKeyConstraint('job_outputs_pk', ['job_id', 'idx'])
      .execute();

    await db.schema
      .createTable('templates')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('workflow_json', 'text', notNull)
      .addColumn('parameters_json', 'text', notNull)
      .addColumn('variants_json', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('source', 'text', notNull)
      .addColumn('created_at', 'bigint', notNull)
      .addColumn('updated_at', 'bigint', notNull)
      .execute();

    await withId(db.schema.createTable('job_events'), dialect)
      .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
      .addColumn('at', 'bigint', notNull)
      .addColumn('type', 'text', notNull)
      .addColumn('data_json', 'text', (c) => c.notNull().defaultTo('{}'))
      .execute();
    await db.schema
      .createIndex('job_events_job')
      .on('job_events')
      .columns(['job_id', 'id'])
      .execute();
  },
  async down(db) {
    for (const t of [
      'job_events',
      'templates',
      'job_outputs',
      'instance_inputs',
      'job_inputs',
      'inputs',
      'job_attempts',
      'jobs',
      'store_counters',
    ]) {
      await db.schema.dropTable(t).execute();
    }
  },
};
