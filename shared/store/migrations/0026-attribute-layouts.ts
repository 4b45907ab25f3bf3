import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `attribute_layout`: the attribute names a record's `attributes` array holds values for, in
 * order, under an id derived from them (shared/store/record-attributes.ts). A record written
 * since stores its values with its layout's id and without the names, which were a third of
 * a record's bytes and a seventh of the store a big snapshot load wrote; records written before keep
 * their JSON objects until their dataset's next snapshot replaces them, and both are read.
 */
export function attributeLayouts(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('attribute_layout')
        .addColumn('id', d.text(16), (c) => c.primaryKey())
        .addColumn('names', d.text(), (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('attribute_layout').execute();
    },
  };
}
