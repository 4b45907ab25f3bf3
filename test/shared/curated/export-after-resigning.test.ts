import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgreementSet } from '../../../shared/agreements/agreement-set.js';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { COUNTS_FILE, exportCurated, MANIFEST_FILE } from '../../../shared/curated/curated-export.js';
import { linkPendingRecords } from '../../../shared/linkage/pending-links.js';
import { agreementsFolderWith } from '../agreements/agreement-files.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { importEach, nhs } from '../../support/linked-people.js';

const DATASET = 'multiple-disadvantage-indicators';
const FOLDER = `la-housing/service-planning/${DATASET}/`;
const PEOPLE = 40;
/** The people the providers' extract, loaded while they supplied both arrears flags, says are in arrears. */
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
 * The ISA re-signed with the social housing providers no longer supplying the indicators (they
 * stay a party, with their lookups): the dataset's `sources`, and the arrears fields', no longer
 * name them.
 */
function agreementsWithoutProviderSource(): AgreementSet {
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
 * The ISA re-signed with the social housing providers no longer supplying the rent arrears flag
 * (its `sources` name la-housing alone); they still supply the dataset, and the payment plan flag.
 */
function agreementsWithoutProviderArrearsFlag(): AgreementSet {
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
 * What a party loaded while it supplied the dataset, or a field of it, stays in the store after a
 * re-signing takes that away, and is no longer the agreement's to share: a lookup shows none of it
 * (test/api/former-source-records.test.ts, test/api/field-source-withdrawn.test.ts), nor may the
 * planning counts take it.
 */
describe('a planning export after a re-signing took a dataset, or one of its fields, from a party', () => {
  let h: ImportHarness;

  beforeAll(async () => {
    h = await createImportHarness();
    await importEach(h, [
      ['la-housing', HOUSING],
      ['social-housing-providers', PROVIDER],
    ]);
    await linkPendingRecords(h.linkDeps());
  });
  afterAll(() => h?.close());

  /** The counts and the manifest la-housing's export under `agreements` publishes. */
  async function exportUnder(agreements: AgreementSet) {
    const container = await h.exportContainer();
    const [summary] = (
      await exportCurated(h.exportDeps(container, { agreements, now: () => new Date('2027-01-01T06:00:00.000Z') }))
    ).summaries;
    expect(summary).toMatchObject({ partyId: 'la-housing', outcome: 'written' });
    const read = async (name: string) =>
      (await h.blobs.getContainerClient(container).getBlobClient(name).downloadToBuffer()).toString('utf8');
    const lines = (await read(`${FOLDER}latest/${COUNTS_FILE}`)).split('\r\n');
    const cell = (measure: string, category: string) =>
      lines.find((line) => line.split(',')[2] === measure && line.split(',')[3] === category)!.split(',')[4]!;
    const manifest = JSON.parse(await read(`${FOLDER}latest/${MANIFEST_FILE}`)) as {
      extractsAsOf: Record<string, string>;
    };
    return { cell, manifest };
  }

  it("counts nothing from a former source's records, and does not name its extract in the manifest", async () => {
    const { cell, manifest } = await exportUnder(agreementsWithoutProviderSource());
    // Housing says no one of the 40 is in arrears: the 20 the providers' old extract said are
    // are not the agreement's to count, nor are their payment plans.
    expect(cell('inRentArrears', 'Y')).toBe('');
    expect(Math.abs(Number(cell('inRentArrears', 'N')) - PEOPLE)).toBeLessThanOrEqual(6);
    expect(cell('arrearsPaymentPlanInPlace', 'Y')).toBe('');
    expect(Object.keys(manifest.extractsAsOf)).toEqual(['la-housing']);
  });

  it("does not count a provider's old values of a field taken from it, and still counts the fields it supplies now", async () => {
    const { cell } = await exportUnder(agreementsWithoutProviderArrearsFlag());
    // The 20 the providers' old values say are in arrears are not the agreement's to count.
    expect(cell('inRentArrears', 'Y')).toBe('');
    expect(Math.abs(Number(cell('inRentArrears', 'N')) - PEOPLE)).toBeLessThanOrEqual(6);
    // The providers still supply the payment plan flag: their 20 are counted.
    expect(Math.abs(Number(cell('arrearsPaymentPlanInPlace', 'Y')) - IN_ARREARS)).toBeLessThanOrEqual(6);
  });
});
