import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgreementSet } from '../../../shared/agreements/agreement-set.js';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { COUNTS_FILE, exportCurated, healCurated } from '../../../shared/curated/curated-export.js';
import { agreementsFolderWith } from '../agreements/agreement-files.js';
import type { ImportHarness } from '../imports/import-harness.js';
import { curatedHarness, FOLDER, housing } from './curated-runs.js';

/**
 * The ISA re-signed with `isDisabled`, a special-category field, taken out of the service-planning
 * export grant: the analysts may no longer be told how many people are disabled.
 */
function agreementsExportingWithoutIsDisabled(): AgreementSet {
  return loadAgreements(
    agreementsFolderWith([
      {
        agreement: 'isa',
        from: '    specialCategoryFields:\n      - ehcp\n      - isDisabled\n    # Gender is free text',
        to: '    specialCategoryFields:\n      - ehcp\n    # Gender is free text',
      },
      { agreement: 'isa', from: "version: '1.2.0'", to: "version: '1.3.0'" },
    ]),
  );
}

describe('the planning counts of a field a re-signing took out of the export grant', () => {
  let h: ImportHarness;
  let container: string;
  const measuresInView = async () =>
    (await h.store.db.selectFrom('curated_indicator_counts').select('measure').distinct().execute()).map(
      (r) => r.measure,
    );
  const releaseFiles = async () => {
    const names: string[] = [];
    for await (const b of h.blobs.getContainerClient(container).listBlobsFlat({ prefix: FOLDER }))
      names.push(b.name.slice(FOLDER.length));
    return names.sort();
  };
  /** The folders (latest/, dated) whose counts CSV holds a line of the measure. */
  const foldersCounting = async (measure: string) => {
    const curated = h.blobs.getContainerClient(container);
    const folders: string[] = [];
    for (const name of await releaseFiles()) {
      if (!name.endsWith(`/${COUNTS_FILE}`)) continue;
      const csv = (await curated.getBlobClient(`${FOLDER}${name}`).downloadToBuffer()).toString('utf8');
      if (csv.includes(`,${measure},`)) folders.push(name.split('/')[0]!);
    }
    return folders;
  };

  beforeAll(async () => {
    ({ h, container } = await curatedHarness(housing(40, 900)));
  });
  afterAll(() => h?.close());

  it('are taken out of the SQL view and the container at the next daily heal, not left for a month or 400 days', async () => {
    await exportCurated(h.exportDeps(container, { now: () => new Date('2026-11-01T06:00:00.000Z') }));
    await exportCurated(h.exportDeps(container, { now: () => new Date('2026-12-01T06:00:00.000Z') }));
    expect(await measuresInView()).toContain('isDisabled');
    expect(await foldersCounting('isDisabled')).toEqual(['2026-11-01', '2026-12-01', 'latest']);

    // Re-signed on 2 December: the grant goes on, without isDisabled. What was published of it is
    // no longer the analysts' to read, in Power BI's SQL view, latest/ or the dated copies kept for
    // trends, as for a grant withdrawn whole (found by a defect hunt: the daily heal left all of
    // it, latest/ until January's export and the dated copies for the lifecycle rule's 400 days).
    const narrowed = agreementsExportingWithoutIsDisabled();
    expect(
      await healCurated(
        h.exportDeps(container, { agreements: narrowed, now: () => new Date('2026-12-03T05:00:00.000Z') }),
      ),
    ).toBe('healed');
    expect(await measuresInView()).not.toContain('isDisabled');
    expect(await releaseFiles()).toEqual([]);

    // The next export publishes the fields the grant names now.
    await exportCurated(
      h.exportDeps(container, { agreements: narrowed, now: () => new Date('2027-01-01T06:00:00.000Z') }),
    );
    expect(await measuresInView()).toEqual(expect.arrayContaining(['all people', 'ehcp', 'gender']));
    expect(await measuresInView()).not.toContain('isDisabled');
    expect(await foldersCounting('gender')).toEqual(['2027-01-01', 'latest']);
    expect(await foldersCounting('isDisabled')).toEqual([]);
  });
});
