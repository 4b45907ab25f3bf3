import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { createImportHarness, storedRecords, type ImportHarness } from '../imports/import-harness.js';
import { importEach, personOf } from '../../support/linked-people.js';

const DATASET = 'multiple-disadvantage-indicators';
const AGREEMENT = 'social-care-education-housing';

/**
 * NHS and social care systems record a person of no fixed abode at the pseudo-postcode ZZ99 3VZ.
 * Housing and children's social care each hold a John Smith there, born a day apart: two people
 * as far as anyone can tell, whom a shared real postcode would join at the ISA's matching method
 * 4 (postcode + last name + first three letters; a day apart is no clear difference of date).
 * Mary Green, a day apart at one real postcode, is that method working.
 */
const extracts = [
  [
    'la-housing',
    [
      'firstName,lastName,dateOfBirth,homeAddress,homePostcode,inTemporaryAccommodation',
      'John,Smith,1975-06-01,No fixed abode,ZZ99 3VZ,Y',
      'Mary,Green,1980-05-06,"4 Elm Road, Maidstone",ME15 2YY,Y',
    ],
  ],
  [
    'la-childrens-social-care',
    [
      'firstName,lastName,dateOfBirth,homePostcode,childProtection',
      'John,Smith,1975-06-02,zz993vz,N',
      'Mary,Green,1980-05-07,ME15 2YY,N',
    ],
  ],
] as const;

describe('people of no fixed abode (pseudo-postcode ZZ99 3VZ)', () => {
  let h: ImportHarness;
  beforeEach(async () => {
    h = await createImportHarness();
  });
  afterEach(async () => h?.close());

  it('load, the pseudo-postcode kept as the source wrote it for display, none kept to match on', async () => {
    await importEach(h, extracts);
    const [john, mary] = await storedRecords(h.store, 'la-housing', DATASET);
    expect(john?.attributes).toMatchObject({ homePostcode: 'ZZ99 3VZ', homeAddress: 'No fixed abode' });
    expect(john?.postcode).toBeNull();
    expect(mary?.postcode).toBe('ME15 2YY');
    const [socialCareJohn] = await storedRecords(h.store, 'la-childrens-social-care', DATASET);
    expect(socialCareJohn?.attributes).toMatchObject({ homePostcode: 'ZZ99 3VZ' });
    expect(socialCareJohn?.postcode).toBeNull();
  });

  it('are never linked by it: two John Smiths of no fixed abode stay two people', async () => {
    await importEach(h, extracts);
    await linkPeople(h.linkDeps(), AGREEMENT, 'full');
    expect(await personOf(h, 'la-housing', 'MARY')).toBe(await personOf(h, 'la-childrens-social-care', 'MARY'));
    expect(await personOf(h, 'la-housing', 'JOHN')).not.toBe(await personOf(h, 'la-childrens-social-care', 'JOHN'));
  });
});

/**
 * An overseas visitor's postcode of usual address is the pseudo-postcode of their country: ZZ99,
 * then a digit, a letter and Z (NHS Data Dictionary; ZZ99 6CZ is India). It places no one either:
 * two John Smiths living somewhere in India are no more one person than any two John Smiths.
 */
const abroad = extracts.map(
  ([party, lines]) =>
    [party, lines.map((line) => line.replace('ZZ99 3VZ', 'ZZ99 6CZ').replace('zz993vz', 'zz996cz'))] as const,
);

describe('people living abroad (a country pseudo-postcode, ZZ99 6CZ)', () => {
  let h: ImportHarness;
  beforeEach(async () => {
    h = await createImportHarness();
  });
  afterEach(async () => h?.close());

  it('load, kept for display, none kept to match on, and are never linked by it', async () => {
    await importEach(h, abroad);
    const [john] = await storedRecords(h.store, 'la-housing', DATASET);
    expect(john?.attributes).toMatchObject({ homePostcode: 'ZZ99 6CZ' });
    expect(john?.postcode).toBeNull();
    const [socialCareJohn] = await storedRecords(h.store, 'la-childrens-social-care', DATASET);
    expect(socialCareJohn?.attributes).toMatchObject({ homePostcode: 'ZZ99 6CZ' });
    expect(socialCareJohn?.postcode).toBeNull();
    await linkPeople(h.linkDeps(), AGREEMENT, 'full');
    expect(await personOf(h, 'la-housing', 'MARY')).toBe(await personOf(h, 'la-childrens-social-care', 'MARY'));
    expect(await personOf(h, 'la-housing', 'JOHN')).not.toBe(await personOf(h, 'la-childrens-social-care', 'JOHN'));
  });
});
