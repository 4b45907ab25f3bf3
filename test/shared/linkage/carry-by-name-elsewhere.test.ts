import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { nhs, recordOf } from '../../support/linked-people.js';

const DATASET = 'multiple-disadvantage-indicators';
const AGREEMENT = 'social-care-education-housing';
const NHS_CARE = nhs(710);
const NHS_OTHER = nhs(720);

// Housing's first snapshot holds Jonathan Smyth without an NHS number; social care's Jonathan
// Smyth (same date of birth) holds NHS_CARE, and the two are linked (tier 3) into one person.
// Housing's next snapshot holds a Jonathan Smyth of that date of birth with another NHS number.
const housingFirst = [
  'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears',
  'Jonathan,Smyth,2012-03-04,ME14 1XX,,Y',
  'Mary,Green,1980-05-06,ME15 2YY,,N',
].join('\n');
const socialCare = [
  'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,childProtection',
  `Jonathan,Smyth,2012-03-04,ME14 1XX,${NHS_CARE},Y`,
].join('\n');
const housingNext = [
  'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears',
  `Jonathan,Smyth,2012-03-04,ME14 1XX,${NHS_OTHER},Y`,
  'Mary,Green,1980-05-06,ME15 2YY,,Y',
].join('\n');

describe('a record carried at import by its names to a person whose NHS number (held by another source) differs', () => {
  let h: ImportHarness;
  const deps = () => h.linkDeps();

  beforeAll(async () => {
    h = await createImportHarness();
    expect((await h.importFile(`la-housing/${DATASET}/a.csv`, housingFirst)).outcome).toBe('loaded');
    expect((await h.importFile(`la-childrens-social-care/${DATASET}/a.csv`, socialCare)).outcome).toBe('loaded');
    await linkPeople(deps(), AGREEMENT, 'full');
    const care = await recordOf(h, 'la-childrens-social-care', 'JONATHAN');
    expect((await recordOf(h, 'la-housing', 'JONATHAN')).person_id).toBe(care.person_id);
  });
  afterAll(async () => h.close());

  it('does not take that person at load (README: "none contradicts that person")', async () => {
    const care = await recordOf(h, 'la-childrens-social-care', 'JONATHAN');
    expect((await h.importFile(`la-housing/${DATASET}/b.csv`, housingNext)).outcome).toBe('loaded');
    // Before the linking pass: lookups already see the carried id.
    const housing = await recordOf(h, 'la-housing', 'JONATHAN');
    expect(
      housing.person_id,
      "housing's Jonathan (another NHS number) was carried into social care's Jonathan's person",
    ).not.toBe(care.person_id);
  });
});
