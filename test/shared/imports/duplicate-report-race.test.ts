import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BlobClient } from '@azure/storage-blob';
import { afterEach, expect, it, vi } from 'vitest';
import { PhaseClock } from '../../../shared/imports/import-phases.js';
import { claimRun } from '../../../shared/imports/import-runs.js';
import { createImportHarness, type ImportHarness } from './import-harness.js';

/**
 * A renamed copy claims the run while the first file is loading (the run then names the copy),
 * and the first file's instance dies after its report is published but before its move. The
 * retry of the first file is a duplicate of its own run: it must keep its loaded report, row
 * errors and all, not overwrite it with a duplicate report (found by a review of 3334ce3).
 */
const path = (f: string) => `la-housing/multiple-disadvantage-indicators/${f}`;
let h: ImportHarness;
afterEach(async () => {
  vi.restoreAllMocks();
  await h?.close();
});

it("keeps the loader's own report when a renamed copy claimed the run meanwhile", async () => {
  h = await createImportHarness();
  const [first, copy] = [path('first.csv'), path('copy.csv')];
  const good = readFileSync(new URL('../../fixtures/imports/good.csv', import.meta.url), 'utf8');
  // One bad date, so the loaded report has a row error to lose.
  const content = good.replace(
    /\n([^\n]*)\n/,
    (_, row: string) => `\n${row.replace(/\d{4}-\d{2}-\d{2}/, '31-31-2001')}\n`,
  );
  await h.drop(first, content);
  await h.drop(copy, content);
  let pending: Promise<unknown> | undefined;
  const clock = new PhaseClock();
  const lap = clock.lap.bind(clock);
  clock.lap = (phase) => {
    lap(phase);
    if (phase === 'claim run' && pending === undefined)
      pending = claimRun(h.store.db, {
        runId: 'x',
        partyId: 'la-housing',
        datasetId: 'multiple-disadvantage-indicators',
        blobName: copy,
        sha256: createHash('sha256').update(content).digest('hex'),
        now: new Date().toISOString(),
      });
  };
  const copyFrom = BlobClient.prototype.beginCopyFromURL;
  let died = false;
  vi.spyOn(BlobClient.prototype, 'beginCopyFromURL').mockImplementation(function (
    this: BlobClient,
    ...args: Parameters<typeof copyFrom>
  ) {
    if (!died && this.name === first) {
      died = true;
      return Promise.reject(new Error('instance died'));
    }
    return copyFrom.apply(this, args);
  });
  await expect(h.run(first, { hooks: { phases: clock } })).rejects.toBeDefined();
  await pending;
  const loaded = await h.report('processed', first);
  expect(loaded).toMatchObject({ outcome: 'loaded', rowErrors: [{ reason: 'date-calendar' }] });
  expect(await h.run(copy)).toMatchObject({ outcome: 'duplicate', of: 'loaded' });
  expect(await h.run(first)).toMatchObject({ outcome: 'duplicate', of: 'loaded' });
  expect(await h.report('processed', first)).toMatchObject({ outcome: 'loaded', rowErrors: loaded!.rowErrors });
});
