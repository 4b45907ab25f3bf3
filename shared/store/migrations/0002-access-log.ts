import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The access log: one row per decision, strictly sequenced, append-only on both engines.
 * Lists (roles, datasets, fields) are JSON text; the leaf hash is kept for fast proofs, while
 * verification always recomputes it from the columns.
 */
export function accessLog(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await d
        .appendOnly(
          db.schema
            .createTable('access_log')
            .addColumn('seq', d.bigInteger(), (c) => c.primaryKey())
            .addColumn('time', d.timestamp(), (c) => c.notNull())
            .addColumn('request_id', d.text(100), (c) => c.notNull())
            .addColumn('party_id', d.text(100), (c) => c.notNull())
            .addColumn('client_id', d.text(200), (c) => c.notNull())
            .addColumn('roles', d.text(), (c) => c.notNull())
            .addColumn('purpose', d.text(100), (c) => c.notNull())
            .addColumn('action', d.text(100), (c) => c.notNull())
            .addColumn('subject_ref', d.text(100))
            .addColumn('datasets', d.text(), (c) => c.notNull())
            .addColumn('fields', d.text(), (c) => c.notNull())
            .addColumn('decision', d.text(20), (c) => c.notNull())
            .addColumn('reason_code', d.text(100), (c) => c.notNull())
            .addColumn('leaf_hash', d.bytes(32), (c) => c.notNull()),
        )
        .execute();
      await d.protectAppendOnly(db, 'access_log');
      await db.schema.createIndex('access_log_subject').on('access_log').columns(['subject_ref', 'seq']).execute();
      await db.schema.createIndex('access_log_client_time').on('access_log').columns(['client_id', 'time']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('access_log').execute();
    },
  };
}
