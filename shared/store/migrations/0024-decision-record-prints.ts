import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `link_decision.print_a`, `print_b`: the identity fingerprints (source, names and date of
 * birth under the identity key: shared/linkage/pair-key.ts) of a confirmed pair's two records,
 * the lesser first. A pass finds by them the records of today that a confirmation is about
 * (link-decisions.ts), and keeps them linked whether or not the probabilistic tier proposes them
 * again: a pair one of whose records moved house may score below the review threshold, or not
 * be scored at all, and the officer's confirmation was lost with the candidate. Nullable:
 * decisions made before it, and rejections, hold null; the first pass that finds a confirmed
 * link's records fills them in. No index: the table is read whole.
 */
export function decisionRecordPrints(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('link_decision').addColumn('print_a', d.text(64)).execute();
      await db.schema.alterTable('link_decision').addColumn('print_b', d.text(64)).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('link_decision').dropColumn('print_b').execute();
      await db.schema.alterTable('link_decision').dropColumn('print_a').execute();
    },
  };
}
