import { afterEach, beforeEach, expect, it } from 'vitest';
import type { SecretSource } from '../../../shared/secrets/secret-source.js';
import { createImportHarness, importFixture, storedRecords, theRun, type ImportHarness } from './import-harness.js';

/**
 * A partner deletes a file from incoming while its import runs (an SFTP client cleaning up, a
 * file sent by mistake). The read, pinned to the blob, breaks off and nothing of the file loads.
 * The run then ended `failed`, with no report, and every later delivery found the file gone: it
 * stayed `failed` for good, which retention counts as an extract still to come
 * (`field-source-extract-pending`). It ends rejected instead, with its reason, and the same file
 * uploaded again loads.
 */
const MDI = 'multiple-disadvantage-indicators';
const file = `la-housing/${MDI}/extract.csv`;
let h: ImportHarness;
beforeEach(async () => {
  h = await createImportHarness();
  await h.drop(file, importFixture('good.csv'));
});
afterEach(async () => h?.close());

it('rejects a file deleted from incoming while its import runs, loads nothing, and loads it when uploaded again', async () => {
  // The key is read after the hash pass and before the rows: the deletion lands between them.
  const deletingSecrets: SecretSource = Object.create(h.secrets, {
    get: {
      value: async (...args: Parameters<SecretSource['get']>) => {
        await h.blobs.getContainerClient(h.containers.incoming).getBlobClient(file).delete();
        return h.secrets.get(...args);
      },
    },
  });
  const outcome = await h.run(file, { secrets: deletingSecrets }).catch((err: Error) => err.message);
  expect(outcome).toMatchObject({ outcome: 'rejected', reasons: ['removed-during-import'] });
  const run = await theRun(h);
  expect(run).toMatchObject({ status: 'rejected', rows_loaded: 0 });
  expect(await storedRecords(h.store, 'la-housing', MDI)).toEqual([]);
  expect(await h.report('rejected', file)).toMatchObject({
    runId: run.id,
    outcome: 'rejected',
    fileErrors: [{ reason: 'removed-during-import' }],
    counts: { rows: 0, loaded: 0, rejected: 0 },
  });
  const entries = await h.store.db.selectFrom('access_log').selectAll().where('request_id', '=', run.id).execute();
  expect(entries.map((e) => [e.decision, e.reason_code])).toEqual([['deny', 'removed-during-import']]);
  expect(h.logLines.some((l) => l.includes('"import.failed"'))).toBe(false);

  // The event delivered again finds nothing to do.
  await expect(h.run(file)).resolves.toEqual({ outcome: 'gone' });
  // The same file uploaded again (in a later second than the rejection) is read afresh, and loads.
  await new Promise((r) => setTimeout(r, 1100));
  await expect(h.importFile(file, importFixture('good.csv'))).resolves.toMatchObject({ outcome: 'loaded', loaded: 40 });
  expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(40);
  expect(await h.report('processed', file)).toMatchObject({ runId: run.id, outcome: 'loaded' });
  expect(await h.blobNames('processed')).toEqual([file, `${file}.report.json`]);
  expect(await h.blobNames('rejected')).toEqual([`${file}.report.json`]);
});
