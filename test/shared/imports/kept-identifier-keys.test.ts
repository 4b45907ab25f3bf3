import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepKeysOfDeparted } from '../../../shared/imports/opt-out-kept-keys.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';

/**
 * The identifier hashes kept for an opted-out person, as a load keeps them from what it noted of
 * the people it could not follow (found by the review of today's SQL: keyed on person, kind and
 * hash alone, a person's NHS hash kept from a second dataset, or noted twice from two of their
 * records, broke the primary key and failed that load on every delivery).
 */
describe('kept identifier hashes', () => {
  let store: Store;
  const NOTED = { records: 'noted_records', identifiers: 'noted_identifiers' };

  beforeAll(async () => {
    store = openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-kept-')), 'lintel.db') });
    await migrateToLatest(store);
    await sql`create table noted_records (record_id text, person_id text, date_of_birth text, given_name text,
      family_name text, first3 text, postcode text)`.execute(store.db);
    await sql`create table noted_identifiers (person_id text, kind text, hash text, key_version text)`.execute(
      store.db,
    );
    // Two records of one person that both held the NHS number.
    await sql`insert into noted_identifiers values ('p1', 'nhs', 'h1', 'v1'), ('p1', 'nhs', 'h1', 'v1')`.execute(
      store.db,
    );
  });
  afterAll(async () => {
    await store?.close();
  });

  it('keeps a hash once a dataset, however many records held it, and again for another dataset', async () => {
    for (const dataset of ['dataset-a', 'dataset-b'])
      await store.db.transaction().execute((trx) => keepKeysOfDeparted(trx, NOTED, dataset));
    const kept = await store.db
      .selectFrom('opt_out_kept_identifier')
      .select(['person_id', 'dataset_id', 'kind', 'hash'])
      .orderBy('dataset_id')
      .execute();
    expect(kept).toEqual([
      { person_id: 'p1', dataset_id: 'dataset-a', kind: 'nhs', hash: 'h1' },
      { person_id: 'p1', dataset_id: 'dataset-b', kind: 'nhs', hash: 'h1' },
    ]);
  });
});
