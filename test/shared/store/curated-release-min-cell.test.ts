import { Migrator } from 'kysely';
import { expect, it } from 'vitest';
import { withdrawNoLongerPublishable } from '../../../shared/curated/curated-releases.js';
import { openStore } from '../../../shared/store/database.js';
import { takeLockEpoch } from '../../../shared/store/lock-epochs.js';
import { migrationsFor } from '../../../shared/store/migrations/index.js';

it("migration 0056 takes each release's minimum from its manifest, a release with none is withdrawn at the next heal, and it undoes itself", async () => {
  const store = openStore({ engine: 'sqlite', path: ':memory:' });
  try {
    const migrator = new Migrator({
      db: store.db,
      provider: { getMigrations: async () => migrationsFor(store.dialect) },
    });
    expect((await migrator.migrateTo('0055-import-run-entry-logged')).error).toBeUndefined();
    const target = {
      agreementId: 'isa',
      purposeId: 'service-planning',
      datasetId: 'indicators',
      partyId: 'la-housing',
    };
    const release = (id: string, day: string, manifest: string | null) => ({
      id,
      agreement_id: target.agreementId,
      agreement_version: '1.2.0',
      purpose_id: target.purposeId,
      dataset_id: target.datasetId,
      party_id: target.partyId,
      generated_at: `${day}T06:00:00.000Z`,
      lines: 0,
      counts_sha256: 'ab'.repeat(32),
      manifest,
    });
    const manifestUnder = (minimumCell: number) => JSON.stringify({ method: { minimumCell, roundedTo: 5 } });
    await store.db
      .insertInto('curated_release')
      .values([
        release('under-10', '2026-10-01', manifestUnder(10)),
        release('under-20', '2026-11-01', manifestUnder(20)),
        // Stored before 0047 kept manifests.
        release('before-0047', '2026-09-01', null),
        release('not-json', '2026-08-01', '{"method":'),
      ])
      .execute();
    expect((await migrator.migrateTo('0056-curated-release-min-cell')).error).toBeUndefined();
    expect(await store.db.selectFrom('curated_release').select(['id', 'min_cell']).orderBy('id').execute()).toEqual([
      { id: 'before-0047', min_cell: null },
      { id: 'not-json', min_cell: null },
      { id: 'under-10', min_cell: 10 },
      { id: 'under-20', min_cell: 20 },
    ]);

    // Under a minimum of 10 now, the heal keeps what was published under 10 or more, and withdraws,
    // once, the releases whose minimum nothing records.
    const fence = await takeLockEpoch(store, 'curated/export.lock');
    const heldUnder10 = { ...target, publishable: [{ measure: 'all people', categories: ['all'] }], minCell: 10 };
    const withdrawn = await withdrawNoLongerPublishable(store, heldUnder10, fence);
    expect(withdrawn.map((at) => at.toISOString()).sort()).toEqual([
      '2026-08-01T06:00:00.000Z',
      '2026-09-01T06:00:00.000Z',
    ]);
    expect(await store.db.selectFrom('curated_release').select('id').orderBy('id').execute()).toEqual([
      { id: 'under-10' },
      { id: 'under-20' },
    ]);
    expect(await withdrawNoLongerPublishable(store, heldUnder10, fence)).toEqual([]);

    expect((await migrator.migrateTo('0055-import-run-entry-logged')).error).toBeUndefined();
    const tables = await store.db.introspection.getTables();
    expect(tables.find((t) => t.name === 'curated_release')!.columns.map((c) => c.name)).not.toContain('min_cell');
  } finally {
    await store.close();
  }
});
