import { BlobClient } from '@azure/storage-blob';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { SecretSource } from '../../../shared/secrets/secret-source.js';
import { createImportHarness, importFixture, runEntries, storedRecords, type ImportHarness } from './import-harness.js';

/**
 * A partner overwrites a file in incoming with other content while its import runs (SFTP clients
 * re-send under the same name). Every read is pinned to the ETag the import began with, so the
 * first content is loaded whole or not at all, the second is imported on its own event, each
 * content's load is applied once, and the first import's move never takes the second content.
 */
const MDI = 'multiple-disadvantage-indicators';
const file = `la-housing/${MDI}/extract.csv`;
let h: ImportHarness;
beforeEach(async () => {
  h = await createImportHarness();
  await h.drop(file, importFixture('good.csv'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await h?.close();
});

const runs = () =>
  h.store.db.selectFrom('import_run').select(['id', 'status', 'rows_loaded']).orderBy('received_at').execute();
const entries = (runId: string) =>
  h.store.db.selectFrom('access_log').select('decision').where('request_id', '=', runId).execute();
const overwrite = () => h.drop(file, importFixture('good-second-snapshot.csv'));

it('fails the first content’s attempt when the file is overwritten before its rows are read, and loads the second once', async () => {
  // The key is read after the hash pass and before the rows: the overwrite lands between them.
  const overwritingSecrets: SecretSource = Object.create(h.secrets, {
    get: {
      value: async (...args: Parameters<SecretSource['get']>) => {
        await overwrite();
        return h.secrets.get(...args);
      },
    },
  });
  await expect(h.run(file, { secrets: overwritingSecrets })).rejects.toThrow(/Import failed: RestError/);
  expect(await storedRecords(h.store, 'la-housing', MDI)).toEqual([]);
  expect(await h.report('processed', file)).toBeUndefined();
  expect(await h.report('rejected', file)).toBeUndefined();

  // The second content's event, then the first's retry: the retry finds the file imported, and
  // the first content's run, which no delivery can read again, ends without a report of its own.
  await expect(h.run(file)).resolves.toMatchObject({ outcome: 'loaded', loaded: 15 });
  await expect(h.run(file)).resolves.toEqual({ outcome: 'gone' });
  const [first, second] = await runs();
  expect([first!.status, second!.status]).toEqual(['rejected', 'loaded']);
  expect(await entries(first!.id)).toEqual([{ decision: 'deny' }]);
  expect(await h.blobNames('rejected')).toEqual([]);
  expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(15);
  expect(await entries(second!.id)).toEqual([{ decision: 'allow' }]);
  expect(await h.exists('incoming', file)).toBe(false);
  expect(await h.report('processed', file)).toMatchObject({ outcome: 'loaded', runId: second!.id });
});

it('leaves the second content in incoming when the file is overwritten after the first content committed', async () => {
  const copy = BlobClient.prototype.beginCopyFromURL;
  let overwritten = false;
  vi.spyOn(BlobClient.prototype, 'beginCopyFromURL').mockImplementation(async function (
    this: BlobClient,
    ...args: Parameters<typeof copy>
  ) {
    if (!overwritten) {
      overwritten = true;
      await overwrite();
    }
    return copy.apply(this, args);
  });
  await expect(h.run(file)).resolves.toMatchObject({ outcome: 'loaded', loaded: 40 });
  expect(await h.exists('incoming', file), 'the second content waits for its own event').toBe(true);
  expect(await h.exists('processed', file)).toBe(false);

  await expect(h.run(file)).resolves.toMatchObject({ outcome: 'loaded', loaded: 15 });
  await expect(h.run(file)).resolves.toEqual({ outcome: 'gone' });
  const [first, second] = await runs();
  expect([first, second].map((r) => [r!.status, r!.rows_loaded])).toEqual([
    ['loaded', 40],
    ['loaded', 15],
  ]);
  expect(await entries(first!.id)).toEqual([{ decision: 'allow' }]);
  expect(await entries(second!.id)).toEqual([{ decision: 'allow' }]);
  expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(15);
  expect(await h.exists('incoming', file)).toBe(false);
  expect(await h.exists('processed', file)).toBe(true);
  expect(await h.report('processed', file)).toMatchObject({ outcome: 'loaded', runId: second!.id });
});

// Overwritten before its rows are read, and the later content imported and moved on before the
// first attempt's read breaks off: that attempt found the name gone and rejected its content as
// removed-during-import, publishing rejected/extract.csv.report.json beside the later content's
// processed file.
it('leaves the name’s report to the later content that loaded meanwhile, not a rejection of the content it replaced', async () => {
  let overwritten = false;
  let later: unknown;
  // The key is read after the hash pass and before the rows: the overwrite, and the later
  // content's whole import, land between them.
  const overwritingSecrets: SecretSource = Object.create(h.secrets, {
    get: {
      value: async (...args: Parameters<SecretSource['get']>) => {
        if (!overwritten) {
          overwritten = true;
          await h.drop(file, importFixture('good-second-snapshot.csv'));
          later = await h.run(file);
        }
        return h.secrets.get(...args);
      },
    },
  });
  const first = await h.run(file, { secrets: overwritingSecrets }).catch((err: Error) => err.message);
  expect(later).toMatchObject({ outcome: 'loaded', loaded: 15 });

  expect(await h.blobNames('rejected'), 'nothing of the file was rejected').toEqual([]);
  expect(await h.blobNames('processed')).toEqual([file, `${file}.report.json`]);
  expect(await h.report('processed', file)).toMatchObject({ outcome: 'loaded' });
  expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(15);
  // The first content's attempt ends rejected, its access-log entry saying why, and no report.
  expect(first).toMatchObject({ outcome: 'rejected', reasons: ['overwritten-in-incoming'] });
  const [firstRun] = await runs();
  expect(await entries(firstRun!.id)).toEqual([{ decision: 'deny' }]);
  expect(await runEntries(h, firstRun!.id)).toEqual([['deny', 'overwritten-in-incoming']]);
});
