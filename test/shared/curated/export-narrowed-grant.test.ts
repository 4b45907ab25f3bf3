import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgreementSet } from '../../../shared/agreements/agreement-set.js';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { COUNTS_FILE, exportCurated, healCurated } from '../../../shared/curated/curated-export.js';
import { agreementsFolderWith, type AgreementTextEdit } from '../agreements/agreement-files.js';
import type { ImportHarness } from '../imports/import-harness.js';
import { curatedHarness, FOLDER, housing } from './curated-runs.js';

/** The ISA re-signed with `edit` made to its service-planning export grant. */
function agreementsWithExportGrant(edit: Omit<AgreementTextEdit, 'agreement'>): AgreementSet {
  return loadAgreements(
    agreementsFolderWith([
      { agreement: 'isa', ...edit },
      { agreement: 'isa', from: "version: '1.2.0'", to: "version: '1.3.0'" },
    ]),
  );
}

/**
 * A harness whose Housing extract (NHS numbers from `firstNhs`) has been exported on 1 November and
 * 1 December, and what the target's releases hold in the SQL view and the curated container.
 */
function exportedTwice(firstNhs: number) {
  const state = {} as { h: ImportHarness; container: string };
  beforeAll(async () => {
    Object.assign(state, await curatedHarness(housing(40, firstNhs)));
    for (const at of ['2026-11-01T06:00:00.000Z', '2026-12-01T06:00:00.000Z'])
      await exportCurated(state.h.exportDeps(state.container, { now: () => new Date(at) }));
  });
  afterAll(() => state.h?.close());
  const releaseFiles = async () => {
    const names: string[] = [];
    for await (const b of state.h.blobs.getContainerClient(state.container).listBlobsFlat({ prefix: FOLDER }))
      names.push(b.name.slice(FOLDER.length));
    return names.sort();
  };
  return {
    state,
    releaseFiles,
    /** The measure and category of every line the SQL view shows. */
    linesInView: async () =>
      (
        await state.h.store.db
          .selectFrom('curated_indicator_counts')
          .select(['measure', 'category'])
          .distinct()
          .execute()
      ).map((r) => `${r.measure},${r.category}`),
    /** The folders (latest/, dated) whose counts CSV holds a line of `measure` (and `category`, given). */
    foldersCounting: async (measure: string, category = '') => {
      const curated = state.h.blobs.getContainerClient(state.container);
      const folders: string[] = [];
      for (const name of await releaseFiles()) {
        if (!name.endsWith(`/${COUNTS_FILE}`)) continue;
        const csv = (await curated.getBlobClient(`${FOLDER}${name}`).downloadToBuffer()).toString('utf8');
        if (csv.includes(`,${measure},${category}`)) folders.push(name.split('/')[0]!);
      }
      return folders;
    },
    heal: (agreements: AgreementSet, at: string) =>
      healCurated(state.h.exportDeps(state.container, { agreements, now: () => new Date(at) })),
    exportUnder: (agreements: AgreementSet, at: string) =>
      exportCurated(state.h.exportDeps(state.container, { agreements, now: () => new Date(at) })),
  };
}

describe('the planning counts of a field a re-signing took out of the export grant', () => {
  const { state, releaseFiles, linesInView, foldersCounting, heal, exportUnder } = exportedTwice(900);
  const healAsSigned = (at: string) => healCurated(state.h.exportDeps(state.container, { now: () => new Date(at) }));

  it('are taken out of the SQL view and the container at the next daily heal, not left for a month or 400 days', async () => {
    expect(await linesInView()).toContain('isDisabled,not recorded');
    expect(await foldersCounting('isDisabled')).toEqual(['2026-11-01', '2026-12-01', 'latest']);
    // A heal under the grant as signed withdraws nothing: every line of a release is one it may publish.
    const filesAsPublished = await releaseFiles();
    expect(await healAsSigned('2026-12-02T05:00:00.000Z')).toBe('healed');
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
    expect(await heal(narrowed, '2026-12-03T05:00:00.000Z')).toBe('healed');
    expect((await linesInView()).filter((line) => line.startsWith('isDisabled,'))).toEqual([]);
    expect(await releaseFiles()).toEqual([]);

    // The next export publishes the fields the grant names now.
    await exportUnder(narrowed, '2027-01-01T06:00:00.000Z');
    expect(await linesInView()).toEqual(expect.arrayContaining(['all people,all', 'ehcp,not recorded', 'gender,Male']));
    expect((await linesInView()).filter((line) => line.startsWith('isDisabled,'))).toEqual([]);
    expect(await foldersCounting('gender')).toEqual(['2027-01-01', 'latest']);
    expect(await foldersCounting('isDisabled')).toEqual([]);
    // And the heal after it keeps what the narrowed grant published.
    const republished = await releaseFiles();
    expect(await heal(narrowed, '2027-01-02T05:00:00.000Z')).toBe('healed');
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
    expect(await heal(narrowed, '2026-12-03T05:00:00.000Z')).toBe('healed');
    expect(await linesInView()).not.toContain('gender,Male');
    expect(await releaseFiles()).toEqual([]);

    await exportUnder(narrowed, '2027-01-01T06:00:00.000Z');
    expect(await linesInView()).toEqual(expect.arrayContaining(['gender,Female', 'gender,other values']));
    expect(await linesInView()).not.toContain('gender,Male');
    expect(await foldersCounting('gender', 'Male,')).toEqual([]);
    const republished = await releaseFiles();
    expect(await heal(narrowed, '2027-01-02T05:00:00.000Z')).toBe('healed');
    expect(await releaseFiles()).toEqual(republished);
  });
});
