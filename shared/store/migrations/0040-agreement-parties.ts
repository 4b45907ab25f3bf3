import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `agreement_party`: what the host last loaded of each agreement — its version, which parties
 * held which roles, and its `audit` block's roles and parties (JSON, ids only) — as
 * `purpose_agreement` (0038) and `dataset_agreement` (0039) remember where each purpose and
 * dataset belonged. When an agreement ends and its file is removed, its purposes and datasets
 * still name it, but no party held a role in it any more: its access-log entries were shown to no
 * DPO (or, for a consent recorded, to every agreement the party still signs), and the consents
 * taken under it could be withdrawn by no one (found by a review). The host writes each loaded
 * agreement here at start-up (shared/agreements/remembered-agreements.ts), where new or changed, and
 * reads back those the files no longer define. The lists are unbounded (nvarchar(max) on SQL
 * Server; nothing keys them): bounded at 4000 characters, an agreement of some forty parties with
 * long ids would have stopped the host at start-up on Azure SQL alone (found by a review; a
 * choice-based lettings partnership signs a dozen councils and more housing associations).
 */
export function agreementParties(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('agreement_party')
        .addColumn('agreement_id', d.text(100), (c) => c.primaryKey())
        .addColumn('version', d.text(100), (c) => c.notNull())
        .addColumn('parties', d.text(), (c) => c.notNull())
        .addColumn('audit', d.text())
        .addColumn('recorded_at', d.timestamp(), (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('agreement_party').execute();
    },
  };
}
