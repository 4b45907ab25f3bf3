import { afterEach, expect, it } from 'vitest';
import { createImportHarness, importFixture, runEntries, type ImportHarness } from './import-harness.js';
import { stallImportAtPhase } from './kill-at-phase.js';

/**
 * A delivery that finished a run writes its access-log entry just after; a later delivery of the
 * name recovers the entry of a run finished more than the grace ago with none, its delivery taken
 * to be dead. One merely slow there — its process paused, a storage call or Key Vault slow, its
 * host under load — was not dead: released, it wrote the entry too, and the access log, which the
 * DPO relies on, said the file was imported (or refused) twice.
 */
const file = 'la-housing/multiple-disadvantage-indicators/extract.csv';
let h: ImportHarness;
afterEach(async () => {
  await h?.close();
});

const runsInOrder = () => h.store.db.selectFrom('import_run').selectAll().orderBy('received_at').execute();
/** A delivery's clock past the grace after the run's finish. */
const afterGrace = (finishedAt: string) => ({ now: () => new Date(Date.parse(finishedAt) + 11_000) });

/** A delivery of `fixture` held after its commit (a load's, or a rejection's finish), and the run it finished. */
async function stalledAfterCommit(fixture: string) {
  h = await createImportHarness();
  await h.drop(file, importFixture(fixture));
  const first = stallImportAtPhase(h, 'commit', file);
  await first.stalled;
  const [run] = await runsInOrder();
  return { first, run: run! };
}

it('has one entry for a load whose delivery stalled after its commit while its retry logged it', async () => {
  const { first, run: committed } = await stalledAfterCommit('good.csv');
  expect(committed).toMatchObject({ status: 'loaded', rows_loaded: 40 });

  await expect(h.run(file, afterGrace(committed.finished_at!))).resolves.toMatchObject({
    outcome: 'duplicate',
    of: 'loaded',
  });
  expect(await runEntries(h, committed.id)).toEqual([['allow', 'snapshot-loaded']]);
  await first.release();

  expect(await runEntries(h, committed.id)).toEqual([['allow', 'snapshot-loaded']]);
});

it('has one entry for a load whose delivery stalled after its commit while a later content under the name logged it', async () => {
  const { first, run: committed } = await stalledAfterCommit('good.csv');

  await h.drop(file, importFixture('good-second-snapshot.csv'));
  await expect(h.run(file, afterGrace(committed.finished_at!))).resolves.toMatchObject({
    outcome: 'loaded',
    loaded: 15,
  });
  expect(await runEntries(h, committed.id)).toEqual([['allow', 'snapshot-loaded']]);
  await expect(first.release()).resolves.toMatchObject({ outcome: 'loaded', runId: committed.id });

  expect(await runEntries(h, committed.id)).toEqual([['allow', 'snapshot-loaded']]);
});

it('has one entry for a rejection whose delivery stalled after its finish while its retry logged it', async () => {
  const { first, run: rejected } = await stalledAfterCommit('missing-required-column.csv');
  expect(rejected).toMatchObject({ status: 'rejected', rejection_reason: 'missing-required-column' });

  await expect(h.run(file, afterGrace(rejected.finished_at!))).resolves.toMatchObject({
    outcome: 'duplicate',
    of: 'rejected',
  });
  await expect(first.release()).resolves.toMatchObject({ outcome: 'rejected' });

  expect(await runEntries(h, rejected.id)).toEqual([['deny', 'missing-required-column']]);
});

// Released after the later content's delivery, the first published its own report over the later
// one's: the party saw the older file's report for the name, and the newer load's was gone.
it("keeps the later content's report when a load's delivery stalled after its commit is released after it", async () => {
  const { first, run: committed } = await stalledAfterCommit('good.csv');

  await h.drop(file, importFixture('good-second-snapshot.csv'));
  const later = await h.run(file, afterGrace(committed.finished_at!));
  expect(later).toMatchObject({ outcome: 'loaded', loaded: 15 });
  await first.release();

  expect(await h.report('processed', file)).toMatchObject({ runId: (later as { runId: string }).runId });
});

it("keeps the later content's report when a rejection's delivery stalled after its finish is released after it", async () => {
  const { first, run: rejected } = await stalledAfterCommit('missing-required-column.csv');

  await h.drop(file, importFixture('header-only.csv'));
  const later = await h.run(file, afterGrace(rejected.finished_at!));
  expect(later).toMatchObject({ outcome: 'rejected' });
  await first.release();

  expect(await h.report('rejected', file)).toMatchObject({ runId: (later as { runId: string }).runId });
});

// The same bytes uploaded again past the grace open the run again under its own id, and its second
// rejection is the party's report for the name. Released after it, the first delivery wrote its
// report over that one, a report of its own run never taken for a later one: the party saw the first
// rejection's report for the file sent again.
it("keeps a run's later rejection report when the delivery of its first, stalled after its finish, is released after it", async () => {
  h = await createImportHarness();
  await h.drop(file, importFixture('missing-required-column.csv'));
  const first = stallImportAtPhase(h, 'commit', file);
  await first.stalled;
  const [rejected] = await runsInOrder();

  // Blob storage keeps Last-Modified to the second: the upload again comes in a later second than
  // the rejection, so that it opens the run again.
  const laterSecond = (Math.floor(Date.parse(rejected!.finished_at!) / 1000) + 1) * 1000;
  while (Date.now() < laterSecond) await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  await h.drop(file, importFixture('missing-required-column.csv'));
  await expect(h.run(file, afterGrace(rejected!.finished_at!))).resolves.toMatchObject({
    outcome: 'rejected',
    runId: rejected!.id,
  });
  const [again] = await runsInOrder();
  expect(again!.finished_at).not.toBe(rejected!.finished_at);
  await first.release();

  expect(await h.report('rejected', file)).toMatchObject({ runId: rejected!.id, finishedAt: again!.finished_at });
});
