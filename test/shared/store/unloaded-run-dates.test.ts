import { Migrator } from 'kysely';
import { expect, it } from 'vitest';
import { openStore } from '../../../shared/store/database.js';
import { migrationsFor } from '../../../shared/store/migrations/index.js';

it("migration 0023 clears the date a run not loaded kept from its earlier load, so retention does not take a newer extract's retry as stale", async () => {
  const store = openStore({ engine: 'sqlite', path: ':memory:' });
  try {
    const migrator = new Migrator({
      db: store.db,
      provider: { getMigrations: async () => migrationsFor(store.dialect) },
    });
    expect((await migrator.migrateTo('0022-person-id-since')).error).toBeUndefined();
    const run = (id: string, status: 'loaded' | 'failed' | 'rejected', asOf: string) => ({
      id,
      party_id: 'la-housing',
      dataset_id: 'indicators',
      blob_name: `${id}.csv`,
      content_sha256: id.padEnd(64, '0'),
      status,
      rows_total: null,
      rows_loaded: null,
      rows_rejected: null,
      received_at: '2025-03-01T09:00:00.000Z',
      finished_at: '2025-03-01T09:05:00.000Z',
      as_of: asOf,
      uploaded_at: `${asOf}T08:00:00.000Z`,
    });
    await store.db
      .insertInto('import_run')
      .values([
        run('standing', 'loaded', '2025-02-28'),
        // Loaded on 31 January, opened again for a newer file with its bytes, and broken off:
        // the date is January's load's, not the file's.
        run('reopened', 'failed', '2025-01-31'),
        run('refused', 'rejected', '2025-01-15'),
      ])
      .execute();
    expect((await migrator.migrateToLatest()).error).toBeUndefined();
    expect(
      await store.db.selectFrom('import_run').select(['id', 'as_of', 'uploaded_at']).orderBy('id').execute(),
    ).toEqual([
      { id: 'refused', as_of: null, uploaded_at: null },
      { id: 'reopened', as_of: null, uploaded_at: null },
      { id: 'standing', as_of: '2025-02-28', uploaded_at: '2025-02-28T08:00:00.000Z' },
    ]);
  } finally {
    await store.close();
  }
});
