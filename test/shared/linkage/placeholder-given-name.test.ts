import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { matchingKeysNamingNoOne } from '../../../shared/store/migrations/0053-matching-keys-naming-no-one.js';
import { createImportHarness, storedRecords, type ImportHarness } from '../imports/import-harness.js';
import { importEach, personOf } from '../../support/linked-people.js';

const DATASET = 'multiple-disadvantage-indicators';
const AGREEMENT = 'social-care-education-housing';

/**
 * A newborn is registered before naming as "Baby" and the family name. Housing holds one Baby
 * Smith, children's social care another, born the same day (twins, or two unrelated Smiths) and
 * at different addresses: the ISA's matching method 3 (date of birth + last name + first three
 * letters of first name) would read "BAB" as their shared given name and join them, and each
 * one's officer would see the other baby's records. So for "Unknown". Mary Green, the same date
 * and names in both, is that method working.
 */
const extracts = [
  [
    'la-housing',
    [
      'firstName,lastName,dateOfBirth,homePostcode,inTemporaryAccommodation',
      'Baby,Smith,2025-11-20,ME1 1AA,Y',
      'Unknown,Jones,1990-02-03,ME2 2BB,Y',
      'Mary,Green,1980-05-06,ME15 2YY,Y',
    ],
  ],
  [
    'la-childrens-social-care',
    [
      'firstName,lastName,dateOfBirth,homePostcode,childProtection',
      'Baby,Smith,2025-11-20,ME9 9ZZ,Y',
      'unknown,Jones,1990-02-03,ME8 8DD,N',
      'Mary,Green,1980-05-06,ME4 4DD,N',
    ],
  ],
] as const;

/** The person id the party's record of a family name holds. */
async function personByFamilyName(h: ImportHarness, party: string, family: string): Promise<string | null> {
  const row = await h.store.db
    .selectFrom('source_record')
    .select('person_id')
    .where('party_id', '=', party)
    .where('family_name', '=', family)
    .executeTakeFirstOrThrow();
  return row.person_id;
}

describe('a placeholder given name ("Baby", "Unknown")', () => {
  let h: ImportHarness;
  beforeEach(async () => {
    h = await createImportHarness();
  });
  afterEach(async () => h?.close());

  it('is kept to show and links no one: two Baby Smiths born one day stay two people', async () => {
    await importEach(h, extracts);
    const [baby] = await storedRecords(h.store, 'la-housing', DATASET);
    expect(baby?.attributes).toMatchObject({ firstName: 'Baby', lastName: 'Smith' });
    await linkPeople(h.linkDeps(), AGREEMENT, 'full');
    expect(await personOf(h, 'la-housing', 'MARY')).toBe(await personOf(h, 'la-childrens-social-care', 'MARY'));
    for (const family of ['SMITH', 'JONES']) {
      const housing = await personByFamilyName(h, 'la-housing', family);
      expect(housing).toBeTruthy();
      expect(housing).not.toBe(await personByFamilyName(h, 'la-childrens-social-care', family));
    }
  });

  it('links no one where a load before this rule kept it to match on', async () => {
    await importEach(h, extracts);
    // As a load before the rule stored a placeholder: the name and its first three letters.
    await h.store.db
      .updateTable('source_record')
      .set({ given_name: 'BABY', first3: 'BAB' })
      .where('family_name', '=', 'SMITH')
      .execute();
    // What the release that brought the rule does to such a store before anything reads it.
    await matchingKeysNamingNoOne(h.store.dialect).up(h.store.db);
    await linkPeople(h.linkDeps(), AGREEMENT, 'full');
    expect(await personByFamilyName(h, 'la-housing', 'SMITH')).not.toBe(
      await personByFamilyName(h, 'la-childrens-social-care', 'SMITH'),
    );
    expect(await personOf(h, 'la-housing', 'MARY')).toBe(await personOf(h, 'la-childrens-social-care', 'MARY'));
  });
});
