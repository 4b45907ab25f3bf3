import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `source_record_carried`: a partial index (a filtered index on SQL Server) on
 * `source_record(carried_person_id)`, holding only the records whose carried id no linking pass
 * has yet confirmed. The pending-links timer (shared/linkage/pending-links.ts) asks every five
 * minutes which datasets hold such records; without the index that question reads the whole
 * table. The index stays small: a pass clears the mark of every record it links.
 */
export function carriedPersonIndex(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createIndex('source_record_carried')
        .on('source_record')
        .column('carried_person_id')
        .where('carried_person_id', 'is not', null)
        .execute();
    },
    async down(db: Kysely<unknown>) {
      // SQL Server names an index within its table; SQLite within the schema, and refuses `on`.
      const drop = db.schema.dropIndex('source_record_carried');
      await (d.engine === 'mssql' ? drop.on('source_record') : drop).execute();
    },
  };
}
