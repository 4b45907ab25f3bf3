import { afterEach, expect, it } from 'vitest';
import { createImportHarness, importFixture, runEntries, storedRecords, type ImportHarness } from './import-harness.js';
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
