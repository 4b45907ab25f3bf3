import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import {
  importEach,
  jonathanLinkedByNames,
  nhs,
  recordOf,
  sendHousingJonathanWithNhs,
} from '../../support/linked-people.js';

const AGREEMENT = 'social-care-education-housing';
const NHS_CARE = nhs(710);
const NHS_OTHER = nhs(720);

describe('a record carried at import by its names to a person whose NHS number (held by another source) differs', () => {
  let h: ImportHarness;
  const deps = () => h.linkDeps();

  beforeAll(async () => {
    h = await createImportHarness();
    await importEach(h, jonathanLinkedByNames(NHS_CARE));
    await linkPeople(deps(), AGREEMENT, 'full');
    const care = await recordOf(h, 'la-childrens-social-care', 'JONATHAN');
    expect((await recordOf(h, 'la-housing', 'JONATHAN')).person_id).toBe(care.person_id);
  });
  afterAll(async () => h.close());

  it('does not take that person at load (README: "none contradicts that person")', async () => {
    const care = await recordOf(h, 'la-childrens-social-care', 'JONATHAN');
    await sendHousingJonathanWithNhs(h, NHS_OTHER);
    // Before the linking pass: lookups already see the carried id.
    const housing = await recordOf(h, 'la-housing', 'JONATHAN');
    expect(
      housing.person_id,
      "housing's Jonathan (another NHS number) was carried into social care's Jonathan's person",
    ).not.toBe(care.person_id);
  });
});
