import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `link_run.agreement_version`: the agreement file's version the pass linked under. During a
 * deployment the host on the old files and the host on the new run side by side on one store, and
 * each one's five-minute timer saw the other's last pass noting other files (migration 0043) and
 * linked again: the people were split and joined at every tick until the old host stopped (found
 * by a review). A host whose version is older than the last pass's runs no timer pass for the
 * agreement (shared/linkage/pending-links.ts). Null for passes before this migration. Bounded as
 * `agreement_party.version` (migration 0040).
 */
export function linkRunAgreementVersion(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('link_run').addColumn('agreement_version', d.text(100)).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('link_run').dropColumn('agreement_version').execute();
    },
  };
}
