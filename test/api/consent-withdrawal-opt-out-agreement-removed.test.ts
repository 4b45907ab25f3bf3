import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWithout } from '../shared/agreements/agreement-files.js';
import { ROBIN_NHS, robinOptedOutByLaHousing } from '../support/records.js';
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
 * A national data opt-out outlives the agreement it was recorded under, as a consent does
 * (consent-withdrawal-agreement-removed.test.ts): the ISA ends and its file is removed, not
 * re-signed. The housing service's DPO recorded the opt-out; it stays on the register, and the
 * person may still change their mind, through that DPO. A consent recorded under an ended
 * agreement was withdrawable by the party that recorded it; an opt-out was not: every party to the
 * ISA alone was a party to nothing, and its DPO was answered that the id is unknown. The
 * withdrawal is decided as an opt-out's is while the agreement is there (the recording party's
 * DPO, under a purpose of the agreement), with the roles the party held in it as the store
 * remembers them, and filed for the ended agreement's DPOs. To anyone else it stays an unknown
 * id.
 *
 * The ending is real: the opt-out is recorded over HTTP by a host on the agreements as they are,
 * which is stopped; a second host on the same store (and keys) starts without the ISA's file.
 */
describe('withdrawing an opt-out recorded under an agreement whose file was removed', () => {
  let t: TestHost;
  const LA_HOUSING = 'la-housing';
  const ISA = 'social-care-education-housing';
  let from: string;
  let optOutId: string;

  const withdraw = (party: string, roles: string[], purpose = 'service-planning') =>
    withdrawConsent(t, optOutId, { party, roles, purpose });
  const withdrawReasons = () => reasonCodesOf(t, LA_HOUSING, 'consent.withdraw');
  const inForce = () => consentInForce(t, optOutId);
  const withdrawalsSeenBy = (auditor: string) => clientActivityLines(t, LA_HOUSING, auditor, from, 'consent.withdraw');

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    from = new Date(Date.now() - 1000).toISOString();
    ({ optOutId } = await robinOptedOutByLaHousing(t, 'DPO/OPTOUT/31'));
    t = await restartTestHost(t, { LINTEL_DEMO_SEED: 'off', AGREEMENTS_DIR: agreementsFolderWithout(['isa']) });
    expect(t.host.services.agreements.agreement(ISA)).toBeUndefined();
    expect(t.host.services.agreements.formerAgreement(ISA)).toBeDefined();
    expect(await inForce()).toBe(true);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers another party of the ended agreement, or a role of the party that was not its DPO there, that the id is unknown', async () => {
    const byOtherDpo = await withdraw('la-childrens-social-care', ['dpo']);
    expect(byOtherDpo.status).toBe(404);
    expect(byOtherDpo.body.type).toBe('urn:lintel:problem:consent-unknown');
    const byAnalyst = await withdraw(LA_HOUSING, ['analyst']);
    expect(byAnalyst.status).toBe(404);
    const underKeyways = await withdraw(LA_HOUSING, ['dpo'], 'housing-allocation');
    expect(underKeyways.status).toBe(404);
    expect(await inForce()).toBe(true);
  });

  it('still lets the party record no opt-out under the ended agreement', async () => {
    const answer = await callApi(t, '/v1/consents', {
      party: LA_HOUSING,
      roles: ['dpo'],
      purpose: 'service-planning',
      body: { kind: 'opt-out', subject: { nhsNumber: ROBIN_NHS }, evidenceRef: 'DPO/OPTOUT/32' },
    });
    expect(answer.status).toBe(403);
  });

  it("lets the recording party's DPO withdraw it, filed for the ended agreement's DPOs", async () => {
    const before = await withdrawReasons();
    const byDpo = await withdraw(LA_HOUSING, ['dpo']);
    expect(byDpo.status, `log: ${(await withdrawReasons()).join(', ')}`).toBe(200);
    expect(byDpo.body).toMatchObject({ consentId: optOutId, kind: 'opt-out', withdrawnAt: expect.any(String) });
    expect(await withdrawReasons()).toEqual([...before, 'opt-out-withdrawn']);
    expect(await inForce()).toBe(false);
    expect((await withdrawalsSeenBy('la-childrens-social-care')).at(-1)).toBe(
      'consent.withdraw service-planning opt-out-withdrawn 1',
    );
    expect(await withdrawalsSeenBy('kettering-borough-council')).toEqual([]);
  });
});
