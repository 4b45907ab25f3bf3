import { afterEach, expect, it } from 'vitest';
import { rejectMisplacedExtract } from '../../../shared/imports/import-extract.js';
import { createImportHarness, importFixture, runEntries, type ImportHarness } from './import-harness.js';

/**
 * A load's report is written only over the report it read of the name, and read again when another
 * write got there first. One that loses every write — here a lease held on the report, which refuses
 * every write without its id (412, as a changed ETag does) — kept the delivery reading and writing
 * for as long as the host let it run, its queue message invisible, the file neither moved nor
 * logged. Now it gives up after a few writes and fails, and the queue's retry publishes the report.
 * So does the rejection of a misplaced file, whose report is written the same way.
 */
const file = 'la-housing/multiple-disadvantage-indicators/extract.csv';
let h: ImportHarness;
afterEach(async () => {
  await h?.close();
});

it("fails the delivery, for its retry to publish the report, when the name's report refuses every write", async () => {
  h = await createImportHarness();
  await expect(h.importFile(file, importFixture('good.csv'))).resolves.toMatchObject({ outcome: 'loaded' });
  const reportBlob = h.blobs.getContainerClient(h.containers.processed).getBlobClient(`${file}.report.json`);
  const lease = reportBlob.getBlobLeaseClient();
  await lease.acquireLease(-1);

  await h.drop(file, importFixture('good-second-snapshot.csv'));
  const failed = await h.run(file).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(failed).toMatchObject({ name: 'ImportFailed', kind: 'ReportWriteContended' });
  const runId = (failed as { runId: string }).runId;
  expect(await h.report('processed', file)).not.toMatchObject({ runId });

  await lease.releaseLease();
  await expect(h.run(file)).resolves.toMatchObject({ outcome: 'duplicate', of: 'loaded' });
  expect(await h.report('processed', file)).toMatchObject({ runId, counts: { loaded: 15 } });
  expect(await runEntries(h, runId)).toEqual([['allow', 'snapshot-loaded']]);
});

it("fails the rejection of a misplaced file, for its retry, when the name's report refuses every write", async () => {
  const misplaced = 'la-housing/extract-misplaced.csv';
  h = await createImportHarness();
  await h.drop(misplaced, importFixture('good.csv'));
  await expect(rejectMisplacedExtract(h.deps(), misplaced)).resolves.toMatchObject({ outcome: 'rejected' });
  const lease = h.blobs
    .getContainerClient(h.containers.rejected)
    .getBlobClient(`${misplaced}.report.json`)
    .getBlobLeaseClient();
  await lease.acquireLease(-1);

  await h.drop(misplaced, importFixture('good-second-snapshot.csv'));
  await expect(rejectMisplacedExtract(h.deps(), misplaced)).rejects.toMatchObject({
    name: 'ImportFailed',
    kind: 'ReportWriteContended',
  });
  expect(await h.exists('incoming', misplaced)).toBe(true);

  await lease.releaseLease();
  const retried = await rejectMisplacedExtract(h.deps(), misplaced);
  expect(retried).toMatchObject({ outcome: 'rejected', reasons: ['bad-path'] });
  const { runId } = retried as { runId: string };
  expect(await h.report('rejected', misplaced)).toMatchObject({ runId });
  expect(await runEntries(h, runId)).toEqual([['deny', 'bad-path']]);
});
