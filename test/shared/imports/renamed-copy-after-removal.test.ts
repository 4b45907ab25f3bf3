import { BlobClient } from '@azure/storage-blob';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { SecretSource } from '../../../shared/secrets/secret-source.js';
import {
  createImportHarness,
  importFixture,
  storedRecords,
  theRun,
  type ImportHarness,
  runEntries,
  spendAttempts,
} from './import-harness.js';

/**
 * A partner uploads `first.csv`, then the same bytes as `copy.csv` (the same extract sent twice,
 * or an SFTP client's rename surfacing as a new blob), and deletes `first.csv` while its import
 * runs. first.csv's delivery rejects the run as `removed-during-import`; copy.csv's delivery comes
 * after that. Its blob was uploaded before the rejection finished (both files were there, then
 * one was deleted), so it was not "sent again after its rejection": it found the run rejected
 * and was filed in rejected/ as a duplicate of the removal, and the partner's data never loaded
 * though the copy was a good file still in incoming. A removal (or attempts run out) is about the
 * deleted or crashing delivery, not the bytes: another file of the bytes is read afresh.
 */
const MDI = 'multiple-disadvantage-indicators';
const path = (name: string) => `la-housing/${MDI}/${name}`;
const [first, copy, third] = [path('first.csv'), path('copy.csv'), path('third.csv')];
let h: ImportHarness;
beforeEach(async () => {
  h = await createImportHarness();
  await h.drop(first, importFixture('good.csv'));
  await h.drop(copy, importFixture('good.csv'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await h?.close();
});

/** Earlier deliveries of first.csv that each broke off (crashed): the next one is past the last attempt. */
const attemptsSpent = () => spendAttempts(h, first, importFixture('good.csv'), 5);

it('loads a copy uploaded before the first file was deleted mid-import and rejected as removed', async () => {
  // The first delivery's file is deleted where it reads the key (after the hash pass, before the rows).
  const deletingSecrets: SecretSource = Object.create(h.secrets, {
    get: {
      value: async (...args: Parameters<SecretSource['get']>) => {
        await h.blobs.getContainerClient(h.containers.incoming).getBlobClient(first).delete();
        return h.secrets.get(...args);
      },
    },
  });
  await expect(h.run(first, { secrets: deletingSecrets })).resolves.toMatchObject({
    outcome: 'rejected',
    reasons: ['removed-during-import'],
  });
  const removed = await theRun(h);
  expect(removed).toMatchObject({ status: 'rejected', blob_name: first });

  // The copy, uploaded before that rejection, is still in incoming: its bytes load.
  expect(await h.run(copy), 'the copy must load, not be filed as a duplicate of the removal').toMatchObject({
    outcome: 'loaded',
    runId: removed.id,
    loaded: 40,
  });
  const run = await theRun(h);
  expect(run).toMatchObject({ status: 'loaded', blob_name: copy, rows_loaded: 40 });
  expect(h.logLines.some((l) => l.includes('"import.reopened"') && l.includes('"another-file"'))).toBe(true);
  expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(40);
  expect(await h.report('processed', copy)).toMatchObject({ runId: run.id, outcome: 'loaded' });
  // The removal keeps its report and its entry; the load has its own.
  expect(await h.report('rejected', first)).toMatchObject({ fileErrors: [{ reason: 'removed-during-import' }] });
  expect(await runEntries(h, run.id)).toEqual([
    ['deny', 'removed-during-import'],
    ['allow', 'snapshot-loaded'],
  ]);

  // Exactly once: the copy's event delivered again finds nothing; a third copy is a duplicate of the load.
  await expect(h.run(copy)).resolves.toEqual({ outcome: 'gone' });
  await expect(h.importFile(third, importFixture('good.csv'))).resolves.toMatchObject({
    outcome: 'duplicate',
    runId: run.id,
    of: 'loaded',
  });
  expect(await theRun(h)).toMatchObject({ status: 'loaded', blob_name: copy, finished_at: run.finished_at });
  expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(40);
  expect(await runEntries(h, run.id)).toHaveLength(2);
  expect(await h.blobNames('incoming')).toEqual([]);
  expect(await h.blobNames('processed')).toEqual([copy, `${copy}.report.json`, third, `${third}.report.json`]);
  expect(await h.blobNames('rejected')).toEqual([`${first}.report.json`]);
});

it('loads a copy uploaded before the first file was rejected with its attempts spent', async () => {
  await attemptsSpent();
  await expect(h.run(first)).resolves.toMatchObject({ outcome: 'rejected', reasons: ['import-attempts-exhausted'] });
  expect(await h.run(copy), 'the copy must get attempts of its own').toMatchObject({ outcome: 'loaded', loaded: 40 });
  expect(await theRun(h)).toMatchObject({ status: 'loaded', blob_name: copy, attempt: 1, rows_loaded: 40 });
  expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(40);
  expect(await h.blobNames('rejected')).toEqual([first, `${first}.report.json`]);
  expect(await h.blobNames('processed')).toEqual([copy, `${copy}.report.json`]);
});

it('still files the rejected file itself, delivered again before it was moved, as a duplicate', async () => {
  // Under its own name the rule stays: uploaded before the rejection, it is the rejected file
  // (here its move failed), and opening the run again would spend another round of attempts.
  await attemptsSpent();
  const beginCopy = BlobClient.prototype.beginCopyFromURL;
  let failed = false;
  vi.spyOn(BlobClient.prototype, 'beginCopyFromURL').mockImplementation(async function (
    this: BlobClient,
    ...args: Parameters<typeof beginCopy>
  ) {
    if (this.containerName === h.containers.rejected && this.name === first && !failed) {
      failed = true;
      throw new Error('blob storage unavailable');
    }
    return beginCopy.apply(this, args);
  });
  await expect(h.run(first)).rejects.toThrow(/Import failed/);
  const rejected = await theRun(h);
  expect(rejected).toMatchObject({ status: 'rejected', blob_name: first, attempt: 6 });
  await expect(h.run(first)).resolves.toMatchObject({ outcome: 'duplicate', of: 'rejected' });
  expect(await theRun(h)).toEqual(rejected);
  expect(await h.report('rejected', first)).toMatchObject({
    runId: rejected.id,
    outcome: 'rejected',
    fileErrors: [{ reason: 'import-attempts-exhausted' }],
  });
  expect(await h.blobNames('incoming')).toEqual([copy]);
});
