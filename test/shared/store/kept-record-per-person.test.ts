import { Migrator } from 'kysely';
import { expect, it } from 'vitest';
import { openStore } from '../../../shared/store/database.js';
import { migrationsFor } from '../../../shared/store/migrations/index.js';

const kept = (record_id: string, person_id: string) => ({
  record_id,
  person_id,
  dataset_id: 'multiple-disadvantage-indicators',
  date_of_birth: '1980-05-06',
  given_name: 'MARY',
  family_name: 'GREEN',
  first3: 'MAR',
  postcode: 'ME15 2YY',
  kept_at: '2026-11-02T00:00:00.000Z',
});

it('migration 0023 keeps the keys kept before it, and lets a record be kept again under another person', async () => {
  const store = openStore({ engine: 'sqlite', path: ':memory:' });
  try {
    const migrator = new Migrator({
      db: store.db,
      provider: { getMigrations: async () => migrationsFor(store.dialect) },
    });
    expect((await migrator.migrateTo('0022-person-id-since')).error).toBeUndefined();
    await store.db.insertInto('opt_out_kept_record').values(kept('run-a:0000000001', 'p1')).execute();
    expect((await migrator.migrateToLatest()).error).toBeUndefined();

    await store.db.insertInto('opt_out_kept_record').values(kept('run-a:0000000001', 'p2')).execute();
    await expect(
      store.db.insertInto('opt_out_kept_record').values(kept('run-a:0000000001', 'p2')).execute(),
    ).rejects.toThrow(/UNIQUE|PRIMARY/i);
    const rows = () =>
      store.db.selectFrom('opt_out_kept_record').select(['record_id', 'person_id']).orderBy('person_id');
    expect(await rows().execute()).toEqual([
      { record_id: 'run-a:0000000001', person_id: 'p1' },
      { record_id: 'run-a:0000000001', person_id: 'p2' },
    ]);

    // Down again: one row a record, as 0019 kept it.
    expect((await migrator.migrateTo('0022-person-id-since')).error).toBeUndefined();
    expect(await rows().execute()).toEqual([{ record_id: 'run-a:0000000001', person_id: 'p1' }]);
  } finally {
    await store.close();
  }
});
