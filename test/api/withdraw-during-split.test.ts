import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessesToPerson, auditScope } from '../../shared/audit/dpo-views.js';
import { commitRecordMove, raceAtFirstWrite } from '../support/pass-at-consent-check.js';
import { insertRecord, ROBIN_IN_SOCIAL_CARE, ROBIN_NHS } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * An opt-out withdrawn while a linking pass splits its person: the objector's record moves to a
 * new id, a namesake's stays under the old one, and the opt-out stays with both parts
 * (carry-consents.ts). The pass commits, deterministically, between the request's read of the
 * opt-out and its write (as the write's transaction begins), the way a pass on the store's one
 * connection can. The withdrawal ends the opt-out for both, so it is in both people's answers.
 */
describe('an opt-out withdrawal straddling a split', () => {
  let t: TestHost;
  const DPO = { party: 'la-housing', roles: ['dpo'], purpose: 'service-planning' };

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('is in the subject access answer of each person the opt-out was in force for, under the ids their records hold now', async () => {
    const s = t.host.services;
    const { recordId: robinRecord, personId: before } = await insertRecord(s, ROBIN_IN_SOCIAL_CARE);
    // A namesake wrongly linked with Robin: one person id for the two records.
    await insertRecord(s, {
      ...ROBIN_IN_SOCIAL_CARE,
      personId: before,
      givenName: 'Robyn',
      identifiers: {},
    });
    const recorded = await callApi(t, '/v1/consents', {
      ...DPO,
      body: { kind: 'opt-out', subject: { nhsNumber: ROBIN_NHS }, evidenceRef: 'DPO/OPTOUT/SPLIT' },
    });
    expect(recorded.status).toBe(201);

    const robin = randomUUID();
    const requestId = randomUUID();
    const withdrawn = await raceAtFirstWrite(
      s,
      () => commitRecordMove(s, { recordId: robinRecord, from: before, to: robin, keep: [before, robin] }),
      () =>
        callApi(t, `/v1/consents/${recorded.body.consentId as string}`, {
          ...DPO,
          method: 'DELETE',
          headers: { 'x-request-id': requestId },
        }),
    );
    expect(withdrawn.status).toBe(200);
    // Ended for both parts.
    expect(await s.consents.isOptedOut(robin, new Date())).toBe(false);
    expect(await s.consents.isOptedOut(before, new Date())).toBe(false);

    const scope = auditScope(s.agreements, ['social-care-education-housing']);
    const shownTo = async (personId: string) =>
      (await accessesToPerson(s.store, scope, personId, { after: 0, limit: 100 })).entries
        .filter((e) => e.requestId === requestId)
        .map((e) => e.reasonCode);
    expect({ robin: await shownTo(robin), namesake: await shownTo(before) }).toEqual({
      robin: ['opt-out-withdrawn'],
      namesake: ['opt-out-withdrawn'],
    });
  }, 60_000);
});
