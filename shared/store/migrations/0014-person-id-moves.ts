import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `person_id_move`: each time a linking pass gives records that held one person id another
 * (people merged or split, a carried id not kept), the pair, once. The access log cannot be
 * rewritten, so its entries keep the id their subject had then; a subject access request
 * follows these moves to every id the person's records have held (shared/audit/dpo-views.ts).
 * Written in the pass's transaction, beside the consent events it carries.
 */
export function personIdMoves(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('person_id_move')
        .addColumn('from_person_id', d.text(64), (c) => c.notNull())
        .addColumn('to_person_id', d.text(64), (c) => c.notNull())
        .addColumn('moved_at', d.timestamp(), (c) => c.notNull())
        .addPrimaryKeyConstraint('person_id_move_pk', ['from_person_id', 'to_person_id'])
        .execute();
      await db.schema.createIndex('person_id_move_to').on('person_id_move').columns(['to_person_id']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('person_id_move').execute();
    },
  };
}
