import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nhs } from '../support/linked-people.js';
import { insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A DPO records a national data opt-out by an NHS number that more people are held under than an
 * access-log entry can name (ten, entry-subjects.ts), and a UPN nobody holds. It is recorded for
 * every one of them and for a kept-only person id holding the UPN's keyed hash
 * (opt-out-unsettled-unheld-identifiers.test.ts). Found by a defect hunt: the kept-only id was put
 * last in the recording entry, so it was the one left off, and a subject access request by the
 * UPN found the person the opt-out kept and showed no opt-out recorded for them.
 */
describe('an opt-out whose NHS number reaches more people than an entry names, with a UPN nobody holds', () => {
  let t: TestHost;
  const dataset = 'multiple-disadvantage-indicators';
  const RECORDER = { party: 'la-education', roles: ['dpo'], purpose: 'service-planning' };
  const AUDITOR = { party: 'la-housing', roles: ['dpo'] };
  const nhsNumber = nhs(7670);
  const upn = 'T801200001777';

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    for (let n = 1; n <= 11; n++)
      await insertRecord(t.host.services, {
        partyId: 'la-childrens-social-care',
        datasetId: dataset,
        givenName: `Pia${String.fromCharCode(64 + n)}`,
        familyName: 'Wray',
        dateOfBirth: `2012-05-${String(n).padStart(2, '0')}`,
        identifiers: { nhs: nhsNumber },
        attributes: {},
      });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('shows the recording to a subject access request by the UPN nobody held', async () => {
    const recorded = await callApi(t, '/v1/consents', {
      ...RECORDER,
      body: { kind: 'opt-out', subject: { nhsNumber, upn }, evidenceRef: 'DPO/NDOO/23' },
    });
    expect(recorded.status, recorded.text).toBe(201);
    const answer = await callApi(t, '/v1/audit/people/accesses', { ...AUDITOR, body: { upn } });
    expect(answer.status, answer.text).toBe(200);
    const recordings = (answer.body as unknown as { entries: { action: string; reasonCode: string }[] }).entries.filter(
      (e) => e.action === 'consent.record' && e.reasonCode === 'opt-out-recorded',
    );
    expect(recordings, 'the person the opt-out kept was shown no opt-out recorded').toHaveLength(1);
  });
});
