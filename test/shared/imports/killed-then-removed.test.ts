import { afterEach, beforeEach, expect, it } from 'vitest';
import { linkPendingRecords } from '../../../shared/linkage/pending-links.js';
import { enforceRetention } from '../../../shared/retention/enforce-retention.js';
import { importEach, nhs } from '../../support/linked-people.js';
import {
  createImportHarness,
  heldAtKeyRead,
  importFixture,
  runEntries,
  storedRecords,
  theRun,
  type ImportHarness,
} from './import-harness.js';
import { killImportAtPhase } from './kill-at-phase.js';

/**
 * An import's process is killed mid-load (the host recycled, out of memory), and before the queue
 * delivers the event again the partner deletes the file from incoming. Every later delivery found
 * the file gone and returned at once: nothing could find the run by the file's hash any more, so it
 * stayed `loading` for good — `npm run import` and operators saw a run loading forever, and
 * retention waited on it as an extract still to come. The delivery that finds the file gone now
 * rejects the run as `removed-during-import`, as when a live attempt finds the file deleted
 * (removed-mid-import.test.ts).
 */
const MDI = 'multiple-disadvantage-indicators';
const file = `la-housing/${MDI}/extract.csv`;
let h: ImportHarness;
beforeEach(async () => {
  h = await createImportHarness();
  await h.drop(file, importFixture('good.csv'));
});
afterEach(async () => h?.close());

const deleteFromIncoming = () => h.blobs.getContainerClient(h.containers.incoming).getBlobClient(file).delete();

it('rejects the run a load killed mid-way left, once its file is deleted and its event delivered again', async () => {
  // Killed inside the load's transaction, its report staged: nothing committed.
  await killImportAtPhase(h, 'report', file);
  expect(await theRun(h)).toMatchObject({ status: 'loading', attempt: 1 });
  await deleteFromIncoming();

  await expect(h.run(file)).resolves.toEqual({ outcome: 'gone' });

  const run = await theRun(h);
  expect(run).toMatchObject({ status: 'rejected', rejection_reason: 'removed-during-import', rows_loaded: 0 });
  expect(run.finished_at).not.toBeNull();
  expect(await storedRecords(h.store, 'la-housing', MDI)).toEqual([]);
  expect(await h.report('rejected', file)).toMatchObject({
    runId: run.id,
    outcome: 'rejected',
    fileErrors: [{ reason: 'removed-during-import' }],
    counts: { rows: 0, loaded: 0, rejected: 0 },
  });
  // The killed load's staged report is taken away with the rest: processed/ says nothing loads.
  expect(await h.blobNames('processed')).toEqual([]);
  expect(await h.blobNames('rejected')).toEqual([`${file}.report.json`]);
  expect(await runEntries(h, run.id)).toEqual([['deny', 'removed-during-import']]);

  // Delivered yet again: nothing more to do, and no second entry.
  await expect(h.run(file)).resolves.toEqual({ outcome: 'gone' });
  expect(await runEntries(h, run.id)).toEqual([['deny', 'removed-during-import']]);
  expect(h.logLines.some((l) => l.includes('"import.failed"'))).toBe(false);
});

it('lets a delivery of the file still going when it is deleted end with the same rejection, not a failure', async () => {
  const held = heldAtKeyRead(h);
  const going = h.run(file, { secrets: held.secrets });
  await held.holding;
  await deleteFromIncoming();

  // The event delivered again meanwhile (Event Grid delivers at least once).
  await expect(h.run(file)).resolves.toEqual({ outcome: 'gone' });
  held.release();

  const outcome = await going;
  const run = await theRun(h);
  expect(outcome).toEqual({ outcome: 'rejected', runId: run.id, reasons: ['removed-during-import'] });
  expect(run).toMatchObject({ status: 'rejected', rejection_reason: 'removed-during-import' });
  expect(await runEntries(h, run.id)).toEqual([['deny', 'removed-during-import']]);
  expect(h.logLines.some((l) => l.includes('"import.failed"'))).toBe(false);
});

it('leaves a run loading under another name to the renamed copy that took it up, which loads', async () => {
  const copy = `la-housing/${MDI}/extract-copy.csv`;
  await killImportAtPhase(h, 'report', file);
  await h.drop(copy, importFixture('good.csv'));
  // The copy's delivery is killed too: the run is `loading` under the copy's name, and its file is there.
  await killImportAtPhase(h, 'report', copy);
  await deleteFromIncoming();

  await expect(h.run(file)).resolves.toEqual({ outcome: 'gone' });
  expect(await theRun(h)).toMatchObject({ status: 'loading', blob_name: copy });

  await expect(h.run(copy)).resolves.toMatchObject({ outcome: 'loaded', loaded: 40 });
  const run = await theRun(h);
  expect(await runEntries(h, run.id)).toEqual([['allow', 'snapshot-loaded']]);
  expect(await h.blobNames('rejected')).toEqual([]);
});

it('has retention read the rejected extract as refused, not as one still to come', async () => {
  const HEADER = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inTemporaryAccommodation';
  await importEach(h, [
    ['la-housing', [HEADER, `Alice,Smith,2012-03-04,ME14 1XX,${nhs(410)},Y`]],
    [
      'la-childrens-social-care',
      [
        'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection',
        `Alice,Smith,2012-03-04,ME14 1XX,${nhs(410)},SC-1,Y`,
      ],
    ],
  ]);
  // Housing's next extract, a day later, killed mid-load and then deleted by Housing.
  const next = `la-housing/${MDI}/b.csv`;
  await h.drop(next, [HEADER, `Alice,Smith,2012-03-04,ME14 1XX,${nhs(410)},N`].join('\n'), {
    asof: new Date(Date.now() + 24 * 3600_000).toISOString().slice(0, 10),
  });
  await killImportAtPhase(h, 'report', next);
  await h.blobs.getContainerClient(h.containers.incoming).getBlobClient(next).delete();
  await expect(h.run(next)).resolves.toEqual({ outcome: 'gone' });
  await linkPendingRecords(h.linkDeps());

  const [summary] = await enforceRetention(h.retentionDeps(), 'social-care-education-housing');

  expect(summary).toMatchObject({ outcome: 'skipped', peopleDeleted: 0 });
  const skipped = h.logLines.filter((l) => l.includes('"retention.skipped"'));
  expect(skipped.some((l) => l.includes('field-source-extract-refused'))).toBe(true);
  expect(skipped.some((l) => l.includes('field-source-extract-pending'))).toBe(false);
});
