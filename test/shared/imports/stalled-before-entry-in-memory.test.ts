import { afterEach, expect, it, vi } from 'vitest';
import {
  createImportHarness,
  holdFirstBlobCall,
  importFixture,
  runEntries,
  type ImportHarness,
} from './import-harness.js';

/**
 * stalled-before-entry.test.ts on a store in memory, whose access log is not written within the
 * store's transactions, so its entries are not written under the run's lock. Two deliveries of a
 * name still meet there: Event Grid delivers at least once, to the one process that holds the
 * store. The first, stalled between its rejection's report and its entry (a slow storage call),
 * was released after the second had found the run finished past the grace with no entry and
 * written it: written unread, its own entry was a second one, and the access log said the file was
 * refused twice. Here the first delivery's removal of its staged report is held until then.
 */
const file = 'la-housing/multiple-disadvantage-indicators/extract.csv';
let h: ImportHarness;
afterEach(async () => {
  vi.restoreAllMocks();
  await h?.close();
});

it('has one entry for a rejection whose delivery stalled before its entry while its retry logged it, in memory', async () => {
  h = await createImportHarness({ inMemory: true });
  await h.drop(file, importFixture('missing-required-column.csv'));
  const firstStalled = holdFirstBlobCall('deleteIfExists', h.containers.rejected);

  const first = h.run(file);
  await firstStalled.reached;
  const rejected = await h.store.db.selectFrom('import_run').selectAll().executeTakeFirstOrThrow();
  expect(rejected).toMatchObject({ status: 'rejected', rejection_reason: 'missing-required-column' });
  const afterGrace = () => new Date(Date.parse(rejected.finished_at!) + 11_000);
  await expect(h.run(file, { now: afterGrace })).resolves.toMatchObject({ outcome: 'duplicate', of: 'rejected' });
  expect(await runEntries(h, rejected.id)).toEqual([['deny', 'missing-required-column']]);
  firstStalled.release();
  await expect(first).resolves.toMatchObject({ outcome: 'rejected', runId: rejected.id });

  expect(await runEntries(h, rejected.id)).toEqual([['deny', 'missing-required-column']]);
});
