import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateUpn, isTemporaryUpn } from '../../../shared/domain/identifiers.js';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { importEach, personOf } from '../../support/linked-people.js';

const AGREEMENT = 'social-care-education-housing';

/** A fixed draw, so the UPNs are the same every run. */
const upn = (temporary: boolean) => generateUpn(() => 0.37, { laNumber: '886', temporary });
const TEMPORARY = upn(true);
const PERMANENT = upn(false);

/**
 * A school gives a pupil whose permanent UPN it does not know a temporary one (ending in a
 * letter), and the DfE's temporary UPNs are reissued: education and children's social care each
 * hold a child under the same temporary UPN, Amy Hart and Ben Cole, two children with nothing else
 * in common. The ISA's matching method 1 (UPN) would join them, and each one's officer would see
 * the other child's records. Cara, under one permanent UPN and another family name in each, is
 * that method working.
 */
describe('a temporary UPN', () => {
  let h: ImportHarness;
  beforeEach(async () => {
    h = await createImportHarness();
  });
  afterEach(async () => h?.close());

  it('links no two children, while a permanent UPN still does', async () => {
    expect(isTemporaryUpn(TEMPORARY) && !isTemporaryUpn(PERMANENT)).toBe(true);
    await importEach(h, [
      [
        'la-education',
        [
          'firstName,lastName,dateOfBirth,homePostcode,uniquePupilNumber,educationSystemId,ehcp',
          `Amy,Hart,2015-03-04,ME1 1AA,${TEMPORARY},ED-1,N`,
          `Cara,Lane,2013-01-01,ME3 3DD,${PERMANENT},ED-2,N`,
        ],
      ],
      [
        'la-childrens-social-care',
        [
          'firstName,lastName,dateOfBirth,homePostcode,uniquePupilNumber,socialCareSystemId,childProtection',
          `Ben,Cole,2014-09-10,ME2 2BB,${TEMPORARY.toLowerCase()},SC-1,N`,
          `Cara,Hughes,2013-01-01,ME4 4DD,${PERMANENT},SC-2,N`,
        ],
      ],
    ]);
    await linkPeople(h.linkDeps(), AGREEMENT, 'full');
    expect(await personOf(h, 'la-education', 'AMY')).not.toBe(await personOf(h, 'la-childrens-social-care', 'BEN'));
    expect(await personOf(h, 'la-education', 'CARA')).toBe(await personOf(h, 'la-childrens-social-care', 'CARA'));
  });

  it('nor does a placeholder UPN, twelve identical digits that pass the check', async () => {
    await importEach(h, [
      [
        'la-education',
        [
          'firstName,lastName,dateOfBirth,homePostcode,uniquePupilNumber,educationSystemId,ehcp',
          'Dan,Hart,2015-03-04,ME1 1AA,A000000000000,ED-1,N',
        ],
      ],
      [
        'la-childrens-social-care',
        [
          'firstName,lastName,dateOfBirth,homePostcode,uniquePupilNumber,socialCareSystemId,childProtection',
          'Eve,Cole,2014-09-10,ME2 2BB,A000000000000,SC-1,N',
        ],
      ],
    ]);
    await linkPeople(h.linkDeps(), AGREEMENT, 'full');
    expect(await personOf(h, 'la-education', 'DAN')).not.toBe(await personOf(h, 'la-childrens-social-care', 'EVE'));
  });
});
