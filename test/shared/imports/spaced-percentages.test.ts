import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createImportHarness, importFixture, storedRecords, type ImportHarness } from './import-harness.js';

/**
 * Excel writes a percentage with a space before the sign in many locales' formats ("45,5 %" in
 * French, a non-breaking or narrow no-break space), and people type "45.5 %" by hand. "45.5%"
 * loaded; "45.5 %" was a `percentage-format` row error (found by a review), a refusal a partner
 * council's data officer could see no reason for.
 */
const MDI = 'multiple-disadvantage-indicators';
const blob = (file: string) => `la-education/${MDI}/${file}`;

describe('a percentage written with a space before the sign', () => {
  let h: ImportHarness;
  beforeEach(async () => {
    h = await createImportHarness();
  });
  afterEach(async () => {
    await h?.close();
  });

  it('loads as the same number as without the space, ordinary, non-breaking or narrow', async () => {
    const [header, ...rows] = importFixture('education-good.csv').toString('utf8').trimEnd().split('\n');
    // Rows 2-4 hold lateness 0%, 1%, 2% and absence 0, 3.7, 7.4 (without a sign).
    const spaced = [
      rows[0]!.replace(',0,0%,', ',0 %,0 %,'),
      rows[1]!.replace(',3.7,1%,', ',3.7\u00a0%,1\u00a0%,'),
      rows[2]!.replace(',7.4,2%,', ',7.4\u202f%,2\u202f%,'),
      ...rows.slice(3),
    ];
    expect(spaced.slice(0, 3)).not.toEqual(rows.slice(0, 3));
    const outcome = await h.importFile(blob('spaced.csv'), [header, ...spaced].join('\n'));
    const report =
      (await h.report('processed', blob('spaced.csv'))) ?? (await h.report('rejected', blob('spaced.csv')));
    expect(outcome, JSON.stringify(report?.rowErrors ?? outcome)).toMatchObject({
      outcome: 'loaded',
      loaded: rows.length,
      rejected: 0,
    });
    const stored = (await storedRecords(h.store, 'la-education', MDI)).slice(0, 3);
    expect(stored.map((r) => [r.attributes.schoolTotalAbsencePercent, r.attributes.schoolLatenessPercent])).toEqual([
      [0, 0],
      [3.7, 1],
      [7.4, 2],
    ]);
  });

  it('still refuses a space inside the number, two signs, or a sign alone', async () => {
    const [header, first, ...rest] = importFixture('education-good.csv').toString('utf8').trimEnd().split('\n');
    const lines = [header!, ...['4 5%', '45 %%', '%'].map((p) => first!.replace(',0,0%,', `,0,${p},`)), ...rest];
    const outcome = await h.importFile(blob('bad.csv'), lines.join('\n'));
    expect(outcome).toMatchObject({ outcome: 'rejected' });
    const report = await h.report('rejected', blob('bad.csv'));
    expect(report?.rowErrors.map((e) => [e.row, e.reason])).toEqual([
      [2, 'percentage-format'],
      [3, 'percentage-format'],
      [4, 'percentage-format'],
    ]);
  });
});
