import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `purpose_agreement`: the agreement each purpose belonged to when the host last loaded one that
 * defined it. An access-log entry that names no dataset is filed by its purpose's agreement
 * (shared/audit/entry-agreements.ts); once a re-signed agreement dropped the purpose, its past
 * entries — Dudley's consents recorded for an evaluation, each naming a person — fell to every
 * agreement the party signed, and the DPO of an unrelated one was shown them (found by a review).
 * The host writes each loaded purpose's agreement here at start-up
 * (shared/agreements/remembered-agreements.ts), and reads back those the files no longer define.
 * One row a purpose, its latest agreement: a purpose that moved is filed by where it is now.
 * Ids and a time only.
 */
export function purposeAgreements(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('purpose_agreement')
        .addColumn('purpose_id', d.text(100), (c) => c.primaryKey())
        .addColumn('agreement_id', d.text(100), (c) => c.notNull())
        .addColumn('recorded_at', d.timestamp(), (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('purpose_agreement').execute();
    },
  };
}
