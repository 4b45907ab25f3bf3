import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `person_id_move` keyed on (from, to, moved_at) instead of (from, to): records can move from
 * one id to another more than once (A→B, B→A, A→B again), and a subject access request bounds
 * each earlier id by the latest time it gave its records away, so a repeat kept only as its
 * first time would hide the accesses logged under the id in between. SQLite cannot change a
 * primary key in place, so on both engines the rows are copied aside and the table is built
 * again under its own name (SQL Server's rename is a stored procedure SQLite lacks).
 */
type MoveColumn = 'from_person_id' | 'to_person_id' | 'moved_at';

export function personIdMoveTimes(d: Dialect): Migration {
  const rebuild = async (db: Kysely<unknown>, key: MoveColumn[], copyBack: string) => {
    await db.schema
      .createTable('person_id_move_0016')
      .addColumn('from_person_id', d.text(64), (c) => c.notNull())
      .addColumn('to_person_id', d.text(64), (c) => c.notNull())
      .addColumn('moved_at', d.timestamp(), (c) => c.notNull())
      .execute();
    await sql`insert into person_id_move_0016 (from_person_id, to_person_id, moved_at)
      select from_person_id, to_person_id, moved_at from person_id_move`.execute(db);
    // Its index goes with it (and `drop index … on` is SQL Server's spelling only).
    await db.schema.dropTable('person_id_move').execute();
    await db.schema
      .createTable('person_id_move')
      .addColumn('from_person_id', d.text(64), (c) => c.notNull())
      .addColumn('to_person_id', d.text(64), (c) => c.notNull())
      .addColumn('moved_at', d.timestamp(), (c) => c.notNull())
      .addPrimaryKeyConstraint('person_id_move_pk', key)
      .execute();
    await sql.raw(copyBack).execute(db);
    await db.schema.dropTable('person_id_move_0016').execute();
    await db.schema.createIndex('person_id_move_to').on('person_id_move').columns(['to_person_id']).execute();
  };
  return {
    async up(db: Kysely<unknown>) {
      await rebuild(
        db,
        ['from_person_id', 'to_person_id', 'moved_at'],
        `insert into person_id_move (from_person_id, to_person_id, moved_at)
          select from_person_id, to_person_id, moved_at from person_id_move_0016`,
      );
    },
    async down(db: Kysely<unknown>) {
      // Back to one row a pair: its first move, as 0014 kept it.
      await rebuild(
        db,
        ['from_person_id', 'to_person_id'],
        `insert into person_id_move (from_person_id, to_person_id, moved_at)
          select from_person_id, to_person_id, min(moved_at) from person_id_move_0016
          group by from_person_id, to_person_id`,
      );
    },
  };
}
