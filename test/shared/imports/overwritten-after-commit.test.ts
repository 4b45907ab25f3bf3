import { afterEach, expect, it, vi } from 'vitest';
import {
  createImportHarness,
  failFirstBlobDeletion,
  importFixture,
  runEntries,
  storedRecords,
  type ImportHarness,
} from './import-harness.js';
import type { Store } from '../../../shared/store/database.js';
import { gate } from '../../support/gate.js';
import { killImportAtPhase } from './kill-at-phase.js';

/**
 * A process killed just after a load's commit leaves the run `loaded`, its report staged and its
 * access-log entry unwritten: the retry of its message finds the run final and finishes the job.
 * When the partner overwrites the file with another content before that retry comes, the retry
 * reads the later content, whose hash is another run's: nothing went back to the committed run,
 * which stayed loaded with no access-log entry — a load the DPO could not see — and its staged
 * report lay in processed/ for good.
 */
const MDI = 'multiple-disadvantage-indicators';
const file = `la-housing/${MDI}/extract.csv`;
let h: ImportHarness;
afterEach(async () => {
  await h?.close();
});

it('logs the load a process killed after its commit left unlogged, when the file was overwritten before the retry', async () => {
  h = await createImportHarness();
  await h.drop(file, importFixture('good.csv'));
  await killImportAtPhase(h, 'commit', file);
  const [committed] = await h.store.db.selectFrom('import_run').selectAll().execute();
  expect(committed).toMatchObject({ status: 'loaded', rows_loaded: 40 });
  expect(await runEntries(h, committed!.id)).toEqual([]);

  await h.drop(file, importFixture('good-second-snapshot.csv'));
  // The killed delivery's retry, the queue's five minutes on, reads the later content; the later
  // content's own event then finds it handled.
  const retry = await h.run(file, { now: () => new Date(Date.now() + 5 * 60_000) });
  expect(retry).toMatchObject({ outcome: 'loaded', loaded: 15 });
  await expect(h.run(file)).resolves.toEqual({ outcome: 'gone' });

  expect(await runEntries(h, committed!.id)).toEqual([['allow', 'snapshot-loaded']]);
  expect(await runEntries(h, (retry as { runId: string }).runId)).toEqual([['allow', 'snapshot-loaded']]);
  // The name's report is the later content's, and no staged copy is left beside it.
  expect(await h.blobNames('processed')).toEqual([file, `${file}.report.json`]);
  expect(await h.report('processed', file)).toMatchObject({ outcome: 'loaded', counts: { loaded: 15 } });
  expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(15);
});

const inFiveMinutes = { now: () => new Date(Date.now() + 5 * 60_000) };
const runsInOrder = () => h.store.db.selectFrom('import_run').selectAll().orderBy('received_at').execute();

it('logs and reports the rejection a process killed after its finish left unlogged, when the file was overwritten before the retry', async () => {
  h = await createImportHarness();
  await h.drop(file, importFixture('missing-required-column.csv'));
  // `commit` ends, in a rejection, once the run is finished: before its report is published and its entry written.
  await killImportAtPhase(h, 'commit', file);
  const [rejected] = await runsInOrder();
  expect(rejected).toMatchObject({ status: 'rejected' });
  expect(await runEntries(h, rejected!.id)).toEqual([]);

  await h.drop(file, importFixture('good-second-snapshot.csv'));
  await expect(h.run(file, inFiveMinutes)).resolves.toMatchObject({ outcome: 'loaded', loaded: 15 });

  expect(await runEntries(h, rejected!.id)).toEqual([['deny', rejected!.rejection_reason]]);
  // The partner is told why the first content was refused, and no staged copy is left in rejected/.
  expect(await h.blobNames('rejected')).toEqual([`${file}.report.json`]);
  expect(await h.report('rejected', file)).toMatchObject({ runId: rejected!.id, outcome: 'rejected' });
  expect(await h.report('processed', file)).toMatchObject({ outcome: 'loaded', counts: { loaded: 15 } });
});

it('logs the load killed after its commit when the later content under the name is a duplicate of an earlier run', async () => {
  h = await createImportHarness();
  await expect(h.importFile(file, importFixture('good-second-snapshot.csv'))).resolves.toMatchObject({
    outcome: 'loaded',
  });
  await h.drop(file, importFixture('good.csv'));
  await killImportAtPhase(h, 'commit', file);
  const [, committed] = await runsInOrder();
  expect(committed).toMatchObject({ status: 'loaded', rows_loaded: 40 });

  // The first content sent again: a duplicate of its run, which loads nothing.
  await h.drop(file, importFixture('good-second-snapshot.csv'));
  await expect(h.run(file, inFiveMinutes)).resolves.toMatchObject({ outcome: 'duplicate', of: 'loaded' });

  expect(await runEntries(h, committed!.id)).toEqual([['allow', 'snapshot-loaded']]);
  expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(40);
});

