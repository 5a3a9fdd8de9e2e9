import type { StoreMigration } from './migration.js';
import { notNull } from './migration.js';

/**
 * API keys of the gateway. Only a sha256 of each key is stored (the key itself is shown once,
 * when it is created), plus a short prefix to recognise it in listings and to find the row
 * before the constant-time hash comparison.
 */
export const apiKeyTables: StoreMigration = {
  name: '0003_api_keys',
  async up(db) {
    await db.schema
      .createTable('api_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text')
      .addColumn('role', 'text', notNull)
      .addColumn('prefix', 'text', notNull)
      .addColumn('key_hash', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'bigint', notNull)
      .addColumn('last_used_at', 'bigint')
      .addColumn('revoked_at', 'bigint')
      .execute();
    await db.schema.createIndex('api_keys_prefix').on('api_keys').column('prefix').execute();
  },
  async down(db) {
    await db.schema.dropTable('api_keys').execute();
  },
};
