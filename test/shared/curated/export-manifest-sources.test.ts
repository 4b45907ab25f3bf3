import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COUNTS_FILE, exportCurated, MANIFEST_FILE } from '../../../shared/curated/curated-export.js';
import { linkPendingRecords } from '../../../shared/linkage/pending-links.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { importEach, nhs } from '../../support/linked-people.js';

const DATASET = 'multiple-disadvantage-indicators';
const FOLDER = `la-housing/service-planning/${DATASET}/`;
const PEOPLE = 40;
/** Of the 40 households in temporary accommodation, the two social care knows. */
const KNOWN_TO_SOCIAL_CARE = 2;
const family = (i: number) =>
  `Family${String.fromCharCode(97 + Math.floor(i / 26))}${String.fromCharCode(97 + (i % 26))}`;
const HOUSING = [
  'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,gender,inTemporaryAccommodation',
  ...Array.from({ length: PEOPLE }, (_, i) =>
    ['Alex', family(i), '2010-01-01', 'ME14 1XX', nhs(600 + i), 'Female', 'Y'].join(','),
  ),
];
const SOCIAL_CARE = [
  'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection',
  ...Array.from({ length: KNOWN_TO_SOCIAL_CARE }, (_, i) =>
    ['Alex', family(i), '2010-01-01', 'ME14 1XX', nhs(600 + i), `SC-${i}`, 'Y'].join(','),
  ),
];

/**
 * The manifest beside the counts names the extracts of the people counted: a source it names
 * holds a record of at least one of them. Housing knows whom it houses and whom it moves on, so
 * a source named, or no longer named, is a count of people that is never zero, or has just
 * become so: it must be withheld as the counts' own small numbers are.
 */
describe('the manifest of a planning export where a source holds records of only a few of the people counted', () => {
  let h: ImportHarness;
  let container: string;

  const latest = async (name: string) =>
    (await h.blobs.getContainerClient(container).getBlobClient(`${FOLDER}latest/${name}`).downloadToBuffer()).toString(
      'utf8',
    );
  const extractsNamed = async () =>
    Object.keys((JSON.parse(await latest(MANIFEST_FILE)) as { extractsAsOf: Record<string, string> }).extractsAsOf);

  beforeAll(async () => {
    h = await createImportHarness();
    container = await h.exportContainer();
    await importEach(h, [
      ['la-housing', HOUSING],
      ['la-childrens-social-care', SOCIAL_CARE],
    ]);
    await linkPendingRecords(h.linkDeps());
  });
  afterAll(() => h?.close());

  it('does not say that any of them is known to social care, which the counts withhold', async () => {
    const [summary] = (await exportCurated(h.exportDeps(container))).summaries;
    expect(summary).toMatchObject({ outcome: 'written', peopleCounted: PEOPLE });
    // The counts withhold the two social care knows: Y and N are small numbers.
    const csv = await latest(COUNTS_FILE);
    expect(csv).toContain(',childProtection,Y,,Y,');
    expect(csv).toContain(',childProtection,N,,Y,');
    // Housing's extract holds a record of every one of the 40; social care's of two of them.
    expect(await extractsNamed()).toEqual(['la-housing']);
  });

  it('names no extract when fewer people are counted than the minimum, and every count is withheld', async () => {
    const [summary] = (await exportCurated(h.exportDeps(container, { minCell: PEOPLE + 10 }))).summaries;
    expect(summary).toMatchObject({ outcome: 'written', peopleCounted: PEOPLE });
    expect((await latest(COUNTS_FILE)).split('\r\n').filter((line) => /,N,[YN]$/.test(line))).toEqual([]);
    expect(await extractsNamed()).toEqual([]);
  });
});
