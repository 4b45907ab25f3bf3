import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `link_run.agreement_sources`: what of the agreement files the pass linked under, as a SHA-256
 * (hex) of the agreement's version and each of its datasets with its sources
 * (shared/linkage/link-people.ts, agreementSourcesOf). A re-signing that changes a dataset's
 * sources changes people only at the agreement's next pass, and the five-minute timer ran one
 * only for records no pass had linked: until the next import or a relink, a person a former
 * source's record bridged stayed joined, and lookups showed the other council's record through it
 * (found by a review). The timer now also links an agreement whose last pass noted other files
 * than the host serves (pending-links.ts). Null for passes before this migration: the timer links
 * each such agreement once.
 */
export function linkRunAgreementSources(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('link_run').addColumn('agreement_sources', d.text(64)).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('link_run').dropColumn('agreement_sources').execute();
    },
  };
}
