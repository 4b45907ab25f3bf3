import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `agreement_party.identifier_kinds`: the identifier kinds (`nhs`, `upn`, `ni`,
 * `system-id:<system>`) the agreement's matching names, as a JSON list. A subject access request
 * by identifiers searches each dataset only by the kinds its agreement matches on
 * (people/lookup-identifiers.ts); with an agreement's file removed nothing said which, and its
 * DPO found no one by the case reference the agreement had matched on, though the records stay in
 * the store till an operator purges them (found by a review). Null in a row written before this:
 * the host writes it again at its next start while the agreement's file is there; one that ended
 * before that is searched by names and date of birth alone, as it was.
 */
export function agreementIdentifierKinds(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('agreement_party').addColumn('identifier_kinds', d.text()).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('agreement_party').dropColumn('identifier_kinds').execute();
    },
  };
}
