import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `agreement_party.dropped_parties`: the parties an earlier loaded version of the agreement
 * listed and the one loaded since does not, each with the roles it last held there (JSON, ids
 * only, as `parties`). A re-signing can drop a party while the agreement goes on; the row kept
 * only the new version's parties, so the consents the dropped party had recorded under it could
 * be withdrawn by no one, and its client id, still mapped, stopped the host at start-up as a
 * party to nothing (found by a review). Read only to let that party withdraw what it recorded
 * (policy/decide.ts); it grants nothing else. Null in a row written before this, and in one of an
 * agreement that has dropped no one.
 */
export function agreementDroppedParties(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('agreement_party').addColumn('dropped_parties', d.text()).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('agreement_party').dropColumn('dropped_parties').execute();
    },
  };
}
