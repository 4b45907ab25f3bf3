import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { matchingKeysNamingNoOne } from '../../../shared/store/migrations/0053-matching-keys-naming-no-one.js';
import { createImportHarness, storedRecords, type ImportHarness } from '../imports/import-harness.js';
import { importEach, personOf } from '../../support/linked-people.js';

const DATASET = 'multiple-disadvantage-indicators';
const AGREEMENT = 'social-care-education-housing';

/**
 * A service family's address abroad ends in a BFPO number (or its BF1 postcode), which names a
 * posting that hundreds of unrelated people share. Housing and children's social care each hold
 * a John Smith at BFPO 61, and a Tom Ward at BF1 4FB, born a day apart: two people each as far as
 * anyone can tell, whom a shared real postcode would join at the ISA's matching method 4
 * (postcode + last name + first three letters; a day apart is no clear difference of date).
 * Mary Green, a day apart at one real postcode, is that method working.
 */
const extracts = [
  [
    'la-housing',
    [
      'firstName,lastName,dateOfBirth,homeAddress,homePostcode,inTemporaryAccommodation',
      'John,Smith,1975-06-01,"HQ Company, 1 Loamshire Regt",BFPO 61,Y',
      'Tom,Ward,1982-03-04,"Mess, RAF Example",BF1 4FB,Y',
      'Mary,Green,1980-05-06,"4 Elm Road, Maidstone",ME15 2YY,Y',
    ],
  ],
  [
    'la-childrens-social-care',
    [
      'firstName,lastName,dateOfBirth,homePostcode,childProtection',
      'John,Smith,1975-06-02,bfpo61,N',
      'Tom,Ward,1982-03-05,bf14fb,N',
      'Mary,Green,1980-05-07,ME15 2YY,N',
    ],
  ],
] as const;

describe('people at a forces postcode (BFPO 61, BF1 4FB)', () => {
  let h: ImportHarness;
  beforeEach(async () => {
    h = await createImportHarness();
  });
  afterEach(async () => h?.close());

  it('load with the postcode kept to show, and are never linked by it: two John Smiths of one unit stay two people', async () => {
    await importEach(h, extracts);
    const [john, tom] = await storedRecords(h.store, 'la-housing', DATASET);
    expect(john?.attributes).toMatchObject({ homePostcode: 'BFPO 61' });
    expect(tom?.attributes).toMatchObject({ homePostcode: 'BF1 4FB' });
    await linkPeople(h.linkDeps(), AGREEMENT, 'full');
    expect(await personOf(h, 'la-housing', 'MARY')).toBe(await personOf(h, 'la-childrens-social-care', 'MARY'));
    expect(await personOf(h, 'la-housing', 'JOHN')).not.toBe(await personOf(h, 'la-childrens-social-care', 'JOHN'));
    expect(await personOf(h, 'la-housing', 'TOM')).not.toBe(await personOf(h, 'la-childrens-social-care', 'TOM'));
  });

  it('links no one by it where a load before this rule kept it to match on', async () => {
    await importEach(h, extracts);
    // As a load before the rule stored the BFPO number as the matching postcode.
    await h.store.db
      .updateTable('source_record')
      .set({ postcode: 'BFPO 61' })
      .where('family_name', '=', 'SMITH')
      .execute();
    // What the release that brought the rule does to such a store before anything reads it.
    await matchingKeysNamingNoOne(h.store.dialect).up(h.store.db);
    await linkPeople(h.linkDeps(), AGREEMENT, 'full');
    expect(await personOf(h, 'la-housing', 'JOHN')).not.toBe(await personOf(h, 'la-childrens-social-care', 'JOHN'));
    expect(await personOf(h, 'la-housing', 'MARY')).toBe(await personOf(h, 'la-childrens-social-care', 'MARY'));
  });
});
