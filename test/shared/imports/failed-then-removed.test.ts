import { afterEach, beforeEach, expect, it } from 'vitest';
import { ImportFailed } from '../../../shared/imports/import-extract.js';
import { linkPendingRecords } from '../../../shared/linkage/pending-links.js';
import { enforceRetention } from '../../../shared/retention/enforce-retention.js';
import { importEach, nhs } from '../../support/linked-people.js';
import {
  createImportHarness,
  importFixture,
  runEntries,
  storedRecords,
  theRun,
  type ImportHarness,
} from './import-harness.js';

/**
 * An import breaks off (here blob storage: the container its report is staged in is not there, as
 * when an operator's settings name one not yet made), leaving its run `failed` and the file in
 * incoming for the queue's retry; before the retry the partner deletes the file. Every later
 * delivery found the file gone and returned at once: the run stayed `failed` for good, with no
 * report and no access-log entry, and retention waited on it as an extract still to come. The
 * delivery that finds the file gone now rejects it as `removed-during-import`, as it does a run a
 * killed load left `loading` (killed-then-removed.test.ts).
 */
const MDI = 'multiple-disadvantage-indicators';
let h: ImportHarness;
beforeEach(async () => {
  h = await createImportHarness();
});
afterEach(async () => h?.close());

/** A delivery of `file` whose staging of its report fails: blob storage answers ContainerNotFound. */
const breakOff = (file: string) =>
  h.run(file, { containers: { ...h.containers, processed: `${h.containers.processed}-missing` } });
const deleteFromIncoming = (file: string) =>
  h.blobs.getContainerClient(h.containers.incoming).getBlobClient(file).delete();

it('rejects the run an attempt that broke off left failed, once its file is deleted and its event delivered again', async () => {
  const file = `la-housing/${MDI}/extract.csv`;
  await h.drop(file, importFixture('good.csv'));
  await expect(breakOff(file)).rejects.toBeInstanceOf(ImportFailed);
  expect(await theRun(h)).toMatchObject({ status: 'failed', attempt: 1 });
  await deleteFromIncoming(file);

  await expect(h.run(file)).resolves.toEqual({ outcome: 'gone' });

  const run = await theRun(h);
  expect(run).toMatchObject({ status: 'rejected', rejection_reason: 'removed-during-import', rows_loaded: 0 });
  expect(await h.report('rejected', file)).toMatchObject({
    runId: run.id,
    outcome: 'rejected',
    fileErrors: [{ reason: 'removed-during-import' }],
  });
  expect(await runEntries(h, run.id)).toEqual([['deny', 'removed-during-import']]);
  expect(await storedRecords(h.store, 'la-housing', MDI)).toEqual([]);

  // Delivered yet again: nothing more to do, and no second entry.
  await expect(h.run(file)).resolves.toEqual({ outcome: 'gone' });
  expect(await runEntries(h, run.id)).toEqual([['deny', 'removed-during-import']]);
});

it('has retention read the deleted extract as refused, not as one still to come', async () => {
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
  // Housing's next extract, a day later, breaks off and is then deleted by Housing.
  const next = `la-housing/${MDI}/b.csv`;
  await h.drop(next, [HEADER, `Alice,Smith,2012-03-04,ME14 1XX,${nhs(410)},N`].join('\n'), {
    asof: new Date(Date.now() + 24 * 3600_000).toISOString().slice(0, 10),
  });
  await expect(breakOff(next)).rejects.toBeInstanceOf(ImportFailed);
  await deleteFromIncoming(next);
  await expect(h.run(next)).resolves.toEqual({ outcome: 'gone' });
  await linkPendingRecords(h.linkDeps());

  const [summary] = await enforceRetention(h.retentionDeps(), 'social-care-education-housing');

  expect(summary).toMatchObject({ outcome: 'skipped', peopleDeleted: 0 });
  const skipped = h.logLines.filter((l) => l.includes('"retention.skipped"'));
  expect(skipped.some((l) => l.includes('field-source-extract-refused'))).toBe(true);
  expect(skipped.some((l) => l.includes('field-source-extract-pending'))).toBe(false);
});
