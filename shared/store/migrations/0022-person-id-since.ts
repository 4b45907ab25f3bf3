import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * When records came to hold a person id, so that a subject access request does not show what
 * was logged under an id before it was the person's (person-id-history.ts).
 *
 * - `source_record.person_since`: when a linking pass moved the record to its person id (null:
 *   since it was first linked, or since before this migration), carried to its successor by
 *   the next snapshot (carried-person-ids.ts).
 * - `person_id_move.held_since`: for the records a move took from an id, since when they had
 *   held it (the earliest of them; null: since they were first linked, or not known).
 *
 * Both nullable and null for every existing row: a history recorded before this reads as it
 * did. No index: read by the person id (already indexed) and by the move's ids.
 */
export function personIdSince(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('source_record').addColumn('person_since', d.timestamp()).execute();
      await db.schema.alterTable('person_id_move').addColumn('held_since', d.timestamp()).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('person_id_move').dropColumn('held_since').execute();
      await db.schema.alterTable('source_record').dropColumn('person_since').execute();
    },
  };
}
