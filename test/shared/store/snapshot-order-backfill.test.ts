import { Migrator } from 'kysely';
import { expect, it } from 'vitest';
import { openStore } from '../../../shared/store/database.js';
import { migrationsFor } from '../../../shared/store/migrations/index.js';

it('migration 0013 gives the current snapshot of each dataset its date and upload time, and no other run', async () => {
  const store = openStore({ engine: 'sqlite', path: ':memory:' });
  try {
    const migrator = new Migrator({
      db: store.db,
      provider: { getMigrations: async () => migrationsFor(store.dialect) },
    });
    expect((await migrator.migrateTo('0012-curated-releases')).error).toBeUndefined();
    const run = (id: string, at: string) => ({
      id,
      party_id: 'la-housing',
      dataset_id: 'indicators',
      blob_name: `${id}.csv`,
      content_sha256: id.padEnd(64, '0'),
      status: 'loaded' as const,
      rows_total: 1,
      rows_loaded: 1,
      rows_rejected: 0,
      received_at: at,
      finished_at: at,
    });
    await store.db
      .insertInto('import_run')
      .values([run('january', '2025-01-02T09:00:00.000Z'), run('february', '2025-02-02T09:00:00.000Z')])
      .execute();
    // Only the current snapshot's records are in the store.
    await store.db
      .insertInto('source_record')
      .values({
        id: 'february:0000000002',
        import_run_id: 'february',
        party_id: 'la-housing',
        dataset_id: 'indicators',
        row_number: 2,
        attributes: '{}',
        as_of: '2025-01-31',
      })
      .execute();
    expect((await migrator.migrateToLatest()).error).toBeUndefined();
    expect(
      await store.db.selectFrom('import_run').select(['id', 'as_of', 'uploaded_at']).orderBy('id').execute(),
    ).toEqual([
      { id: 'february', as_of: '2025-01-31', uploaded_at: '2025-02-02T09:00:00.000Z' },
      { id: 'january', as_of: null, uploaded_at: null },
    ]);
  } finally {
    await store.close();
  }
});
