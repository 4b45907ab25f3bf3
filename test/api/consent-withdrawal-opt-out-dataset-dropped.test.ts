import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agreementsFolderWith,
  KEYWAYS_FRAUD_CHECK_OPT_OUT_APPLIES,
  keywaysAlsoSignedBy,
  renamedIn,
} from '../shared/agreements/agreement-files.js';
import { robinOptedOutByLaHousing } from '../support/records.js';
import {
  clientActivityLines,
  consentInForce,
  reasonCodesOf,
  restartTestHost,
  startTestHost,
  type TestHost,
  withdrawConsent,
} from '../support/test-host.js';

/**
 * A national data opt-out names no purpose: its withdrawal, which lets the person's records be
 * used for planning again, is decided under the agreement the person is held in, with the
 * X-Purpose a purpose of that agreement the opt-out applies to (audit-scope-shared-party.test.ts).
 * A re-signing can drop the dataset that holds the person (the ISA re-signed with its one dataset
 * under a new id): their records stay in the store, and so does the opt-out, and the store
 * remembers which agreement the dataset was (agreements/remembered-agreements.ts). The withdrawal is
 * still that agreement's to decide, for its DPOs to find: a DPO of another agreement the party
 * signed must not end it under that agreement's purpose, nor its DPO be given a reference to
 * the person.
 *
 * The re-signing is real: the opt-out is recorded over HTTP by a host on the agreements as they
 * are, which is stopped; a second host on the same store (and keys) starts on the re-signed files.
 */
describe('withdrawing an opt-out whose person is held in a dataset a re-signing dropped', () => {
  let t: TestHost;
  const LA_HOUSING = 'la-housing';
  const DROPPED = 'multiple-disadvantage-indicators';
  let from: string;
  let optOutId: string;

  // The ISA's housing service signs the Keyways DSA too, as its DPO, and the Keyways fraud check
  // is taken to be one the national data opt-out applies to: its DPO may write opt-outs under either.
  const bothAgreements = [keywaysAlsoSignedBy(LA_HOUSING, ['dpo']), KEYWAYS_FRAUD_CHECK_OPT_OUT_APPLIES];

  const withdraw = (purpose: string, roles = ['dpo']) =>
    withdrawConsent(t, optOutId, { party: LA_HOUSING, roles, purpose });
  const withdrawReasons = () => reasonCodesOf(t, LA_HOUSING, 'consent.withdraw');
  const inForce = () => consentInForce(t, optOutId);
  const withdrawalsSeenBy = (auditor: string) => clientActivityLines(t, LA_HOUSING, auditor, from, 'consent.withdraw');

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off', AGREEMENTS_DIR: agreementsFolderWith(bothAgreements) });
    from = new Date(Date.now() - 1000).toISOString();
    ({ optOutId } = await robinOptedOutByLaHousing(t, 'DPO/OPTOUT/9'));

    t = await restartTestHost(t, {
      LINTEL_DEMO_SEED: 'off',
      AGREEMENTS_DIR: agreementsFolderWith([...bothAgreements, renamedIn('isa', DROPPED, `${DROPPED}-2027`)]),
    });
    expect(t.host.services.agreements.dataset(DROPPED)).toBeUndefined();
    expect(t.host.services.agreements.formerAgreementOfDataset(DROPPED)).toBe('social-care-education-housing');
    expect(await inForce()).toBe(true);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("refuses it under another agreement's purpose, filed for the ISA's DPOs with the person and for no other", async () => {
    const underKeyways = await withdraw('fraud-prevention');
    expect(underKeyways.status, `log: ${(await withdrawReasons()).join(', ')}`).toBe(404);
    expect(underKeyways.body.type).toBe('urn:lintel:problem:consent-unknown');
    expect(await inForce()).toBe(true);
    expect(await withdrawalsSeenBy('la-childrens-social-care')).toEqual([
      'consent.withdraw fraud-prevention purpose-not-permitted 1',
    ]);
    expect(await withdrawalsSeenBy('kettering-borough-council')).toEqual([]);
  });

  it('refuses it to a role of the party that is not its DPO there', async () => {
    const asAnalyst = await withdraw('service-planning', ['analyst']);
    expect(asAnalyst.status).toBe(404);
    expect(await inForce()).toBe(true);
  });

  it("lets the party's DPO withdraw it under the ISA's purpose, filed for the ISA's DPOs", async () => {
    const underIsa = await withdraw('service-planning');
    expect(underIsa.status, `log: ${(await withdrawReasons()).join(', ')}`).toBe(200);
    expect(await inForce()).toBe(false);
    expect((await withdrawalsSeenBy('la-childrens-social-care')).at(-1)).toBe(
      'consent.withdraw service-planning opt-out-withdrawn 1',
    );
    expect(await withdrawalsSeenBy('kettering-borough-council')).toEqual([]);
  });
});
