import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  createImportHarness,
  heldAtKeyRead,
  importFixture,
  storedRecords,
  type ImportHarness,
  runEntries,
} from './import-harness.js';

/**
 * How a file is read and which day it describes come from its blob's name and metadata and its
 * upload time, not its bytes (extract-format.ts): `x.dat` is refused as `unsupported-file-type`,
 * a name or `asof` dated after the upload as `future-extract`, an `asof` that is no date as
 * `unreadable-asof`, a date behind the current snapshot's as `stale-extract`. A partner who
 * uploads the bytes again under a better name (or with better metadata) before the first file's
 * rejection finished had the copy filed in rejected/ as a duplicate of that rejection, though
 * nothing was wrong with it: it was not "sent again after its rejection", and the run is keyed by
 * the bytes. Such a rejection is about the file as delivered, and another file of the bytes is
 * read afresh; a verdict reached by reading the bytes still makes a copy a duplicate.
 */
const MDI = 'multiple-disadvantage-indicators';
const path = (name: string) => `la-housing/${MDI}/${name}`;
let h: ImportHarness;
beforeEach(async () => {
  h = await createImportHarness();
});
afterEach(async () => {
  await h?.close();
});

const runOf = async (runId: string) =>
  h.store.db.selectFrom('import_run').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
/**
 * Drops `first` and `copy` with the same bytes (both before either is read), rejects `first` for
 * `reason`, then imports `copy`, which must load into the same run, opened again for it.
 */
async function copyLoadsAfter(
  reason: string,
  first: { readonly name: string; readonly metadata?: Record<string, string> },
  copy: { readonly name: string; readonly metadata?: Record<string, string> },
) {
  const bytes = importFixture('good.csv');
  await h.drop(path(first.name), bytes, first.metadata);
  await h.drop(path(copy.name), bytes, copy.metadata);
  const rejected = await h.run(path(first.name));
  expect(rejected).toMatchObject({ outcome: 'rejected', reasons: [reason] });
  const runId = (rejected as { runId: string }).runId;
  expect(await runOf(runId)).toMatchObject({
    status: 'rejected',
    blob_name: path(first.name),
    rejection_reason: reason,
  });

  expect(
    await h.run(path(copy.name)),
    `the copy must load, not be filed as a duplicate of the ${reason} rejection`,
  ).toMatchObject({ outcome: 'loaded', runId, loaded: 40 });
  expect(await runOf(runId)).toMatchObject({ status: 'loaded', blob_name: path(copy.name), rejection_reason: null });
  expect(h.logLines.some((l) => l.includes('"import.reopened"') && l.includes('"another-file"'))).toBe(true);
  expect(await h.report('processed', path(copy.name))).toMatchObject({ runId, outcome: 'loaded' });
  expect(await h.report('rejected', path(first.name))).toMatchObject({ runId, fileErrors: [{ reason }] });
  expect(await runEntries(h, runId)).toEqual([
    ['deny', reason],
    ['allow', 'snapshot-loaded'],
  ]);
  return runId;
}

it('loads x.csv uploaded before x.dat, of the same bytes, was rejected as unsupported-file-type', async () => {
  await copyLoadsAfter('unsupported-file-type', { name: 'x.dat' }, { name: 'x.csv' });
  expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(40);
  // A further copy is a duplicate of the load.
  await expect(h.importFile(path('y.csv'), importFixture('good.csv'))).resolves.toMatchObject({
    outcome: 'duplicate',
    of: 'loaded',
  });
});

