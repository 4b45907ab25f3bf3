import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { linkAfterImport } from '../../../shared/linkage/pending-links.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { nhs, personOf } from '../../support/linked-people.js';

const DATASET = 'multiple-disadvantage-indicators';
const AGREEMENT = 'social-care-education-housing';

/** Two children with the same names and date of birth, told apart only by their NHS numbers. */
const housing = [
  'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inTemporaryAccommodation',
  `Sam,Khan,2012-03-04,ME14 1XX,${nhs(100)},Y`,
];
const socialCare = [
  'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection',
  `Sam,Khan,2012-03-04,ME20 9AA,${nhs(200)},SC-1,Y`,
];

describe('the hard-identifier guard across a rotation of the pseudonymisation key', () => {
  let h: ImportHarness;
  const apart = async () =>
    expect(await personOf(h, 'la-housing', 'SAM')).not.toBe(await personOf(h, 'la-childrens-social-care', 'SAM'));

  beforeAll(async () => {
    h = await createImportHarness();
    for (const [party, lines] of [
      ['la-housing', housing],
      ['la-childrens-social-care', socialCare],
    ] as const) {
      expect((await h.importFile(`${party}/${DATASET}/a.csv`, lines.join('\n'))).outcome).toBe('loaded');
    }
    await linkPeople(h.linkDeps(), AGREEMENT, 'full');
    await apart();
    h.secrets.rotate('pseudonymisation-key');
  });
  afterAll(async () => h.close());

  it('holds while no source has re-sent: both NHS numbers are under the old key, and still differ', async () => {
    const summary = await linkPeople(h.linkDeps(), AGREEMENT, 'full');
    expect(summary.otherKeyVersionIdentifiers).toBe(3);
    await apart();
  });

  it('holds once one source re-sends under the new key: the NHS numbers cannot be compared, so names do not link', async () => {
    const outcome = await h.importFile(
      `la-housing/${DATASET}/b.csv`,
      [...housing, 'Amy,Lee,1990-01-01,ME1 1AA,,N'].join('\n'),
    );
    expect(outcome.outcome).toBe('loaded');
    const summary = await linkAfterImport(h.linkDeps(), (outcome as { runId: string }).runId);
    expect(summary!.otherKeyVersionIdentifiers).toBeGreaterThan(0);
    expect(summary!.linksByTier[3] ?? 0).toBe(0);
    await apart();
    await linkPeople(h.linkDeps(), AGREEMENT, 'full');
    await apart();
  });
});
