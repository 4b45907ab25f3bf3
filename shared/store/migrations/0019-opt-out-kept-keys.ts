import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The matching keys of an opted-out person whose records an import removed, kept under the
 * opt-out's person id so that the opt-out reaches them when another party's dataset sends them
 * (shared/imports/opt-out-kept-keys.ts): `opt_out_kept_record` the normalised date of birth,
 * names and postcode of each record, as `source_record` held them; `opt_out_kept_identifier` the
 * identifiers' keyed hashes with their key version — never a raw identifier — each with the
 * dataset it was held in, the only one whose records they reach. Rows live while the
 * opt-out does: its withdrawal deletes them.
 */
export function optOutKeptKeys(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('opt_out_kept_record')
        // The removed record's own id. A run opened again for a newer snapshot brings a record id
        // back, so one record can leave twice, under two people's opt-outs: one row a record and
        // person (found by a review: keyed on the record alone, the second load failed for good).
        .addColumn('record_id', d.text(64), (c) => c.notNull())
        .addColumn('person_id', d.text(64), (c) => c.notNull())
        .addColumn('dataset_id', d.text(100), (c) => c.notNull())
        .addColumn('date_of_birth', d.text(10))
        .addColumn('given_name', d.text(200))
        .addColumn('family_name', d.text(200))
        .addColumn('first3', d.text(3))
        .addColumn('postcode', d.text(8))
        .addColumn('kept_at', d.timestamp(), (c) => c.notNull())
        .addPrimaryKeyConstraint('opt_out_kept_record_pk', ['record_id', 'person_id'])
        .execute();
      await db.schema
        .createIndex('opt_out_kept_record_person')
        .on('opt_out_kept_record')
        .columns(['person_id'])
        .execute();
      await db.schema
        .createTable('opt_out_kept_identifier')
        .addColumn('person_id', d.text(64), (c) => c.notNull())
        .addColumn('dataset_id', d.text(100), (c) => c.notNull())
        .addColumn('kind', d.text(100), (c) => c.notNull())
        .addColumn('hash', d.text(64), (c) => c.notNull())
        .addColumn('key_version', d.text(64), (c) => c.notNull())
        // One person's hash may be kept from two datasets, each reaching its own records only.
        .addPrimaryKeyConstraint('opt_out_kept_identifier_pk', ['person_id', 'dataset_id', 'kind', 'hash'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('opt_out_kept_identifier').execute();
      await db.schema.dropTable('opt_out_kept_record').execute();
    },
  };
}
