import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `audit_alert.agreement_id`: the agreement whose business the entries an alert counted are
 * (shared/audit/entry-agreements.ts). The watch rules now count a client's entries per agreement,
 * and an alert is shown only to the DPOs of its agreement: counted across a party's agreements,
 * the DPO of one saw, and could open a breach on, an alert made entirely of the party's lookups
 * under another (found by a review). Alerts raised before hold NULL — which agreement's entries
 * they counted was not recorded, and is not guessed — and are shown by their party, as they were.
 * No index: the lists read alerts newest first by `audit_alert_raised`, and filter as they go.
 */
export function alertAgreement(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('audit_alert').addColumn('agreement_id', d.text(100)).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('audit_alert').dropColumn('agreement_id').execute();
    },
  };
}
