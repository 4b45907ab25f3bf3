import { describe, expect, it } from 'vitest';
import type { AgreementSet } from '../../../shared/agreements/agreement-set.js';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { agreementsFolderWith, type AgreementTextEdit } from '../agreements/agreement-files.js';
import { exportedTwice } from './curated-runs.js';

/** The ISA re-signed with `edit` made to its service-planning export grant. */
function agreementsWithExportGrant(edit: Omit<AgreementTextEdit, 'agreement'>): AgreementSet {
  return loadAgreements(
    agreementsFolderWith([
      { agreement: 'isa', ...edit },
      { agreement: 'isa', from: "version: '1.2.0'", to: "version: '1.3.0'" },
    ]),
  );
}

describe('the planning counts of a field a re-signing took out of the export grant', () => {
  const { releaseFiles, linesInView, foldersCounting, heal, exportUnder } = exportedTwice(900);

  it('are taken out of the SQL view and the container at the next daily heal, not left for a month or 400 days', async () => {
    expect(await linesInView()).toContain('isDisabled,not recorded');
    expect(await foldersCounting('isDisabled')).toEqual(['2026-11-01', '2026-12-01', 'latest']);
    // A heal under the grant as signed withdraws nothing: every line of a release is one it may publish.
    const filesAsPublished = await releaseFiles();
    expect(await heal('2026-12-02T05:00:00.000Z')).toBe('healed');
    expect(await releaseFiles()).toEqual(filesAsPublished);
    expect(await linesInView()).toContain('isDisabled,not recorded');

    // Re-signed on 2 December: the grant goes on, without isDisabled, a special-category field.
    // What was published of it is no longer the analysts' to read, in Power BI's SQL view,
    // latest/ or the dated copies kept for trends, as for a grant withdrawn whole (found by a
    // defect hunt: the daily heal left all of it, latest/ until January's export and the dated
    // copies for the lifecycle rule's 400 days).
    const narrowed = agreementsWithExportGrant({
      from: '    specialCategoryFields:\n      - ehcp\n      - isDisabled\n    # Gender is free text',
      to: '    specialCategoryFields:\n      - ehcp\n    # Gender is free text',
    });
    expect(await heal('2026-12-03T05:00:00.000Z', { agreements: narrowed })).toBe('healed');
    expect((await linesInView()).filter((line) => line.startsWith('isDisabled,'))).toEqual([]);
    expect(await releaseFiles()).toEqual([]);

    // The next export publishes the fields the grant names now.
    await exportUnder('2027-01-01T06:00:00.000Z', { agreements: narrowed });
    expect(await linesInView()).toEqual(expect.arrayContaining(['all people,all', 'ehcp,not recorded', 'gender,Male']));
    expect((await linesInView()).filter((line) => line.startsWith('isDisabled,'))).toEqual([]);
    expect(await foldersCounting('gender')).toEqual(['2027-01-01', 'latest']);
    expect(await foldersCounting('isDisabled')).toEqual([]);
    // And the heal after it keeps what the narrowed grant published.
    const republished = await releaseFiles();
    expect(await heal('2027-01-02T05:00:00.000Z', { agreements: narrowed })).toBe('healed');
    expect(await releaseFiles()).toEqual(republished);
    expect(await foldersCounting('gender')).toEqual(['2027-01-01', 'latest']);
  });
});

describe('the planning counts of a value a re-signing no longer lets the export grant name', () => {
  const { releaseFiles, linesInView, foldersCounting, heal, exportUnder } = exportedTwice(950);

  it('are taken out of the SQL view and the container at the next daily heal; the value is one of the other values from then', async () => {
    expect(await linesInView()).toContain('gender,Male');
    expect(await foldersCounting('gender', 'Male,')).toEqual(['2026-11-01', '2026-12-01', 'latest']);

    // Re-signed on 2 December: the grant goes on counting gender, but names Female alone (the
    // DPO judged the other value too rare to name, say). The releases that named it are no longer
    // the analysts' to read, as for a field taken out of the grant.
    const narrowed = agreementsWithExportGrant({ from: 'gender: [Female, Male]', to: 'gender: [Female]' });
    expect(await heal('2026-12-03T05:00:00.000Z', { agreements: narrowed })).toBe('healed');
    expect(await linesInView()).not.toContain('gender,Male');
    expect(await releaseFiles()).toEqual([]);

    await exportUnder('2027-01-01T06:00:00.000Z', { agreements: narrowed });
    expect(await linesInView()).toEqual(expect.arrayContaining(['gender,Female', 'gender,other values']));
    expect(await linesInView()).not.toContain('gender,Male');
    expect(await foldersCounting('gender', 'Male,')).toEqual([]);
    const republished = await releaseFiles();
    expect(await heal('2027-01-02T05:00:00.000Z', { agreements: narrowed })).toBe('healed');
    expect(await releaseFiles()).toEqual(republished);
  });
});
