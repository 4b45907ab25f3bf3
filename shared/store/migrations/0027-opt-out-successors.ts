import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `opt_out_successor`: each time a load (or, for the keys kept, a linking pass) carried a national
 * data opt-out from a person id to a plausible successor (shared/imports/opt-out-successors.ts,
 * and arrivals of kept keys, opt-out-kept-keys.ts), the earlier id, the later one (the successor
 * record's new carried id, or the person it was carried to) and when — ids only. Such a carry is
 * no person-id move (person_id_move): a plausible successor may be someone else, so a subject
 * access request does not show the accesses logged under the other id. Without these it could not
 * say that the other id may be the same person either (found by a defect hunt); with them it names
 * it by a reference the DPO can follow (shared/people/possibly-same-person.ts). Written in the
 * load's or pass's transaction, beside the copies of the opt-out. Keyed with the time, as
 * person_id_move is (0016): a pair is noted once, but two loads at once may each find it new.
 */
export function optOutSuccessors(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('opt_out_successor')
        .addColumn('earlier_person_id', d.text(64), (c) => c.notNull())
        .addColumn('later_person_id', d.text(64), (c) => c.notNull())
        .addColumn('carried_at', d.timestamp(), (c) => c.notNull())
        .addPrimaryKeyConstraint('opt_out_successor_pk', ['earlier_person_id', 'later_person_id', 'carried_at'])
        .execute();
      await db.schema
        .createIndex('opt_out_successor_later')
        .on('opt_out_successor')
        .columns(['later_person_id'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('opt_out_successor').execute();
    },
  };
}
