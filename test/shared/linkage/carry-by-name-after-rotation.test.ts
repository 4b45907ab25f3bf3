import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { nhs, recordOf } from '../../support/linked-people.js';

/**
 * As carry-by-name-elsewhere.test.ts, with a rotation of the pseudonymisation key between
 * housing's two snapshots: social care's NHS number is hashed under the old key, housing's new
 * record's under the new one. The two cannot be compared, so the namesake is not carried into the
 * person by name (found by a review: the check compared only hashes under one key version, and
 * after a rotation the namesake took the person's id, and their consent, at load).
 */
const DATASET = 'multiple-disadvantage-indicators';
const AGREEMENT = 'social-care-education-housing';
const NHS_CARE = nhs(910);
const NHS_OTHER = nhs(920);
const T = new Date('2026-03-02T09:00:00.000Z');
const officer = { partyId: 'dudley-housing-options', clientId: 'officer-client' };

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

describe('a record carried at import by its names, after a key rotation', () => {
  let h: ImportHarness;
  let consents: StoreConsentRegister;

  beforeAll(async () => {
    h = await createImportHarness();
    consents = new StoreConsentRegister(h.store);
    expect((await h.importFile(`la-housing/${DATASET}/a.csv`, housingFirst)).outcome).toBe('loaded');
    expect((await h.importFile(`la-childrens-social-care/${DATASET}/a.csv`, socialCare)).outcome).toBe('loaded');
    await linkPeople(h.linkDeps(), AGREEMENT, 'full');
    const care = await recordOf(h, 'la-childrens-social-care', 'JONATHAN');
    expect((await recordOf(h, 'la-housing', 'JONATHAN')).person_id).toBe(care.person_id);
  });
  afterAll(async () => h.close());

  it("does not give the namesake the person's id, nor their consent, at load", async () => {
    const care = (await recordOf(h, 'la-childrens-social-care', 'JONATHAN')).person_id!;
    await consents.record({
      subjectKey: care,
      kind: 'consent',
      purposeId: 'research-evaluation',
      evidenceRef: 'form-jonathan',
      by: officer,
      at: T,
    });
    h.secrets.rotate('pseudonymisation-key');
    expect((await h.importFile(`la-housing/${DATASET}/b.csv`, housingNext)).outcome).toBe('loaded');
    const housing = await recordOf(h, 'la-housing', 'JONATHAN');
    expect(
      housing.person_id,
      "housing's Jonathan (another NHS number) was carried into social care's Jonathan's person",
    ).not.toBe(care);
    expect(
      housing.person_id !== null && (await consents.currentConsent(housing.person_id, 'research-evaluation', T)),
      "the namesake holds the consent social care's Jonathan's person gave",
    ).toBe(false);
  });
});
