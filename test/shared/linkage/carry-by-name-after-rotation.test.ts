import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import {
  importEach,
  jonathanLinkedByNames,
  nhs,
  recordOf,
  sendHousingJonathanWithNhs,
} from '../../support/linked-people.js';

/**
 * As carry-by-name-elsewhere.test.ts, with a rotation of the pseudonymisation key between
 * housing's two snapshots: social care's NHS number is hashed under the old key, housing's new
 * record's under the new one. The two cannot be compared, so the namesake is not carried into the
 * person by name (found by a review: the check compared only hashes under one key version, and
 * after a rotation the namesake took the person's id, and their consent, at load).
 */
const AGREEMENT = 'social-care-education-housing';
const NHS_CARE = nhs(910);
const NHS_OTHER = nhs(920);
const T = new Date('2026-03-02T09:00:00.000Z');
const officer = { partyId: 'dudley-housing-options', clientId: 'officer-client' };

describe('a record carried at import by its names, after a key rotation', () => {
  let h: ImportHarness;
  let consents: StoreConsentRegister;

  beforeAll(async () => {
    h = await createImportHarness();
    consents = new StoreConsentRegister(h.store);
    await importEach(h, jonathanLinkedByNames(NHS_CARE));
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
    await sendHousingJonathanWithNhs(h, NHS_OTHER);
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
