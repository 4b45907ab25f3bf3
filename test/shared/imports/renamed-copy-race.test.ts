import { createHash } from 'node:crypto';
import { BlobClient } from '@azure/storage-blob';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PhaseClock } from '../../../shared/imports/import-phases.js';
import { claimRun } from '../../../shared/imports/import-runs.js';
import { createImportHarness, importFixture, type ImportHarness } from './import-harness.js';

/**
 * Two hosts: `first.csv` and a renamed copy `copy.csv` (same bytes) of one party's dataset are
 * delivered at once. The copy's host claims the run while the first is loading (claimRun sets the
 * run's blob_name to the copy), then finds the run settled by the first host and stands down.
 * The copy is a duplicate: it must get a report of its own saying so (`duplicate`, `duplicateOf`
 * naming first.csv), never a second `loaded` report, and never no report at all.
 */
const path = (f: string) => `la-housing/multiple-disadvantage-indicators/${f}`;
const [first, copy] = [path('first.csv'), path('copy.csv')];

/** A PhaseClock that, once first's run is claimed, lets the copy's host claim it too. */
function copyClaimsMidway(h: ImportHarness, content: string) {
  let pending: Promise<unknown> | undefined;
  const clock = new PhaseClock();
  const lap = clock.lap.bind(clock);
  clock.lap = (phase) => {
    lap(phase);
    if (phase === 'claim run' && pending === undefined)
      pending = claimRun(h.store.db, {
        runId: 'copy-host',
        partyId: 'la-housing',
        datasetId: 'multiple-disadvantage-indicators',
        blobName: copy,
        sha256: createHash('sha256').update(content).digest('hex'),
        now: new Date().toISOString(),
      });
  };
  return { clock, settled: () => pending };
}

describe('a renamed copy delivered at the same time as the first file', () => {
  let h: ImportHarness;
  afterEach(async () => {
    await h?.close();
  });

  it('gives the copy a duplicate report, not a second loaded one, when the first file loads', async () => {
    h = await createImportHarness();
    const good = importFixture('good.csv').toString('utf8');
    // One bad date, so the first file's loaded report has a row error.
    const content = good.replace(
      /\n([^\n]*)\n/,
      (_, row: string) => `\n${row.replace(/\d{4}-\d{2}-\d{2}/, '31-31-2001')}\n`,
    );
    await h.drop(first, content);
    await h.drop(copy, content);
    const { clock, settled } = copyClaimsMidway(h, content);
    expect(await h.run(first, { hooks: { phases: clock } })).toMatchObject({ outcome: 'loaded' });
    await settled();
    // The copy's host carries on: the run is settled, so it is a duplicate.
    expect(await h.run(copy)).toMatchObject({ outcome: 'duplicate', of: 'loaded' });
    const firstReport = await h.report('processed', first);
    expect(firstReport).toMatchObject({ outcome: 'loaded', counts: { rows: 40, loaded: 39, rejected: 1 } });
    const copyReport = await h.report('processed', copy);
    expect(copyReport, 'the copy applied nothing: its report must be a duplicate report').toMatchObject({
      outcome: 'duplicate',
      counts: { rows: 0, loaded: 0, rejected: 0 },
      duplicateOf: { file: first, outcome: 'loaded' },
    });
  });

  it('gives the copy a report beside it in rejected/ when the first file is rejected', async () => {
    h = await createImportHarness();
    const content = importFixture('missing-required-column.csv').toString('utf8');
    await h.drop(first, content);
    await h.drop(copy, content);
    const { clock, settled } = copyClaimsMidway(h, content);
    expect(await h.run(first, { hooks: { phases: clock } })).toMatchObject({ outcome: 'rejected' });
    await settled();
    expect(await h.run(copy)).toMatchObject({ outcome: 'duplicate', of: 'rejected' });
    expect(await h.exists('rejected', copy)).toBe(true);
    expect(await h.exists('incoming', copy)).toBe(false);
    const copyReport = await h.report('rejected', copy);
    expect(copyReport, 'a file moved to rejected/ must have <file>.report.json beside it').toMatchObject({
      outcome: 'duplicate',
      duplicateOf: { file: first, outcome: 'rejected' },
    });
  });
});

/**
 * And the first file's instance dies after its report is published but before its move: the
 * retry of the first file is a duplicate of its own run and must keep its loaded report, row
 * errors and all, not overwrite it with a duplicate report (found by a review of 3334ce3).
 */
describe("a renamed copy, and the first file's instance dying before its move", () => {
  let h: ImportHarness;
  afterEach(async () => {
    vi.restoreAllMocks();
    await h?.close();
  });

  it("keeps the loader's own report when a renamed copy claimed the run meanwhile", async () => {
    h = await createImportHarness();
    const good = importFixture('good.csv').toString('utf8');
    // One bad date, so the loaded report has a row error to lose.
    const content = good.replace(
      /\n([^\n]*)\n/,
      (_, row: string) => `\n${row.replace(/\d{4}-\d{2}-\d{2}/, '31-31-2001')}\n`,
    );
    await h.drop(first, content);
    await h.drop(copy, content);
    const { clock, settled } = copyClaimsMidway(h, content);
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
    await settled();
    const loaded = await h.report('processed', first);
    expect(loaded).toMatchObject({ outcome: 'loaded', rowErrors: [{ reason: 'date-calendar' }] });
    expect(await h.run(copy)).toMatchObject({ outcome: 'duplicate', of: 'loaded' });
    expect(await h.run(first)).toMatchObject({ outcome: 'duplicate', of: 'loaded' });
    expect(await h.report('processed', first)).toMatchObject({ outcome: 'loaded', rowErrors: loaded!.rowErrors });
  });
});
