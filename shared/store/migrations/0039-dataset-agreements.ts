import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `dataset_agreement`: the agreement each dataset belonged to when the host last loaded one that
 * defined it, as `purpose_agreement` (0038) is for purposes. An access-log entry that names
 * datasets is filed by their agreements (shared/audit/entry-agreements.ts); once a re-signed
 * agreement dropped a dataset, its past entries — lookups, each naming the person found — were
 * nobody's, shown to no DPO and counted by no watch rule (found by a review). The host writes each
 * loaded dataset's agreement here at start-up (shared/agreements/remembered-agreements.ts), and reads
 * back those the files no longer define. One row a dataset, its latest agreement. Ids and a time
 * only.
 */
export function datasetAgreements(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('dataset_agreement')
        .addColumn('dataset_id', d.text(100), (c) => c.primaryKey())
        .addColumn('agreement_id', d.text(100), (c) => c.notNull())
        .addColumn('recorded_at', d.timestamp(), (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('dataset_agreement').execute();
    },
  };
}