it('logs the load killed after its commit when the later content under the name is refused before loading', async () => {
  h = await createImportHarness();
  await h.drop(file, importFixture('good.csv'));
  await killImportAtPhase(h, 'commit', file);
  const [committed] = await runsInOrder();

  await h.drop(file, '');
  await expect(h.run(file, inFiveMinutes)).resolves.toMatchObject({ outcome: 'rejected', reasons: ['empty-file'] });

  expect(await runEntries(h, committed!.id)).toEqual([['allow', 'snapshot-loaded']]);
  // Its staged report is published and gone from beside it; the empty file's report is in rejected/.
  expect(await h.blobNames('processed')).toEqual([`${file}.report.json`]);
  expect(await h.report('processed', file)).toMatchObject({ runId: committed!.id, counts: { loaded: 40 } });
  expect(await h.report('rejected', file)).toMatchObject({ fileErrors: [{ reason: 'empty-file' }] });
});

/**
 * A load killed after its commit, its file overwritten at once: the later content's own event
 * comes within the grace, while the killed delivery might still be writing the entry, and leaves
 * the committed run alone. Returns the committed run and the later one's outcome.
 */
async function killedLoadOverwrittenWithinGrace() {
  h = await createImportHarness();
  await h.drop(file, importFixture('good.csv'));
  await killImportAtPhase(h, 'commit', file);
  const [committed] = await runsInOrder();
  await h.drop(file, importFixture('good-second-snapshot.csv'));
  const later = await h.run(file, { now: () => new Date(Date.parse(committed!.finished_at!) + 1_000) });
  expect(later).toMatchObject({ outcome: 'loaded', loaded: 15 });
  expect(await runEntries(h, committed!.id)).toEqual([]);
  return { committed: committed!, later: later as { runId: string } };
}

it('logs the load once its own retry comes after the grace, when the overwrite was handled within it', async () => {
  const { committed, later } = await killedLoadOverwrittenWithinGrace();

  // The killed delivery's retry, the queue's five minutes on, finds the name gone.
  await expect(h.run(file, inFiveMinutes)).resolves.toEqual({ outcome: 'gone' });
  expect(await runEntries(h, committed.id)).toEqual([['allow', 'snapshot-loaded']]);
  // The name's report stays the later content's, and no staged copy is left beside it.
  expect(await h.blobNames('processed')).toEqual([file, `${file}.report.json`]);
  expect(await h.report('processed', file)).toMatchObject({ runId: later.runId });
});

it('leaves no staged report beside the later one when the recovery of a killed load breaks off at removing it', async () => {
  const { committed, later } = await killedLoadOverwrittenWithinGrace();

  // The killed delivery's retry recovers the run, the later report standing, and its first removal
  // of the staged copy fails: as a recovery killed there, it goes no further.
  const deletion = failFirstBlobDeletion((name) => name.endsWith('.staged'));
  try {
    await expect(h.run(file, inFiveMinutes)).rejects.toThrow();
  } finally {
    vi.restoreAllMocks();
  }
  expect(deletion.failed).toBe(true);
  // The queue's next retry, five minutes on again, finds the name gone.
  await expect(h.run(file, { now: () => new Date(Date.now() + 10 * 60_000) })).resolves.toEqual({ outcome: 'gone' });

  expect(await runEntries(h, committed.id)).toEqual([['allow', 'snapshot-loaded']]);
  expect(await h.blobNames('processed')).toEqual([file, `${file}.report.json`]);
  expect(await h.report('processed', file)).toMatchObject({ runId: later.runId });
});

