import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { migrateToLatest, type Store } from '../../../shared/store/database.js';

/**
 * What every store engine must do the same way. Runs on SQLite always and on SQL Server when
 * MSSQL_TEST_CONNECTION is set; a new query belongs here once it exists.
 */
export function storeConformance(openStore: () => Store): void {
  let store: Store;

  beforeAll(async () => {
    store = openStore();
    await migrateToLatest(store);
  });
  afterAll(async () => {
    await store?.close();
  });

  const run = (overrides: Partial<{ id: string; party_id: string; content_sha256: string }> = {}) => ({
    id: randomUUID(),
    party_id: 'kent-county-council',
    dataset_id: 'housing-register',
    blob_name: 'kent-county-council/housing-register/extract-ß-é.csv',
    content_sha256: randomUUID().replaceAll('-', '').padEnd(64, '0'),
    status: 'received' as const,
    rows_total: 3_000_000_000,
    rows_loaded: null,
    rows_rejected: null,
    received_at: '2026-11-23T09:00:00.123Z',
    finished_at: null,
    ...overrides,
  });

  it('answers a ping', async () => {
    await expect(store.dialect.ping(store.db)).resolves.toBeUndefined();
  });

  it('re-running migrations applies nothing new', async () => {
    expect(await migrateToLatest(store)).toEqual([]);
  });

  it('round-trips unicode text, large counts and ISO times exactly', async () => {
    const row = run();
    await store.db.insertInto('import_run').values(row).execute();
    const back = await store.db.selectFrom('import_run').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
    expect(back.blob_name).toBe(row.blob_name);
    expect(Number(back.rows_total)).toBe(3_000_000_000);
    expect(back.received_at).toBe(row.received_at);
    expect(back.attempt).toBe(1);
  });

  it('refuses a second run of the same content from the same party for the same dataset', async () => {
    const first = run();
    await store.db.insertInto('import_run').values(first).execute();
    await expect(
      store.db
        .insertInto('import_run')
        .values(run({ content_sha256: first.content_sha256 }))
        .execute(),
    ).rejects.toThrow();
    // The same bytes from another party are a different run.
    await store.db
      .insertInto('import_run')
      .values(run({ content_sha256: first.content_sha256, party_id: 'medway-council' }))
      .execute();
  });

  it('leaves nothing behind when a transaction fails', async () => {
    const row = run();
    await expect(
      store.db.transaction().execute(async (trx) => {
        await trx.insertInto('import_run').values(row).execute();
        throw new Error('crash mid-transaction');
      }),
    ).rejects.toThrow('crash mid-transaction');
    const found = await store.db.selectFrom('import_run').select('id').where('id', '=', row.id).execute();
    expect(found).toEqual([]);
  });
}
