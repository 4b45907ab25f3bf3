import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith } from '../shared/agreements/agreement-files.js';
import { ROBIN, robinOptedOutByLaHousing } from '../support/records.js';
import {
  callApi,
  clientActivityLines,
  consentInForce,
  reasonCodesOf,
  restartTestHost,
  startTestHost,
  type TestHost,
  withdrawConsent,
} from '../support/test-host.js';

/**
 * The ISA is re-signed, its new version in force from a date still to come. Till then no lookup
 * or export is made under it (policy/decide.ts). A person who opted out under the version signed
 * before asks the housing service's DPO to withdraw their opt-out: the DPO records it now, as a
 * consent recorded under the version before is withdrawn before the new one's date
 * (consent-withdrawal-rights.test.ts). Nothing is released by it before the date: the lookups
 * the date holds back stay held back. The opt-out's withdrawal had been refused as the agreement
 * not yet in force, and answered as an unknown id, so the DPO could only ask the person to come
 * back after the date.
 *
 * The re-signing is real: the opt-out is recorded over HTTP by a host on the agreements as they
 * are, which is stopped; a second host on the same store (and keys) starts on the re-signed file.
 */
describe('withdrawing an opt-out before a re-signed agreement is in force', () => {
  let t: TestHost;
  const LA_HOUSING = 'la-housing';
  let from: string;
  let optOutId: string;

  const withdraw = (roles: string[]) =>
    withdrawConsent(t, optOutId, { party: LA_HOUSING, roles, purpose: 'service-planning' });
  const withdrawReasons = () => reasonCodesOf(t, LA_HOUSING, 'consent.withdraw');
  const inForce = () => consentInForce(t, optOutId);

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    from = new Date(Date.now() - 1000).toISOString();
    ({ optOutId } = await robinOptedOutByLaHousing(t, 'DPO/OPTOUT/41'));
    t = await restartTestHost(t, {
      LINTEL_DEMO_SEED: 'off',
      AGREEMENTS_DIR: agreementsFolderWith([
        { agreement: 'isa', from: "version: '1.2.0'", to: "version: '1.3.0'" },
        { agreement: 'isa', from: 'effectiveDate: null\n', to: "effectiveDate: '2099-01-01'\n" },
      ]),
    });
    expect(t.host.services.agreements.agreement('social-care-education-housing')?.agreement.effectiveDate).toBe(
      '2099-01-01',
    );
    expect(await inForce()).toBe(true);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('still refuses a role of the party that is not its DPO, and every lookup under the agreement', async () => {
    const byAnalyst = await withdraw(['analyst']);
    expect(byAnalyst.status).toBe(404);
    const lookup = await callApi(t, '/v1/people/search', {
      party: LA_HOUSING,
      roles: ['housing-officer', 'senior-officer'],
      purpose: 'homelessness-prevention',
      body: ROBIN,
    });
    expect(lookup.status, lookup.text).toBe(403);
    expect(await inForce()).toBe(true);
  });

  it("lets the recording party's DPO withdraw it, filed for the agreement's DPOs", async () => {
    const before = await withdrawReasons();
    const byDpo = await withdraw(['dpo']);
    expect(byDpo.status, `log: ${(await withdrawReasons()).join(', ')}`).toBe(200);
    expect(byDpo.body).toMatchObject({ consentId: optOutId, kind: 'opt-out', withdrawnAt: expect.any(String) });
    expect(await withdrawReasons()).toEqual([...before, 'opt-out-withdrawn']);
    expect(await inForce()).toBe(false);
    expect(
      (await clientActivityLines(t, LA_HOUSING, 'la-childrens-social-care', from, 'consent.withdraw')).at(-1),
    ).toBe('consent.withdraw service-planning opt-out-withdrawn 1');
  });
});
