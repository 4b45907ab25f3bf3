import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nhs } from '../support/linked-people.js';
import { insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A DPO records a national data opt-out whose NHS number is one person's, whose names and date of
 * birth are another's, and whose UPN nobody holds: it is recorded for both people and for a
 * kept-only person id holding the UPN's keyed hashes (opt-out-unsettled-unheld-identifiers.test.ts).
 * Found by a defect hunt: the entries for sending it again and for its withdrawal named only the
 * two people held, so a subject access request by the UPN showed the opt-out recorded, never
 * withdrawn, and the person was told it still held their data back.
 */
describe('the access-log entries of an unsettled opt-out that keeps an identifier nobody holds', () => {
  let t: TestHost;
  const dataset = 'multiple-disadvantage-indicators';
  const RECORDER = { party: 'la-education', roles: ['dpo'], purpose: 'service-planning' };
  const AUDITOR = { party: 'la-housing', roles: ['dpo'] };
  const upn = 'T801200001777';
  const subject = { nhsNumber: nhs(7650), givenName: 'Quinn', familyName: 'Wray', dateOfBirth: '2012-05-05', upn };

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const person = (partyId: string, givenName: string, dateOfBirth: string, identifiers: Record<string, string>) =>
      insertRecord(t.host.services, {
        partyId,
        datasetId: dataset,
        givenName,
        familyName: 'Wray',
        dateOfBirth,
        identifiers,
        attributes: {},
      });
    await person('la-childrens-social-care', 'Pia', '2012-05-01', { nhs: nhs(7650) });
    await person('la-housing', 'Quinn', '2012-05-05', {});
  });
  afterAll(async () => {
    await t?.stop();
  });

  const optOut = () =>
    callApi(t, '/v1/consents', { ...RECORDER, body: { kind: 'opt-out', subject, evidenceRef: 'DPO/NDOO/21' } });
  type Answer = { entries: { action: string; reasonCode: string }[] };

  it('shows the opt-out sent again and withdrawn under the reference a subject access request by the identifier nobody held gave', async () => {
    const recorded = await optOut();
    expect(recorded.status, recorded.text).toBe(201);
    expect((await optOut()).status, 'sent again').toBe(200);
    // The request by the UPN finds the kept-only person while the opt-out keeps its hash; the DPO
    // follows that reference afterwards, as the withdrawal ends the kept hashes.
    const found = await callApi(t, '/v1/audit/people/accesses', { ...AUDITOR, body: { upn } });
    expect(found.status, found.text).toBe(200);
    const { personRef } = found.body as unknown as { personRef: string };
    const withdrawn = await callApi(t, `/v1/consents/${recorded.body.consentId as string}`, {
      ...RECORDER,
      method: 'DELETE',
    });
    expect(withdrawn.status, withdrawn.text).toBe(200);

    const answer = await callApi(t, `/v1/audit/people/${personRef}/accesses`, AUDITOR);
    expect(answer.status, answer.text).toBe(200);
    const seen = (answer.body as unknown as Answer).entries
      .filter((e) => e.action.startsWith('consent.'))
      .map((e) => `${e.action} ${e.reasonCode}`);
    expect(seen, 'the person was shown the opt-out recorded, and not sent again or withdrawn').toEqual([
      'consent.record opt-out-recorded',
      'consent.record opt-out-already-recorded',
      'consent.withdraw opt-out-withdrawn',
    ]);
  });
});
