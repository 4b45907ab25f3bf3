import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `retired_identifier`: the keyed hashes (never the values) of the identifiers of records a
 * retention rule deleted, with the person id the records held. The access log keeps its entries
 * about that person for years after; without these a subject access request made by NHS number,
 * UPN, NI number or system id could not find them, and the DPO would answer "no accesses" to a
 * person who was accessed (shared/people/retired-identifiers.ts). Names, dates of birth and
 * postcodes are not kept: what a retention rule deletes stays deleted.
 */
export function retiredIdentifiers(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('retired_identifier')
        .addColumn('person_id', d.text(64), (c) => c.notNull())
        .addColumn('dataset_id', d.text(100), (c) => c.notNull())
        .addColumn('kind', d.text(100), (c) => c.notNull())
        .addColumn('hash', d.text(64), (c) => c.notNull())
        .addColumn('key_version', d.text(64), (c) => c.notNull())
        .addColumn('retired_at', d.timestamp(), (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('retired_identifier_lookup')
        .on('retired_identifier')
        .columns(['kind', 'hash'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('retired_identifier').execute();
    },
  };
}
