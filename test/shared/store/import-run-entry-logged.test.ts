import { Migrator } from 'kysely';
import { expect, it } from 'vitest';
import { openStore } from '../../../shared/store/database.js';
import { migrationsFor } from '../../../shared/store/migrations/index.js';

it('migration 0055 marks the runs whose latest finish has its access-log entry, and no other, and undoes itself', async () => {
  const store = openStore({ engine: 'sqlite', path: ':memory:' });
  try {
    const migrator = new Migrator({
      db: store.db,
      provider: { getMigrations: async () => migrationsFor(store.dialect) },
    });
    expect((await migrator.migrateTo('0054-import-run-name-index')).error).toBeUndefined();
    const run = (id: string, receivedAt: string) => ({
      id,
      party_id: 'la-housing',
      dataset_id: 'indicators',
      blob_name: 'housing.csv',
      content_sha256: id.padEnd(64, '0'),
      status: 'loaded' as const,
      rows_total: 1,
      rows_loaded: 1,
      rows_rejected: 0,
      received_at: receivedAt,
      finished_at: receivedAt.replace('09:00', '09:05'),
    });
    const entry = (seq: number, requestId: string, time: string, action = 'import') => ({
      seq,
      time,
      request_id: requestId,
      party_id: 'la-housing',
      client_id: 'lintel-import',
      roles: '[]',
      purpose: 'import',
      action,
      subject_ref: null,
      datasets: '["indicators"]',
      fields: '[]',
      decision: 'allow',
      reason_code: 'snapshot-loaded',
      leaf_hash: new Uint8Array(32),
    });
    await store.db
      .insertInto('import_run')
      .values([
        run('logged', '2025-03-01T09:00:00.000Z'),
        run('killed-before-entry', '2025-03-02T09:00:00.000Z'),
        // Logged, then opened again and finished anew: the entry is of the earlier finish.
        run('reopened', '2025-03-04T09:00:00.000Z'),
        run('other-action', '2025-03-05T09:00:00.000Z'),
      ])
      .execute();
    await store.db
      .insertInto('access_log')
      .values([
        entry(1, 'logged', '2025-03-01T09:05:01.000Z'),
        entry(2, 'reopened', '2025-03-03T09:05:01.000Z'),
        entry(3, 'other-action', '2025-03-05T09:05:01.000Z', 'lookup'),
      ])
      .execute();
    expect((await migrator.migrateTo('0055-import-run-entry-logged')).error).toBeUndefined();
    expect(await store.db.selectFrom('import_run').select(['id', 'entry_logged']).orderBy('id').execute()).toEqual([
      { id: 'killed-before-entry', entry_logged: 0 },
      { id: 'logged', entry_logged: 1 },
      { id: 'other-action', entry_logged: 0 },
      { id: 'reopened', entry_logged: 0 },
    ]);
    expect((await migrator.migrateTo('0054-import-run-name-index')).error).toBeUndefined();
    const columns = await store.db.introspection.getTables();
    expect(columns.find((t) => t.name === 'import_run')!.columns.map((c) => c.name)).not.toContain('entry_logged');
  } finally {
    await store.close();
  }
});
