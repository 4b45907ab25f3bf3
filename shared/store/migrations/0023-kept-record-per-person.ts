import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `opt_out_kept_record` keyed on (record_id, person_id) instead of record_id alone. A record's id
 * is its run and row (shared/imports/record-ids.ts), and a run is opened again when its bytes come
 * back as a newer snapshot, so one record can leave twice: once under the opt-out's person, and
 * again under the id a later opt-out (another party's) was recorded on. Keyed on the record
 * alone, the second keeping broke the primary key and failed that load on every delivery, for
 * good. SQLite cannot change a primary key in place, so on both engines the rows are copied aside
 * and the table is built again under its own name, as 0016 does.
 */
type KeptColumn = 'record_id' | 'person_id';

const COLUMNS = 'record_id, person_id, dataset_id, date_of_birth, given_name, family_name, first3, postcode, kept_at';

export function keptRecordPerPerson(d: Dialect): Migration {
  const create = (db: Kysely<unknown>, table: string, key?: KeptColumn[]) => {
    const builder = db.schema
      .createTable(table)
      .addColumn('record_id', d.text(64), (c) => c.notNull())
      .addColumn('person_id', d.text(64), (c) => c.notNull())
      .addColumn('dataset_id', d.text(100), (c) => c.notNull())
      .addColumn('date_of_birth', d.text(10))
      .addColumn('given_name', d.text(200))
      .addColumn('family_name', d.text(200))
      .addColumn('first3', d.text(3))
      .addColumn('postcode', d.text(8))
      .addColumn('kept_at', d.timestamp(), (c) => c.notNull());
    return (key === undefined ? builder : builder.addPrimaryKeyConstraint('opt_out_kept_record_pk', key)).execute();
  };
  const rebuild = async (db: Kysely<unknown>, key: KeptColumn[], copyBack: string) => {
    await create(db, 'opt_out_kept_record_0023');
    await sql
      .raw(`insert into opt_out_kept_record_0023 (${COLUMNS}) select ${COLUMNS} from opt_out_kept_record`)
      .execute(db);
    // Its index goes with it.
    await db.schema.dropTable('opt_out_kept_record').execute();
    await create(db, 'opt_out_kept_record', key);
    await sql.raw(copyBack).execute(db);
    await db.schema.dropTable('opt_out_kept_record_0023').execute();
    await db.schema
      .createIndex('opt_out_kept_record_person')
      .on('opt_out_kept_record')
      .columns(['person_id'])
      .execute();
  };
  return {
    async up(db: Kysely<unknown>) {
      await rebuild(
        db,
        ['record_id', 'person_id'],
        `insert into opt_out_kept_record (${COLUMNS}) select ${COLUMNS} from opt_out_kept_record_0023`,
      );
    },
    async down(db: Kysely<unknown>) {
      // Back to one row a record: the one kept under the least person id.
      await rebuild(
        db,
        ['record_id'],
        `insert into opt_out_kept_record (${COLUMNS}) select ${COLUMNS} from opt_out_kept_record_0023 k
          where not exists (select 1 from opt_out_kept_record_0023 o
            where o.record_id = k.record_id and o.person_id < k.person_id)`,
      );
    },
  };
}
