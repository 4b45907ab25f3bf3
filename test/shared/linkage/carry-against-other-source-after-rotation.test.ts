import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { nhs, personOf, recordOf } from '../../support/linked-people.js';

/**
 * Kim is known to Housing by her NHS number; social care's record of her held none and joined her
 * by date of birth and names. The key is rotated between social care's snapshot and Housing's, so
 * Housing's NHS number is stored under the new key and social care's previous snapshot under the
 * old one. Social care's next snapshot gives the record an NHS number other than Housing's (its
 * system id unchanged): as without a rotation (search-after-carry-against-other-source.test.ts),
 * the import must not carry it into Kim, as the linking pass would split the two and give
 * Housing's unchanged record a new id. Compared only under the previous snapshot's key, Housing's
 * NHS number under the new key went unread, and the record was carried into Kim.
 */
describe("a re-sent record contradicted by another party's record stored under a newer key", () => {
  let h: ImportHarness;
  const DATASET = 'multiple-disadvantage-indicators';
  const CARE = 'la-childrens-social-care';
  const CARE_HEAD = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection';
  const HOUSING_HEAD = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears,inTemporaryAccommodation';
  const KIM = nhs(86420);
  const OTHER = nhs(86402);

  beforeAll(async () => {
    h = await createImportHarness();
  });
  afterAll(async () => h?.close());

  it('does not carry the record into Kim, whose Housing record holds another NHS number', async () => {
    await h.importAndLink(
      `${CARE}/${DATASET}/extract-2026-03-01.csv`,
      [CARE_HEAD, 'Kim,Ford,2011-02-03,ME1 1AA,,SC-7,Y'].join('\n'),
    );
    h.secrets.rotate('pseudonymisation-key');
    await h.importAndLink(
      `la-housing/${DATASET}/extract-2026-03-02.csv`,
      [HOUSING_HEAD, `Kim,Ford,2011-02-03,ME1 1AA,${KIM},Y,Y`].join('\n'),
    );
    const kim = await personOf(h, 'la-housing', 'KIM');
    expect(await personOf(h, CARE, 'KIM'), 'social care joined Kim by date of birth and names').toBe(kim);

    const resent = await h.importFile(
      `${CARE}/${DATASET}/extract-2026-04-01.csv`,
      [CARE_HEAD, `Kim,Ford,2011-02-03,ME1 1AA,${OTHER},SC-7,Y`].join('\n'),
    );

    expect(resent.outcome).toBe('loaded');
    expect(await recordOf(h, CARE, 'KIM')).toEqual({ person_id: null, carried_person_id: null });
  });
});
