import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith } from '../shared/agreements/agreement-files.js';
import {
  dudleyParticipant,
  insertRecord,
  namedPeople,
  ROBIN,
  ROBIN_IN_SOCIAL_CARE,
  ROBIN_NHS,
} from '../support/records.js';
import { callApi, consentInForce, reasonCodesOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * The ISA and the Housing First agreement are re-signed, each in force from a date still to
 * come. A person objects to the use of their data for planning and asks the housing service's
 * DPO to record their national data opt-out. An opt-out releases nothing, it only holds the
 * person's data back, so the DPO records it now; every lookup under the agreement stays refused
 * until the date, and so does a consent, which would release data. The opt-out had been refused
 * as the agreement not yet in force (403 `purpose-not-permitted`), so the objection could not be
 * recorded until the agreement came into force, when it was already too late to hold anything back.
 */
describe('recording an opt-out before a re-signed agreement is in force', () => {
  let t: TestHost;
  const LA_HOUSING = 'la-housing';
  const [participant] = namedPeople(['Quinn'], 'Marlowe', 1979);

  beforeAll(async () => {
    t = await startTestHost({
      LINTEL_DEMO_SEED: 'off',
      AGREEMENTS_DIR: agreementsFolderWith([
        { agreement: 'isa', from: 'effectiveDate: null\n', to: "effectiveDate: '2099-01-01'\n" },
        {
          agreement: 'housingFirst',
          from: 'effectiveDate: null # not stated in the notice',
          to: "effectiveDate: '2099-01-01'",
        },
      ]),
    });
    await insertRecord(t.host.services, ROBIN_IN_SOCIAL_CARE);
    await insertRecord(t.host.services, dudleyParticipant(participant, '07700 900431'));
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("lets a DPO of a party to the agreement record the person's opt-out", async () => {
    const recorded = await callApi(t, '/v1/consents', {
      party: LA_HOUSING,
      roles: ['dpo'],
      purpose: 'service-planning',
      body: { kind: 'opt-out', subject: { nhsNumber: ROBIN_NHS }, evidenceRef: 'DPO/OPTOUT/52' },
    });
    expect(recorded.status, recorded.text).toBe(201);
    expect(recorded.body).toMatchObject({ kind: 'opt-out', withdrawnAt: null });
    expect(await consentInForce(t, recorded.body.consentId as string)).toBe(true);
    expect((await reasonCodesOf(t, LA_HOUSING, 'consent.record')).at(-1)).toBe('opt-out-recorded');
  });

  it('still refuses an opt-out by a role that is not a DPO, every lookup, and every consent', async () => {
    const byAnalyst = await callApi(t, '/v1/consents', {
      party: LA_HOUSING,
      roles: ['analyst'],
      purpose: 'service-planning',
      body: { kind: 'opt-out', subject: { nhsNumber: ROBIN_NHS }, evidenceRef: 'DPO/OPTOUT/53' },
    });
    expect(byAnalyst.status, byAnalyst.text).toBe(403);
    const lookup = await callApi(t, '/v1/people/search', {
      party: LA_HOUSING,
      roles: ['housing-officer', 'senior-officer'],
      purpose: 'homelessness-prevention',
      body: ROBIN,
    });
    expect(lookup.status, lookup.text).toBe(403);
    const consent = await callApi(t, '/v1/consents', {
      party: 'dudley-housing-options',
      roles: ['housing-officer'],
      purpose: 'research-evaluation',
      body: { subject: participant, evidenceRef: 'HOS/CONSENT/0052' },
    });
    expect(consent.status, consent.text).toBe(403);
    expect(consent.body).toMatchObject({ type: expect.stringContaining('purpose-not-permitted') });
  });
});
