import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `link_decision.agreement_id`: the agreement whose `review` grant allowed the officer's
 * decision (shared/api/link-review-api.ts), so that a DPO can tell under which agreement a pair
 * was confirmed or rejected; the party, client and request alone did not say. Decisions made
 * before it hold NULL: which grant allowed them was not recorded, and is not guessed (a
 * candidate's agreement is not always the only one whose passes read its decision). No index:
 * the table holds officers' decisions, and is read whole.
 */
export function decisionAgreement(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('link_decision').addColumn('agreement_id', d.text(100)).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('link_decision').dropColumn('agreement_id').execute();
    },
  };
}
