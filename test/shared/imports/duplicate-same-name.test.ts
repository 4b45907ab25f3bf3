import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createImportHarness, importFixture, storedRecords, type ImportHarness } from './import-harness.js';

/**
 * A partner who always uploads under one name re-sends Monday's bytes after Tuesday's loaded. The
 * duplicate was taken for the run's own delivery (same name) and Monday's report was "recovered"
 * over Tuesday's in processed/, saying 40 rows loaded now (found by a review). It is another
 * upload of those bytes: it changes nothing, and the report beside it says so.
 */
const MDI = 'multiple-disadvantage-indicators';
const name = `la-housing/${MDI}/extract.csv`;

describe('a duplicate under the name another snapshot has since used', () => {
  let h: ImportHarness;
  beforeEach(async () => {
    h = await createImportHarness();
  });
  afterEach(async () => {
    await h?.close();
  });

  it('is reported as a duplicate, never as a load of its bytes now', async () => {
    const monday = await h.importFile(name, importFixture('good.csv'));
    expect(monday).toMatchObject({ outcome: 'loaded', loaded: 40 });
    expect(await h.importFile(name, importFixture('good-second-snapshot.csv'))).toMatchObject({ loaded: 15 });
    // Uploaded a second later than Tuesday's run finished, as any real re-send is.
    await new Promise((r) => setTimeout(r, 1100));

    expect(await h.importFile(name, importFixture('good.csv'))).toMatchObject({ outcome: 'duplicate', of: 'loaded' });
    expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(15);
    expect(await h.report('processed', name)).toMatchObject({
      outcome: 'duplicate',
      counts: { rows: 0, loaded: 0, rejected: 0 },
      duplicateOf: { file: name, outcome: 'loaded' },
    });
    expect(h.logLines.some((line) => line.includes('import.report-recovered'))).toBe(false);
  });
});
