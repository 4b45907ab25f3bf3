import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keptHashSetsUnder } from '../../../shared/people/retired-identifiers.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';

/**
 * What a subject access request tells the DPO it could not compare once a key version is gone:
 * sets of kept hashes (one person's in one dataset), retention's and an opt-out's alike, in the
 * datasets it searched only.
 */
describe('keptHashSetsUnder', () => {
  let store: Store;
  beforeAll(async () => {
    store = openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-kept-sets-')), 'lintel.db') });
    await migrateToLatest(store);
    const row = (person: string, dataset: string, kind: string, version: string) => ({
      person_id: person,
      dataset_id: dataset,
      kind,
      hash: `${person}-${kind}-${version}`,
      key_version: version,
    });
    await store.db
      .insertInto('retired_identifier')
      .values(
        [
          // Two hashes of one person in one dataset: one set.
          row('p1', 'd1', 'nhs', 'gone'),
          row('p1', 'd1', 'upn', 'gone'),
          row('p1', 'd2', 'nhs', 'gone'),
          row('p2', 'd1', 'nhs', 'kept'),
          row('p3', 'elsewhere', 'nhs', 'gone'),
        ].map((r) => ({ ...r, retired_at: '2026-01-01T00:00:00.000Z' })),
      )
      .execute();
    await store.db
      .insertInto('opt_out_kept_identifier')
      .values([row('p4', 'd1', 'nhs', 'gone'), row('p5', 'd1', 'nhs', 'other')])
      .execute();
  });
  afterAll(async () => store.close());

  it('counts each person and dataset once a version, of both tables, in the datasets searched', async () => {
    expect(await keptHashSetsUnder(store, ['gone', 'other', 'absent'], ['d1', 'd2'])).toEqual([
      { keyVersion: 'gone', hashSets: 3 },
      { keyVersion: 'other', hashSets: 1 },
    ]);
    expect(await keptHashSetsUnder(store, ['gone'], [])).toEqual([]);
    expect(await keptHashSetsUnder(store, [], ['d1'])).toEqual([]);
  });
});
