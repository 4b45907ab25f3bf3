import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { COUNTS_FILE, exportCurated, MANIFEST_FILE } from '../../../shared/curated/curated-export.js';
import { linkPendingRecords } from '../../../shared/linkage/pending-links.js';
import { agreementsFolderWith } from '../agreements/agreement-files.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { importEach, nhs } from '../../support/linked-people.js';

const DATASET = 'multiple-disadvantage-indicators';
const FOLDER = `la-housing/service-planning/${DATASET}/`;
const PEOPLE = 40;
/** The people the providers' extract, loaded before they stopped supplying, says are in arrears. */
const IN_ARREARS = 20;
const family = (i: number) =>
  `Family${String.fromCharCode(97 + Math.floor(i / 26))}${String.fromCharCode(97 + (i % 26))}`;
const HOUSING = [
  'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,gender,inTemporaryAccommodation,inRentArrears',
  ...Array.from({ length: PEOPLE }, (_, i) =>
    ['Alex', family(i), '2010-01-01', 'ME14 1XX', nhs(700 + i), i % 2 ? 'Female' : 'Male', 'Y', 'N'].join(','),
  ),
];
const PROVIDER = [
  'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears',
  ...Array.from({ length: IN_ARREARS }, (_, i) =>
    ['Alex', family(i), '2010-01-01', 'ME14 1XX', nhs(700 + i), 'Y'].join(','),
  ),
];

/**
 * The ISA re-signed with the social housing providers no longer supplying the indicators (they
 * stay a party, with their lookups): the dataset's `sources`, and the arrears fields', no longer
 * name them.
 */
function agreementsWithoutProviderSource() {
  return loadAgreements(
    agreementsFolderWith([
      { agreement: 'isa', from: '      - la-housing\n      - social-housing-providers\n', to: '      - la-housing\n' },
      {
        agreement: 'isa',
        from: 'sources: [la-housing, social-housing-providers]',
        to: 'sources: [la-housing]',
        all: true,
      },
    ]),
  );
}

/**
 * A party that no longer supplies the dataset leaves its loaded records in the store, and they
 * are no longer the agreement's to share: a lookup shows none of them
 * (test/api/former-source-records.test.ts). Nor may they reach the planning counts.
 */
describe('a planning export after a party stopped supplying the dataset', () => {
  let h: ImportHarness;
  let container: string;

  beforeAll(async () => {
    h = await createImportHarness();
    container = await h.exportContainer();
    await importEach(h, [
      ['la-housing', HOUSING],
      ['social-housing-providers', PROVIDER],
    ]);
    await linkPendingRecords(h.linkDeps());
  });
  afterAll(() => h?.close());

  it("counts nothing from the former source's records, and does not name its extract in the manifest", async () => {
    const [summary] = await exportCurated(
      h.exportDeps(container, {
        agreements: agreementsWithoutProviderSource(),
        now: () => new Date('2027-01-01T06:00:00.000Z'),
      }),
    );
    expect(summary).toMatchObject({ partyId: 'la-housing', outcome: 'written' });
    const read = async (name: string) =>
      (await h.blobs.getContainerClient(container).getBlobClient(name).downloadToBuffer()).toString('utf8');
    const cell = (lines: string[], measure: string, category: string) =>
      lines.find((line) => line.split(',')[2] === measure && line.split(',')[3] === category)!.split(',')[4]!;
    const lines = (await read(`${FOLDER}latest/${COUNTS_FILE}`)).split('\r\n');
    // Housing says no one of the 40 is in arrears: the 20 the providers' old extract said are
    // are not the agreement's to count.
    expect(cell(lines, 'inRentArrears', 'Y')).toBe('');
    expect(Math.abs(Number(cell(lines, 'inRentArrears', 'N')) - PEOPLE)).toBeLessThanOrEqual(6);
    const manifest = JSON.parse(await read(`${FOLDER}latest/${MANIFEST_FILE}`)) as {
      extractsAsOf: Record<string, string>;
    };
    expect(Object.keys(manifest.extractsAsOf)).toEqual(['la-housing']);
  });
});
