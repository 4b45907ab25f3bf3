import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople, type LinkRunSummary } from '../../../shared/linkage/link-people.js';
import { linkAfterImport } from '../../../shared/linkage/pending-links.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { nhs, personOf } from '../../support/linked-people.js';

/**
 * After a rotation of `pseudonymisation-key`, and until their sources re-send them, records keep
 * their identifiers' hashes under the old key version, and a pass compares two such hashes as
 * ever: one NHS number is one person (hard-identifiers.ts). The join on a key read only the first
 * 32 characters of each value, and an old version's value begins with the version itself, 32
 * characters in Key Vault as in the local secret file: every old-version NHS number of a source
 * looked like every other, the key was "held by several records", and no pair linked by it. A
 * full pass right after the rotation (or a review pass, which decides every pair of sources
 * again) split every person whom only an identifier held together, detaching their consents.
 */

const DATASET = 'multiple-disadvantage-indicators';
const AGREEMENT = 'social-care-education-housing';

/** Two children each known to both parties by NHS number alone: names and addresses differ. */
const housing = [
  'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inTemporaryAccommodation',
  `Sam,Khan,2012-03-04,ME14 1XX,${nhs(100)},Y`,
  `Ada,Lowe,2013-05-06,ME15 2YY,${nhs(200)},Y`,
];
const socialCare = [
  'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection',
  `Samir,Khan-Ali,2012-03-04,ME20 9AA,${nhs(100)},SC-1,Y`,
  `Adaeze,Okafor,2013-05-06,ME3 3AB,${nhs(200)},SC-2,N`,
];

describe('identifier links across a rotation of the pseudonymisation key', () => {
  let h: ImportHarness;
  const people = async () => [
    [await personOf(h, 'la-housing', 'SAM'), await personOf(h, 'la-childrens-social-care', 'SAMIR')],
    [await personOf(h, 'la-housing', 'ADA'), await personOf(h, 'la-childrens-social-care', 'ADAEZE')],
  ];
  let before: string[][] = [];

  beforeAll(async () => {
    h = await createImportHarness();
    for (const [party, lines] of [
      ['la-housing', housing],
      ['la-childrens-social-care', socialCare],
    ] as const) {
      const outcome = await h.importFile(`${party}/${DATASET}/a.csv`, lines.join('\n'));
      expect(outcome.outcome).toBe('loaded');
      await linkAfterImport(h.linkDeps(), (outcome as { runId: string }).runId);
    }
    before = await people();
    for (const [a, b] of before) expect(a).toBe(b);
    h.secrets.rotate('pseudonymisation-key');
  });
  afterAll(async () => h.close());

  it('keeps each person whole through a full pass while no source has re-sent', async () => {
    const summary: LinkRunSummary = await linkPeople(h.linkDeps(), AGREEMENT, 'full');
    // Four NHS numbers and two social care ids, all under the old version.
    expect(summary.otherKeyVersionIdentifiers).toBe(6);
    expect(summary.linksByTier).toEqual({ 1: 2 });
    expect(summary.personIdsChanged).toBe(0);
    expect(await people()).toEqual(before);
  });
});
