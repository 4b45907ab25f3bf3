import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import {
  createImportHarness,
  failFirstBlobDeletion,
  importFixture,
  runEntries,
  storedRecords,
  type ImportHarness,
} from './import-harness.js';
import { killImportAtPhase } from './kill-at-phase.js';

/**
 * A load is killed mid-way (the host recycled), and before its event is delivered again the
 * partner overwrites the file in incoming with another extract under the same name, which is
 * imported on its own event and moved on. The first content's run was left unfinished, and the
 * delivery that then found the name gone rejected it as `removed-during-import`, publishing its
 * report under the name: the partner saw `rejected/extract.csv.report.json` beside the processed
 * file that loaded, or, where the later content was refused too, its report replaced by one saying
 * the file had been deleted. The first content's run now ends `overwritten-in-incoming`, with its
 * access-log entry, and the name's report stays the later content's.
 */
const MDI = 'multiple-disadvantage-indicators';
const file = `la-housing/${MDI}/extract.csv`;
let h: ImportHarness;
beforeEach(async () => {
  h = await createImportHarness();
  await h.drop(file, importFixture('good.csv'));
});
afterEach(async () => h?.close());

const runsInOrder = () =>
  h.store.db
    .selectFrom('import_run')
    .select(['id', 'status', 'rejection_reason', 'finished_at'])
    .orderBy('received_at')
    .execute();

it('leaves the name’s report to the later content that loaded, not a rejection of the content it replaced', async () => {
  // Killed inside the load's transaction, its report staged: nothing committed, the run `loading`.
  await killImportAtPhase(h, 'report', file);
  await h.drop(file, importFixture('good-second-snapshot.csv'));
  await expect(h.run(file)).resolves.toMatchObject({ outcome: 'loaded', loaded: 15 });

  // The first content's event delivered again finds the name gone.
  await expect(h.run(file)).resolves.toEqual({ outcome: 'gone' });

  expect(await h.blobNames('rejected'), 'nothing of the file was rejected').toEqual([]);
  expect(await h.blobNames('processed')).toEqual([file, `${file}.report.json`]);
  const [first, second] = await runsInOrder();
  expect(await h.report('processed', file)).toMatchObject({ outcome: 'loaded', runId: second!.id });
  expect(first).toMatchObject({ status: 'rejected', rejection_reason: 'overwritten-in-incoming' });
  expect(first!.finished_at).not.toBeNull();
  expect(await runEntries(h, first!.id)).toEqual([['deny', 'overwritten-in-incoming']]);
  expect(await runEntries(h, second!.id)).toEqual([['allow', 'snapshot-loaded']]);
  expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(15);

  // Delivered yet again: nothing more, and no second entry.
  await expect(h.run(file)).resolves.toEqual({ outcome: 'gone' });
  expect(await runEntries(h, first!.id)).toEqual([['deny', 'overwritten-in-incoming']]);
});

it('leaves no staged copy of the content it replaced when that content’s rejection breaks off at removing it', async () => {
  await killImportAtPhase(h, 'report', file);
  const [first] = await runsInOrder();
  await h.drop(file, importFixture('good-second-snapshot.csv'));
  // The later content loads and is moved on; rejecting the replaced content's run, its removal of
  // that run's staged report fails: as a delivery killed there, it goes no further.
  const deletion = failFirstBlobDeletion((name) => name === `${file}.report.${first!.id}.staged`);
  try {
    await expect(h.run(file)).rejects.toThrow();
  } finally {
    vi.restoreAllMocks();
  }
  expect(deletion.failed).toBe(true);

  // The queue's retry, five minutes on, finds the name gone.
  await expect(h.run(file, { now: () => new Date(Date.now() + 5 * 60_000) })).resolves.toEqual({ outcome: 'gone' });

  expect(await runEntries(h, first!.id)).toEqual([['deny', 'overwritten-in-incoming']]);
  expect(await h.blobNames('processed')).toEqual([file, `${file}.report.json`]);
  expect(await h.blobNames('rejected')).toEqual([]);
});

it('keeps the later content’s rejection report, not one saying the file was deleted', async () => {
  await killImportAtPhase(h, 'report', file);
  await h.drop(file, importFixture('empty-header-cell.csv'));
  const later = await h.run(file);
  expect(later).toMatchObject({ outcome: 'rejected', reasons: ['empty-column-name'] });

  await expect(h.run(file)).resolves.toEqual({ outcome: 'gone' });

  expect(await h.report('rejected', file)).toMatchObject({
    runId: 'runId' in later ? later.runId : undefined,
    fileErrors: [{ reason: 'empty-column-name' }],
  });
  expect(await h.blobNames('processed'), 'the killed load’s staged report is taken away').toEqual([]);
});
