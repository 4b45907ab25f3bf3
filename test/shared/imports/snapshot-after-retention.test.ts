import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createImportHarness, importFixture, storedRecords, type ImportHarness } from './import-harness.js';

/**
 * README: "Bytes of a run another snapshot has since replaced ..., in a file dated after the
 * current snapshot, are a new snapshot: ... that run is opened again ... and loaded", and the
 * current snapshot's order is kept in import_run "so the order holds when retention has deleted
 * every record of it". The check asked source_record instead, so once retention had emptied the
 * current snapshot the newer file was answered `duplicate` and nothing loaded (found by a review).
 */
const MDI = 'multiple-disadvantage-indicators';
const HOUSING = 'la-housing';
const path = (file: string) => `${HOUSING}/${MDI}/${file}`;

describe('the current snapshot after retention emptied it', () => {
  let h: ImportHarness;
  beforeEach(async () => {
    h = await createImportHarness();
  });
  afterEach(async () => {
    await h?.close();
  });

  it('loads superseded bytes in a newer file as a new snapshot', async () => {
    expect(await h.importFile(path('extract-2025-02-03.csv'), importFixture('good.csv'))).toMatchObject({
      outcome: 'loaded',
    });
    expect(await h.importFile(path('extract-2025-02-04.csv'), importFixture('good-second-snapshot.csv'))).toMatchObject(
      {
        outcome: 'loaded',
      },
    );
    // Retention deletes every record of Tuesday's snapshot (as snapshot-order.test.ts simulates it).
    const records = h.store.db.selectFrom('source_record').select('id').where('party_id', '=', HOUSING);
    await h.store.db.deleteFrom('record_identifier').where('record_id', 'in', records).execute();
    await h.store.db.deleteFrom('source_record').where('party_id', '=', HOUSING).execute();

    // Thursday's extract happens to hold Monday's bytes: dated after the current snapshot (02-04).
    const thursday = await h.importFile(path('extract-2025-02-06.csv'), importFixture('good.csv'));
    expect(thursday).toMatchObject({ outcome: 'loaded', loaded: 40 });
    expect(await storedRecords(h.store, HOUSING, MDI)).toHaveLength(40);
  });

  // A duplicate of the current snapshot runs its afterLoad hook (linkage, idempotent) again, as a
  // retry after a crash past the commit must; the duplicate path asked source_record whether the
  // run was current, so once retention had emptied it the hook was skipped (found by a review).
  it('still runs afterLoad for a duplicate of the current snapshot', async () => {
    const name = path('extract-2025-02-03.csv');
    const loaded = await h.importFile(name, importFixture('good.csv'));
    expect(loaded).toMatchObject({ outcome: 'loaded' });
    const records = h.store.db.selectFrom('source_record').select('id').where('party_id', '=', HOUSING);
    await h.store.db.deleteFrom('record_identifier').where('record_id', 'in', records).execute();
    await h.store.db.deleteFrom('source_record').where('party_id', '=', HOUSING).execute();

    const afterLoad: string[] = [];
    const again = await h.importFile(name, importFixture('good.csv'), undefined, {
      hooks: { afterLoad: async (runId) => void afterLoad.push(runId) },
    });
    const { runId } = loaded as { runId: string };
    expect(again).toEqual({ outcome: 'duplicate', runId, of: 'loaded' });
    expect(afterLoad).toEqual([runId]);
  });
});
