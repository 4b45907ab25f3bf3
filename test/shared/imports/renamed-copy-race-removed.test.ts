import { BlockBlobClient } from '@azure/storage-blob';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { SecretSource } from '../../../shared/secrets/secret-source.js';
import {
  createImportHarness,
  heldAtKeyRead,
  importFixture,
  storedRecords,
  theRun,
  type ImportHarness,
} from './import-harness.js';

/**
 * Two hosts: a partner uploads `first.csv`, then the same bytes again as `copy.csv`, and deletes
 * `first.csv` while its import runs. The first delivery's read breaks off, it finds its file gone
 * and its attempt still the run's, and rejects the run as `removed-during-import`
 * (import-extract.ts, rejectRemoved). The copy's delivery takes the run up (claimRun) between
 * that check and the rejection. The rejection was a plain finishRun, the first to finish
 * settling the run whatever its attempt, so it rejected the run the copy was loading: the copy,
 * still in incoming, then found the run rejected and was filed in rejected/ as a duplicate of
 * the removal, and its data never loaded unless the partner sent it a third time. A removal is
 * the deleted file's alone: it stands only while the run is still at the attempt that found it.
 */
const MDI = 'multiple-disadvantage-indicators';
const [first, copy] = [`la-housing/${MDI}/first.csv`, `la-housing/${MDI}/copy.csv`];
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

it('loads a renamed copy that takes the run up while the deleted file is being rejected as removed', async () => {
  // The first delivery deletes its own file where it reads the key (after the hash pass, before
  // the rows), as the partner would: its read then breaks off.
  const deletingSecrets: SecretSource = Object.create(h.secrets, {
    get: {
      value: async (...args: Parameters<SecretSource['get']>) => {
        await h.blobs.getContainerClient(h.containers.incoming).getBlobClient(first).delete();
        return h.secrets.get(...args);
      },
    },
  });
  // The copy's delivery is held where it reads the key, after its claim, until released.
  const copyHeld = heldAtKeyRead(h);
  // The first delivery's rejection stages its report before it finishes the run, after its check
  // that the run is still its attempt: the copy's delivery takes the run up there.
  let copyDelivery: Promise<unknown> | undefined;
  const upload = BlockBlobClient.prototype.upload;
  vi.spyOn(BlockBlobClient.prototype, 'upload').mockImplementation(async function (
    this: BlockBlobClient,
    ...args: Parameters<typeof upload>
  ) {
    const stagedRejection =
      this.containerName === h.containers.rejected &&
      this.name.startsWith(`${first}.report.`) &&
      this.name !== `${first}.report.json`;
    if (stagedRejection && copyDelivery === undefined) {
      copyDelivery = h.run(copy, { secrets: copyHeld.secrets }).catch((err: Error) => err.message);
      await copyHeld.holding;
    }
    return upload.apply(this, args);
  });

  const firstDelivery = await h.run(first, { secrets: deletingSecrets }).catch((err: Error) => err.message);
  expect(copyDelivery, 'the first delivery never staged a rejection').toBeDefined();
  const whileCopyHeld = await theRun(h);
  copyHeld.release();
  const copyOutcome = await copyDelivery;

  // The copy is still in incoming and is the run's now: its bytes load.
  expect(copyOutcome, 'the copy must load, not be filed as a duplicate of the removal').toMatchObject({
    outcome: 'loaded',
    loaded: 40,
  });
  expect(whileCopyHeld, 'the removal must not settle the run the copy took up').toMatchObject({
    status: 'loading',
    attempt: 2,
    blob_name: copy,
  });
  // The first delivery's attempt was taken over: it broke off, to find its file gone when retried.
  expect(firstDelivery).toMatch(/^Import failed: /);
  await expect(h.run(first)).resolves.toEqual({ outcome: 'gone' });

  const run = await theRun(h);
  expect(run).toMatchObject({ status: 'loaded', blob_name: copy, rows_loaded: 40 });
  expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(40);
  expect(await h.report('processed', copy)).toMatchObject({ runId: run.id, outcome: 'loaded' });
  // Nothing of the removal is left: no report (staged or published), no access-log entry.
  expect(await h.blobNames('rejected')).toEqual([]);
  expect(await h.blobNames('processed')).toEqual([copy, `${copy}.report.json`]);
  const entries = await h.store.db.selectFrom('access_log').selectAll().where('request_id', '=', run.id).execute();
  expect(entries.map((e) => [e.decision, e.reason_code])).toEqual([['allow', 'snapshot-loaded']]);
});
