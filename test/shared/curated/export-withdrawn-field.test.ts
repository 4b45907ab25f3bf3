import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { COUNTS_FILE, exportCurated } from '../../../shared/curated/curated-export.js';
import { linkPendingRecords } from '../../../shared/linkage/pending-links.js';
import { agreementsFolderWith } from '../agreements/agreement-files.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { importEach, nhs } from '../../support/linked-people.js';

const DATASET = 'multiple-disadvantage-indicators';
const FOLDER = `la-housing/service-planning/${DATASET}/`;
const PEOPLE = 40;
/** The people the providers' extract, loaded while they supplied the arrears flag, says are in arrears. */
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
  'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears,arrearsPaymentPlanInPlace',
  ...Array.from({ length: IN_ARREARS }, (_, i) =>
    ['Alex', family(i), '2010-01-01', 'ME14 1XX', nhs(700 + i), 'Y', 'Y'].join(','),
  ),
];

/**
 * The ISA re-signed with the social housing providers no longer supplying the rent arrears flag
 * (its `sources` name la-housing alone); they still supply the dataset, and the payment plan flag.
 */
function agreementsWithoutProviderArrearsFlag() {
  return loadAgreements(
    agreementsFolderWith([
      {
        agreement: 'isa',
        from: 'sources: [la-housing, social-housing-providers]\n        description: Is in Rent Arrears',
        to: 'sources: [la-housing]\n        description: Is in Rent Arrears',
      },
    ]),
  );
}

/**
 * A lookup shows a stored value only if the record's party may supply that field now
 * (test/api/field-source-withdrawn.test.ts); nor may the planning counts take any other.
 */
describe('a planning export after a party stopped supplying one field of the dataset', () => {
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

  it("does not count the provider's old values of the field, and still counts the fields it supplies now", async () => {
    const [summary] = await exportCurated(
      h.exportDeps(container, {
        agreements: agreementsWithoutProviderArrearsFlag(),
        now: () => new Date('2027-01-01T06:00:00.000Z'),
      }),
    );
    expect(summary).toMatchObject({ partyId: 'la-housing', outcome: 'written' });
    const read = async (name: string) =>
      (await h.blobs.getContainerClient(container).getBlobClient(name).downloadToBuffer()).toString('utf8');
    const cell = (lines: string[], measure: string, category: string) =>
      lines.find((line) => line.split(',')[2] === measure && line.split(',')[3] === category)!.split(',')[4]!;
    const lines = (await read(`${FOLDER}latest/${COUNTS_FILE}`)).split('\r\n');
    // Housing says no one of the 40 is in arrears: the 20 the providers' old values say are are
    // not the agreement's to count.
    expect(cell(lines, 'inRentArrears', 'Y')).toBe('');
    expect(Math.abs(Number(cell(lines, 'inRentArrears', 'N')) - PEOPLE)).toBeLessThanOrEqual(6);
    // The providers still supply the payment plan flag: their 20 are counted.
    expect(Math.abs(Number(cell(lines, 'arrearsPaymentPlanInPlace', 'Y')) - IN_ARREARS)).toBeLessThanOrEqual(6);
  });
});
