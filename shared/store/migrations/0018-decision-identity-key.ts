import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `link_decision.identity_key`: the identity key (sources, names and date of birth:
 * shared/linkage/pair-key.ts) of the pair an officer decided, so that a later rejection of the
 * pair at another address can end every confirmation of the same two records' identity — one
 * kept under the identity key and one kept under the pair's key at the old address alike
 * (shared/linkage/review-queue.ts). Nullable: decisions made before it hold null, and are found
 * by their keys as before. No index: the table holds officers' decisions, and is read whole.
 */
export function decisionIdentityKey(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('link_decision').addColumn('identity_key', d.text(64)).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('link_decision').dropColumn('identity_key').execute();
    },
  };
}
