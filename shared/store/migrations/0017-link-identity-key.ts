import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `record_link.identity_key`: a tier-5 candidate's identity key (sources, names and date of
 * birth: shared/linkage/pair-key.ts), under which the review queue keeps a confirmation as well
 * as under its `pair_key` (where each record is alone in its source with its names and date of
 * birth), so that a confirmed pair stays confirmed when one of its records moves house, and whose
 * confirmation a rejection ends. Nullable, no index: written by the pass, read by the review
 * queue through the row's id.
 * Links made before it hold null; a pass copies their confirmations itself (link-decisions.ts).
 */
export function linkIdentityKey(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('record_link').addColumn('identity_key', d.text(64)).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('record_link').dropColumn('identity_key').execute();
    },
  };
}
