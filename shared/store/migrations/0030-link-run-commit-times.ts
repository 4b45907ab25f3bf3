import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * When a linking pass's moves took effect, so that a subject access request finds what was
 * logged under an id the pass gave away while it was still committing (person-id-history.ts).
 *
 * - `link_run.committed_at`: written by the pass just after its transaction commits, so no
 *   earlier than the commit. A pass stamps its moves (`person_id_move.moved_at`) before it
 *   commits, and until the commit lookups read the people as they were and log the earlier id;
 *   bounding that id's window by the stamp dropped those entries from the merged person's
 *   answer (found by a defect hunt). Null for passes before this migration, and for one whose
 *   process ended between its commit and this write: the stamp bounds the window, as before.
 * - `person_id_move.run_id`: the pass that noted the move (null before this migration, and for
 *   moves noted outside a pass).
 *
 * No index: a move's run is read by `link_run`'s key, the moves themselves by their ids.
 */
export function linkRunCommitTimes(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('link_run').addColumn('committed_at', d.timestamp()).execute();
      await db.schema.alterTable('person_id_move').addColumn('run_id', d.text(64)).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('person_id_move').dropColumn('run_id').execute();
      await db.schema.alterTable('link_run').dropColumn('committed_at').execute();
    },
  };
}