it('writes the committed load’s entry once when two deliveries come at once', async () => {
  h = await createImportHarness();
  await h.drop(file, importFixture('good.csv'));
  await killImportAtPhase(h, 'commit', file);
  const [committed] = await runsInOrder();
  await h.drop(file, importFixture('good-second-snapshot.csv'));
  await h.run(file, { now: () => new Date(Date.parse(committed!.finished_at!) + 1_000) });

  // The killed delivery's retry comes twice (Event Grid delivers at least once): one has found the
  // committed run unlogged and waits to take the lock while the other goes all the way through.
  const holding = gate();
  const release = gate();
  const db = new Proxy(h.store.db, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (property !== 'transaction') return typeof value === 'function' ? value.bind(target) : value;
      return () => {
        const transaction = target.transaction();
        return {
          execute: async <T>(work: Parameters<typeof transaction.execute<T>>[0]) => {
            holding.open();
            await release.opened;
            return transaction.execute(work);
          },
        };
      };
    },
  });
  const held = h.run(file, { ...inFiveMinutes, store: Object.create(h.store, { db: { value: db } }) as Store });
  await holding.opened;
  await expect(h.run(file, inFiveMinutes)).resolves.toEqual({ outcome: 'gone' });
  expect(await runEntries(h, committed!.id)).toEqual([['allow', 'snapshot-loaded']]);
  release.open();
  await expect(held).resolves.toEqual({ outcome: 'gone' });

  expect(await runEntries(h, committed!.id)).toEqual([['allow', 'snapshot-loaded']]);
});

it('logs the rejection killed after its finish when the same file, uploaded again, opens its run and loads', async () => {
  h = await createImportHarness();
  await h.drop(file, importFixture('some-bad-rows.csv'));
  await killImportAtPhase(h, 'commit', file, { maxBadRowShare: 0.04 });
  const [rejected] = await runsInOrder();
  expect(rejected).toMatchObject({ status: 'rejected', rejection_reason: 'bad-row-share-exceeded' });

  // Blob storage keeps Last-Modified to the second: the upload again comes in a later second than
  // the rejection, so it reads the bytes afresh (as after a change of threshold) under the same run.
  const laterSecond = (Math.floor(Date.parse(rejected!.finished_at!) / 1000) + 1) * 1000;
  while (Date.now() < laterSecond) await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  await h.drop(file, importFixture('some-bad-rows.csv'));
  await expect(h.run(file, inFiveMinutes)).resolves.toMatchObject({ outcome: 'loaded', runId: rejected!.id });

  // The access log shows the refusal, then the load.
  expect(await runEntries(h, rejected!.id)).toEqual([
    ['deny', 'bad-row-share-exceeded'],
    ['allow', 'snapshot-loaded'],
  ]);
  expect(await h.report('rejected', file)).toMatchObject({ runId: rejected!.id, outcome: 'rejected' });
  expect(await h.blobNames('rejected')).toEqual([`${file}.report.json`]);
});

const tsv = `la-housing/${MDI}/extract.tsv`;

/**
 * A comma file sent as `.tsv`, read as tab-separated and so rejected, by a process killed after
 * its finish: the rejected run, its entry unwritten and its report staged.
 */
async function rejectionKilledUnderTsv() {
  h = await createImportHarness();
  await h.drop(tsv, importFixture('good.csv'));
  await killImportAtPhase(h, 'commit', tsv);
  const [rejected] = await runsInOrder();
  expect(rejected).toMatchObject({ status: 'rejected', blob_name: tsv });
  return rejected!;
}

it('logs the rejection killed after its finish when a copy under another name opens its run and loads', async () => {
  const rejected = await rejectionKilledUnderTsv();

  // The comma file sent again as `.csv`: the verdict was on how `.tsv` reads it, so it loads.
  await h.drop(file, importFixture('good.csv'));
  await expect(h.run(file, inFiveMinutes)).resolves.toMatchObject({ outcome: 'loaded', runId: rejected.id });

  expect(await runEntries(h, rejected.id)).toEqual([
    ['deny', rejected.rejection_reason],
    ['allow', 'snapshot-loaded'],
  ]);
  expect(await h.report('rejected', tsv)).toMatchObject({ runId: rejected.id, outcome: 'rejected' });
});

// A copy opening the run within the 10 s its own delivery is given to write the entry: the reopen
// made it `loading`, and no later delivery found the rejection to log.
it('logs the rejection killed after its finish when a copy under another name comes within the grace to open its run', async () => {
  const rejected = await rejectionKilledUnderTsv();

  // The copy's event within the grace (its clock never ahead of the access log's), then its
  // retry, the queue's five minutes on.
  await h.drop(file, importFixture('good.csv'));
  const graceEnd = Date.parse(rejected.finished_at!) + 9_000;
  await h.run(file, { now: () => new Date(Math.min(Date.now(), graceEnd)) }).catch((err: unknown) => err);
  await h.run(file, inFiveMinutes).catch((err: unknown) => err);

  expect(await runEntries(h, rejected.id)).toEqual([
    ['deny', rejected.rejection_reason],
    ['allow', 'snapshot-loaded'],
  ]);
  expect(await h.report('rejected', tsv)).toMatchObject({ runId: rejected.id, outcome: 'rejected' });
  expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(40);
});
