import { BlockBlobClient } from '@azure/storage-blob';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import {
  createImportHarness,
  importFixture,
  storedRecords,
  theRun,
  type ImportHarness,
  heldAtKeyRead,
  runEntries,
  spendAttempts,
} from './import-harness.js';

/**
 * Two hosts: a partner uploads `first.csv` and the same bytes as `copy.csv`. first.csv's
 * deliveries have taken the run up four times and broken off; copy.csv's delivery takes it up a
 * fifth time and is reading it when first.csv's sixth delivery counts its attempts spent and
 * rejects the run `import-attempts-exhausted` (the first to finish settles the run). The copy's
 * load then found the run settled and was filed in rejected/ as a duplicate of that rejection,
 * though the rejection was about first.csv's deliveries, not the bytes, and the copy was still
 * in incoming: had it come a moment later it would have opened the run again (another-file) and
 * loaded. Its attempt breaks off instead, and its retry loads.
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

/** Earlier deliveries of first.csv that each broke off (crashed): the next one is the fifth attempt. */
const fourAttemptsSpent = () => spendAttempts(h, first, importFixture('good.csv'), 4);

it('loads a copy whose load finds the run rejected meanwhile for the first file’s attempts spent', async () => {
  await fourAttemptsSpent();
  const held = heldAtKeyRead(h);
  const copyDelivery = h.run(copy, { secrets: held.secrets }).catch((err: Error) => err.message);
  await held.holding;
  expect(await theRun(h), 'the copy took the run up a fifth time').toMatchObject({
    status: 'loading',
    attempt: 5,
    blob_name: copy,
  });

  // first.csv's sixth delivery, while the copy's fifth is still going.
  await expect(h.run(first)).resolves.toMatchObject({ outcome: 'rejected', reasons: ['import-attempts-exhausted'] });
  const exhausted = await theRun(h);
  expect(exhausted).toMatchObject({
    status: 'rejected',
    blob_name: first,
    attempt: 6,
    rejection_reason: 'import-attempts-exhausted',
  });

  held.release();
  expect(
    await copyDelivery,
    'the copy must not be filed as a duplicate of the rejection of the first file’s attempts',
  ).toEqual(expect.stringMatching(/^Import failed: /));
  // Nothing settled for the copy: it stays in incoming, the run as the rejection left it.
  expect(await h.blobNames('incoming')).toEqual([copy]);
  expect(await theRun(h)).toEqual(exhausted);

  // The queue's retry of the copy's message opens the run again, as a copy of its bytes, and loads.
  expect(await h.run(copy)).toMatchObject({ outcome: 'loaded', runId: exhausted.id, loaded: 40 });
  expect(h.logLines.some((l) => l.includes('"import.reopened"') && l.includes('"another-file"'))).toBe(true);
  const run = await theRun(h);
  expect(run).toMatchObject({ status: 'loaded', blob_name: copy, attempt: 1, rows_loaded: 40, rejection_reason: null });
  expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(40);
  expect(await h.report('processed', copy)).toMatchObject({ runId: run.id, outcome: 'loaded' });
  expect(await h.report('rejected', first)).toMatchObject({ fileErrors: [{ reason: 'import-attempts-exhausted' }] });
  expect(await runEntries(h, run.id)).toEqual([
    ['deny', 'import-attempts-exhausted'],
    ['allow', 'snapshot-loaded'],
  ]);
  expect(await h.blobNames('incoming')).toEqual([]);
  expect(await h.blobNames('rejected')).toEqual([first, `${first}.report.json`]);
  expect(await h.blobNames('processed')).toEqual([copy, `${copy}.report.json`]);
});

it('rejects a copy for its own reason when its rejection finds the run rejected meanwhile for the first file’s attempts spent', async () => {
  // copy.tsv: the same bytes read tab-delimited, whose one-column header is refused as
  // `wrong-delimiter`. Its rejection is decided before it finishes the run (staging its report):
  // first.csv's sixth delivery rejects the run there.
  const tsv = `la-housing/${MDI}/copy.tsv`;
  await h.drop(tsv, importFixture('good.csv'));
  await fourAttemptsSpent();
  let firstDelivery: Promise<unknown> | undefined;
  const upload = BlockBlobClient.prototype.upload;
  vi.spyOn(BlockBlobClient.prototype, 'upload').mockImplementation(async function (
    this: BlockBlobClient,
    ...args: Parameters<typeof upload>
  ) {
    const stagedForCopy =
      this.containerName === h.containers.rejected &&
      this.name.startsWith(`${tsv}.report.`) &&
      this.name !== `${tsv}.report.json`;
    if (stagedForCopy && firstDelivery === undefined) {
      firstDelivery = h.run(first);
      await firstDelivery;
    }
    return upload.apply(this, args);
  });
  const copyOutcome = await h.run(tsv).catch((err: Error) => err.message);
  expect(firstDelivery, 'the copy never staged a rejection').toBeDefined();
  await expect(firstDelivery).resolves.toMatchObject({
    outcome: 'rejected',
    reasons: ['import-attempts-exhausted'],
  });
  expect(copyOutcome, 'the copy must not be filed as a duplicate of the first file’s attempts spent').toEqual(
    expect.stringMatching(/^Import failed: /),
  );
  expect(await h.blobNames('incoming')).toEqual([copy, tsv]);
  vi.restoreAllMocks();

  // Its retry reads it afresh, and the partner is told what is wrong with it.
  await expect(h.run(tsv)).resolves.toMatchObject({ outcome: 'rejected', reasons: ['wrong-delimiter'] });
  expect(await h.report('rejected', tsv)).toMatchObject({
    outcome: 'rejected',
    fileErrors: [{ reason: 'wrong-delimiter' }],
  });
  expect(await theRun(h)).toMatchObject({ status: 'rejected', blob_name: tsv, rejection_reason: 'wrong-delimiter' });
});
