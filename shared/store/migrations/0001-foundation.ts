import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/** Import runs: one row per file received, keyed by its content so a re-upload is applied once. */
export function foundation(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('import_run')
        .addColumn('id', d.text(64), (c) => c.primaryKey())
        .addColumn('party_id', d.text(100), (c) => c.notNull())
        .addColumn('dataset_id', d.text(100), (c) => c.notNull())
        .addColumn('blob_name', d.text(1024), (c) => c.notNull())
        .addColumn('content_sha256', d.text(64), (c) => c.notNull())
        .addColumn('status', d.text(16), (c) => c.notNull())
        .addColumn('rows_total', d.bigInteger())
        .addColumn('rows_loaded', d.bigInteger())
        .addColumn('rows_rejected', d.bigInteger())
        .addColumn('received_at', d.timestamp(), (c) => c.notNull())
        .addColumn('finished_at', d.timestamp())
        .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(1))
        .addUniqueConstraint('import_run_content_unique', ['party_id', 'dataset_id', 'content_sha256'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('import_run').execute();
    },
  };
}