it('loads x.csv on its retry when x.dat, of the same bytes, is refused while x.csv is being read', async () => {
  await h.drop(path('x.dat'), importFixture('good.csv'));
  await h.drop(path('x.csv'), importFixture('good.csv'));
  // x.csv's delivery is held where it reads the key (after its claim) while x.dat's is refused.
  const held = heldAtKeyRead(h);
  const csvDelivery = h.run(path('x.csv'), { secrets: held.secrets }).catch((err: Error) => err.message);
  await held.holding;
  await expect(h.run(path('x.dat'))).resolves.toMatchObject({
    outcome: 'rejected',
    reasons: ['unsupported-file-type'],
  });
  held.release();
  expect(await csvDelivery, 'x.csv must not be filed as a duplicate of x.dat’s refusal').toEqual(
    expect.stringMatching(/^Import failed: /),
  );
  await expect(h.run(path('x.csv'))).resolves.toMatchObject({ outcome: 'loaded', loaded: 40 });
  expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(40);
  expect(await h.report('rejected', path('x.dat'))).toMatchObject({
    fileErrors: [{ reason: 'unsupported-file-type' }],
  });
});

it('loads a copy uploaded before a file dated in its name after its upload was rejected as future-extract', async () => {
  await copyLoadsAfter('future-extract', { name: 'extract-2099-01-31.csv' }, { name: 'extract.csv' });
  expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(40);
});

it('loads a copy uploaded before a file whose asof metadata is no date was rejected as unreadable-asof', async () => {
  await copyLoadsAfter(
    'unreadable-asof',
    { name: 'extract.csv', metadata: { asof: 'last Tuesday' } },
    { name: 'extract-copy.csv', metadata: { asof: '2026-12-01' } },
  );
});

it('loads a re-issue of the current date uploaded before a copy dated behind it was rejected as stale-extract', async () => {
  // The current snapshot: 2026-11-30, uploaded first.
  await expect(
    h.importFile(path('current.csv'), importFixture('good-second-snapshot.csv'), { asof: '2026-11-30' }),
  ).resolves.toMatchObject({ outcome: 'loaded' });
  // Then the partner's next extract, first with a mistyped date, then with that of the current
  // snapshot: a re-issue of its date, uploaded after it, loads in its place.
  const runId = await copyLoadsAfter(
    'stale-extract',
    { name: 'next.csv', metadata: { asof: '2025-11-30' } },
    { name: 'next-again.csv', metadata: { asof: '2026-11-30' } },
  );
  expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(40);
  expect((await storedRecords(h.store, 'la-housing', MDI)).every((r) => r.import_run_id === runId)).toBe(true);
});

it('reads afresh a copy delivered as badly, and rejects it with a report of its own', async () => {
  await h.drop(path('x.dat'), importFixture('good.csv'));
  await h.drop(path('y.dat'), importFixture('good.csv'));
  const first = await h.run(path('x.dat'));
  expect(first).toMatchObject({ outcome: 'rejected', reasons: ['unsupported-file-type'] });
  await expect(h.run(path('y.dat'))).resolves.toMatchObject({
    outcome: 'rejected',
    runId: (first as { runId: string }).runId,
    reasons: ['unsupported-file-type'],
  });
  expect(await h.report('rejected', path('y.dat'))).toMatchObject({
    outcome: 'rejected',
    fileErrors: [{ reason: 'unsupported-file-type' }],
  });
});

// A verdict reached by reading the bytes holds only for a copy read the same way: a comma file
// named x.tsv is read as tab-delimited, and says nothing of x.csv beside it.
it('loads x.csv uploaded before x.tsv, of the same comma-delimited bytes, was rejected as wrong-delimiter', async () => {
  await copyLoadsAfter('wrong-delimiter', { name: 'x.tsv' }, { name: 'x.csv' });
  expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(40);
});

it('still files a copy of bytes rejected for what reading them found as a duplicate', async () => {
  // A verdict on the bytes: the copy, uploaded before it, holds the same.
  await h.drop(path('x.csv'), importFixture('missing-required-column.csv'));
  await h.drop(path('y.csv'), importFixture('missing-required-column.csv'));
  await expect(h.run(path('x.csv'))).resolves.toMatchObject({ outcome: 'rejected' });
  await expect(h.run(path('y.csv'))).resolves.toMatchObject({ outcome: 'duplicate', of: 'rejected' });
});
