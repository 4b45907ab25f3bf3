import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The joint record store. One `source_record` per row of the latest loaded snapshot of a
 * party's dataset. Matching values are stored only in matching form: names and postcodes
 * normalised, identifiers as keyed HMACs (with the key version) in `record_identifier` — the
 * raw identifiers never reach the store. `attributes` holds the agreement's displayable and
 * special-category fields as JSON; what leaves is decided per request by the policy.
 */
export function records(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('source_record')
        .addColumn('id', d.text(64), (c) => c.primaryKey())
        .addColumn('import_run_id', d.text(64), (c) => c.notNull())
        .addColumn('party_id', d.text(100), (c) => c.notNull())
        .addColumn('dataset_id', d.text(100), (c) => c.notNull())
        .addColumn('row_number', d.bigInteger(), (c) => c.notNull())
        .addColumn('given_name', d.text(200))
        .addColumn('family_name', d.text(200))
        .addColumn('first3', d.text(3))
        .addColumn('date_of_birth', d.text(10))
        .addColumn('postcode', d.text(8))
        .addColumn('address', d.text(400))
        .addColumn('attributes', d.text(), (c) => c.notNull())
        .addColumn('as_of', d.text(10), (c) => c.notNull())
        .addColumn('person_id', d.text(64))
        .execute();
      await db.schema
        .createIndex('source_record_dataset')
        .on('source_record')
        .columns(['party_id', 'dataset_id'])
        .execute();
      await db.schema.createIndex('source_record_person').on('source_record').columns(['person_id']).execute();
      await db.schema
        .createIndex('source_record_dob_name')
        .on('source_record')
        .columns(['date_of_birth', 'family_name', 'first3'])
        .execute();
      await db.schema
        .createIndex('source_record_postcode_name')
        .on('source_record')
        .columns(['postcode', 'family_name', 'first3'])
        .execute();

      await db.schema
        .createTable('record_identifier')
        .addColumn('record_id', d.text(64), (c) => c.notNull())
        /** `nhs`, `upn`, `ni`, `system-id:<system>`, … as in shared/domain/pseudonymise.ts. */
        .addColumn('kind', d.text(100), (c) => c.notNull())
        .addColumn('hash', d.text(64), (c) => c.notNull())
        .addColumn('key_version', d.text(64), (c) => c.notNull())
        .addPrimaryKeyConstraint('record_identifier_pk', ['record_id', 'kind'])
        .execute();
      await db.schema
        .createIndex('record_identifier_lookup')
        .on('record_identifier')
        .columns(['kind', 'hash'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('record_identifier').execute();
      await db.schema.dropTable('source_record').execute();
    },
  };
}
