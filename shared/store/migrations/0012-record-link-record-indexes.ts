import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `record_link_record_a` and `record_link_record_b`: the links of given records. Retention
 * (shared/retention/enforce-retention.ts) deletes the links of the records it deletes, a batch of
 * ids at a time; without these indexes each batch read the whole table, inside the transaction
 * that holds the store's write lock.
 */
export function recordLinkRecordIndexes(_d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex('record_link_record_a').on('record_link').column('record_a').execute();
      await db.schema.createIndex('record_link_record_b').on('record_link').column('record_b').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('record_link_record_b').on('record_link').execute();
      await db.schema.dropIndex('record_link_record_a').on('record_link').execute();
    },
  };
}
