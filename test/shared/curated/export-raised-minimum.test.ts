import { describe, expect, it } from 'vitest';
import { exportedTwice } from './curated-runs.js';

describe('the planning counts published under a minimum cell the DPO has since raised', () => {
  const { state, releaseFiles, heal, exportUnder } = exportedTwice(1000);
  /** The UK days of the releases Power BI's SQL view shows. */
  const daysInView = async () =>
    (
      await state.h.store.db
        .selectFrom('curated_indicator_counts')
        .select('generated_at')
        .distinct()
        .orderBy('generated_at')
        .execute()
    ).map((r) => r.generated_at.slice(0, 10));
  const foldersInContainer = async () => [...new Set((await releaseFiles()).map((name) => name.split('/')[0]))];

  it('leave the SQL view and the container at the next daily heal; a heal under their own minimum, or a lower one, withdraws nothing', async () => {
    // Both exports ran under CURATED_MIN_CELL 10, and a heal under it keeps them.
    expect(await daysInView()).toEqual(['2026-11-01', '2026-12-01']);
    const asPublished = await releaseFiles();
    expect(await heal('2026-12-02T05:00:00.000Z', { minCell: 10 })).toBe('healed');
    expect(await releaseFiles()).toEqual(asPublished);
    expect(await daysInView()).toEqual(['2026-11-01', '2026-12-01']);

    // The DPO raises it to 20, a cell having been judged disclosive: what was published under 10
    // is no longer the analysts' to read, in the view, latest/ or the dated copies (found by a
    // defect hunt: all of it stayed, latest/ until the next export, the rest for 400 days).
    expect(await heal('2026-12-03T05:00:00.000Z', { minCell: 20 })).toBe('healed');
    expect(await daysInView()).toEqual([]);
    expect(await releaseFiles()).toEqual([]);

    // Lowered to 10 again: a release published under it stays through a heal under 10, or under 7.
    await exportUnder('2027-01-01T06:00:00.000Z', { minCell: 10 });
    expect(await daysInView()).toEqual(['2027-01-01']);
    expect(await foldersInContainer()).toEqual(['2027-01-01', 'latest']);
    const republished = await releaseFiles();
    expect(await heal('2027-01-02T05:00:00.000Z', { minCell: 10 })).toBe('healed');
    expect(await heal('2027-01-03T05:00:00.000Z', { minCell: 7 })).toBe('healed');
    expect(await releaseFiles()).toEqual(republished);
    expect(await daysInView()).toEqual(['2027-01-01']);
  });
});
