import { BlockBlobClient } from '@azure/storage-blob';
import { afterEach, expect, it, vi } from 'vitest';
import {
  createImportHarness,
  holdFirstBlobCall,
  importFixture,
  queueRetryClock,
  storedRecords,
  theRun,
  type ImportHarness,
} from './import-harness.js';

/**
 * Event Grid delivers at least once, so one upload of a bad file can be imported by two hosts at
 * the same time. Both reject it and write its report in rejected/; only one finishes the run. The
 * other, finding the run finished by another delivery, took its report back — deleting the
 * report the winner wrote at the same path, so the file sat in rejected/ with no report. Here the
 * first delivery's report write is held until the second has rejected the file and returned.
 */
const MDI = 'multiple-disadvantage-indicators';
const file = `la-housing/${MDI}/extract.csv`;
let h: ImportHarness;
afterEach(async () => {
  vi.restoreAllMocks();
  await h?.close();
});

it('leaves the per-row report in rejected/ when two deliveries of a bad file reject it at once', async () => {
  h = await createImportHarness({ maxBadRowShare: 0.04 });
  await h.drop(file, importFixture('some-bad-rows.csv'));

  const firstWriting = holdFirstBlobCall('upload', h.containers.rejected);

  const first = h.run(file);
  await firstWriting.reached;
  const second = await h.run(file);
  firstWriting.release();
  const outcomes = [await first, second];

  expect(outcomes.map((o) => o.outcome).sort()).toEqual(['duplicate', 'rejected']);
  const run = await theRun(h);
  expect(run).toMatchObject({ status: 'rejected' });
  expect(await storedRecords(h.store, 'la-housing', MDI)).toEqual([]);
  expect(await h.exists('incoming', file)).toBe(false);
  expect(await h.exists('rejected', file)).toBe(true);
  const report = await h.report('rejected', file);
  expect(report, 'the file in rejected/ must have its report').toMatchObject({
    outcome: 'rejected',
    runId: run.id,
    finishedAt: run.finished_at,
    fileErrors: [{ reason: 'bad-row-share-exceeded' }],
    counts: { rows: 60, loaded: 0, rejected: 3 },
  });
  expect(report!.rowErrors.map((e) => e.row)).toEqual([7, 19, 35]);
  const entries = await h.store.db.selectFrom('access_log').selectAll().where('request_id', '=', run.id).execute();
  expect(entries.map((e) => e.decision)).toEqual(['deny']);
  // Nothing but the file and its report is left in rejected/.
  expect(await h.blobNames('rejected')).toEqual([file, `${file}.report.json`]);
});

it('publishes the rejection’s report on the retry when writing it failed after the run was finished', async () => {
  h = await createImportHarness({ maxBadRowShare: 0.04 });
  await h.drop(file, importFixture('some-bad-rows.csv'));
  const upload = BlockBlobClient.prototype.upload;
  let failed = false;
  vi.spyOn(BlockBlobClient.prototype, 'upload').mockImplementation(async function (
    this: BlockBlobClient,
    ...args: Parameters<typeof upload>
  ) {
    if (this.name === `${file}.report.json` && this.containerName === h.containers.rejected && !failed) {
      failed = true;
      throw new Error('blob storage unavailable');
    }
    return upload.apply(this, args);
  });
  await expect(h.run(file)).rejects.toThrow(/Import failed/);
  expect(await h.report('rejected', file)).toBeUndefined();
  expect(await h.exists('incoming', file)).toBe(true);

  // The run was finished before the write failed: the retry finds it rejected (a duplicate).
  expect((await h.run(file, { now: queueRetryClock() })).outcome).toMatch(/^(rejected|duplicate)$/);
  const run = await theRun(h);
  const report = await h.report('rejected', file);
  expect(report).toMatchObject({ outcome: 'rejected', runId: run.id, finishedAt: run.finished_at });
  expect(report!.rowErrors.map((e) => e.row)).toEqual([7, 19, 35]);
  expect(await h.exists('rejected', file)).toBe(true);
  expect(await h.exists('incoming', file)).toBe(false);
  const entries = await h.store.db.selectFrom('access_log').selectAll().where('request_id', '=', run.id).execute();
  expect(entries.map((e) => [e.decision, e.reason_code])).toEqual([['deny', 'bad-row-share-exceeded']]);
  expect(await h.blobNames('rejected')).toEqual([file, `${file}.report.json`]);
});
