import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The two records' fingerprints (shared/linkage/pair-key.ts) beside a tier-5 candidate in
 * `record_link`, and beside an officer's decision in `link_decision` with the two sources. A pass
 * finds a confirmed pair by its pair key only when the probabilistic tier proposes the pair
 * again; with the fingerprints it finds the two records whenever both are still there, so a
 * confirmed link is not lost because another record now scores higher against one of them.
 */
export function linkDecisionFingerprints(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      for (const column of ['fingerprint_a', 'fingerprint_b']) {
        await db.schema.alterTable('record_link').addColumn(column, d.text(64)).execute();
      }
      for (const [column, length] of [
        ['source_a', 201],
        ['fingerprint_a', 64],
        ['source_b', 201],
        ['fingerprint_b', 64],
      ] as const) {
        await db.schema.alterTable('link_decision').addColumn(column, d.text(length)).execute();
      }
    },
    async down(db: Kysely<unknown>) {
      for (const column of ['source_a', 'fingerprint_a', 'source_b', 'fingerprint_b']) {
        await db.schema.alterTable('link_decision').dropColumn(column).execute();
      }
      for (const column of ['fingerprint_a', 'fingerprint_b']) {
        await db.schema.alterTable('record_link').dropColumn(column).execute();
      }
    },
  };
}
