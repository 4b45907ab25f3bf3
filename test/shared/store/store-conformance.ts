import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { storeRelease, type Release } from '../../../shared/curated/curated-releases.js';
import { migrateToLatest, type Store } from '../../../shared/store/database.js';
import { takeLockEpoch } from '../../../shared/store/lock-epochs.js';

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

  it('keeps a planning release whole, one a target and day, and lets go of releases past the history', async () => {
    const partyId = `analysts-${randomUUID().slice(0, 8)}`;
    const target = { agreementId: 'isa', purposeId: 'service-planning', datasetId: 'indicators', partyId };
    // As an export run holds it: no other holder takes this lock, so every release commits.
    const fence = await takeLockEpoch(store, `store-conformance/${partyId}`);
    const release = (generatedAt: string, people: number): Release => ({
      target,
      agreementVersion: '1.1.0',
      generatedAt: new Date(generatedAt),
      countsSha256: 'ab'.repeat(32),
      minCell: 10,
      manifest: '{}',
      // More lines than one statement takes on SQL Server.
      lines: Array.from({ length: 450 }, (_, i) => ({
        measure: `field${i}`,
        category: 'Y',
        people: i % 3 === 0 ? null : people,
        suppressed: i % 3 === 0,
        specialCategory: i === 1,
      })),
    });
    const releases = () =>
      store.db
        .selectFrom('curated_release')
        .select(['id', 'generated_at', 'lines'])
        .where('party_id', '=', partyId)
        .orderBy('generated_at')
        .execute();
    await storeRelease(store, release('2026-12-01T06:00:00.000Z', 15), 400, fence);
    await storeRelease(store, release('2026-12-02T06:00:00.000Z', 20), 400, fence);
    // A second release the same day replaces the first of that day.
    await storeRelease(store, release('2026-12-02T18:00:00.000Z', 25), 400, fence);
    let kept = await releases();
    expect(kept.map((r) => [r.generated_at, r.lines])).toEqual([
      ['2026-12-01T06:00:00.000Z', 450],
      ['2026-12-02T18:00:00.000Z', 450],
    ]);
    const lines = await store.db
      .selectFrom('curated_count')
      .selectAll()
      .where('release_id', '=', kept[1]!.id)
      .orderBy('line')
      .execute();
    expect(lines).toHaveLength(450);
    expect(lines[0]).toMatchObject({
      line: 1,
      measure: 'field0',
      people: null,
      suppressed: 'Y',
      special_category: 'N',
    });
    expect(lines[1]).toMatchObject({ line: 2, measure: 'field1', people: 25, suppressed: 'N', special_category: 'Y' });
    // Another recipient's release, no longer exported to.
    const elsewhere = { ...release('2026-11-01T06:00:00.000Z', 5), target: { ...target, partyId: `${partyId}-ended` } };
    await storeRelease(store, elsewhere, 400, fence);
    // 31 days' history on 2027-01-02: the release of 2026-12-01 goes, with its lines, and the
    // other recipient's too.
    const oldest = kept[0]!.id;
    await storeRelease(store, release('2027-01-02T06:00:00.000Z', 30), 31, fence);
    expect(
      await store.db.selectFrom('curated_release').select('id').where('party_id', '=', `${partyId}-ended`).execute(),
    ).toEqual([]);
    kept = await releases();
    expect(kept.map((r) => r.generated_at)).toEqual(['2026-12-02T18:00:00.000Z', '2027-01-02T06:00:00.000Z']);
    expect(
      await store.db.selectFrom('curated_count').select('line').where('release_id', '=', oldest).execute(),
    ).toEqual([]);
  });
}
