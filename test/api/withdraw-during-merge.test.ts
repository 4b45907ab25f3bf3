import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitRecordMove, raceAtFirstWrite } from '../support/pass-at-consent-check.js';
import { insertRecord, ROBIN_IN_SOCIAL_CARE, ROBIN_NHS } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * An opt-out withdrawn while a linking pass merges its person into another id: the pass commits,
 * deterministically, between the request's read of the opt-out and its write (as the write's
 * transaction begins), the way a pass on the store's one connection can.
 */
describe('an opt-out withdrawal straddling a merge', () => {
  let t: TestHost;
  const DPO = { party: 'la-housing', roles: ['dpo'], purpose: 'service-planning' };

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("is in the person's subject access answer, under the id their records hold now", async () => {
    const s = t.host.services;
    const { recordId, personId: before } = await insertRecord(s, {
      ...ROBIN_IN_SOCIAL_CARE,
      partyId: 'la-education',
      attributes: { currentSchool: 'Hill Primary' },
    });
    const recorded = await callApi(t, '/v1/consents', {
      ...DPO,
      body: { kind: 'opt-out', subject: { nhsNumber: ROBIN_NHS }, evidenceRef: 'DPO/OPTOUT/MERGE' },
    });
    expect(recorded.status).toBe(201);
    const consentId = recorded.body.consentId as string;
    // Social care knows Robin under another id; the pass merges the education record into it.
    const { personId: after } = await insertRecord(s, ROBIN_IN_SOCIAL_CARE);

    const requestId = randomUUID();
    const withdrawn = await raceAtFirstWrite(
      s,
      () => commitRecordMove(s, { recordId, from: before, to: after, keep: [after] }),
      () =>
        callApi(t, `/v1/consents/${consentId}`, { ...DPO, method: 'DELETE', headers: { 'x-request-id': requestId } }),
    );
    expect(withdrawn.status).toBe(200);
    expect(await s.consents.isOptedOut(after, new Date())).toBe(false);

    const entries = await s.store.db
      .selectFrom('access_log')
      .select(['subject_ref', 'decision', 'reason_code'])
      .where('request_id', '=', requestId)
      .execute();
    const sar = await callApi(t, '/v1/audit/people/accesses', {
      party: 'la-housing',
      roles: ['dpo'],
      body: { nhsNumber: ROBIN_NHS },
    });
    expect(sar.status).toBe(200);
    const actions = (sar.body.entries as { action: string }[]).map((e) => e.action);
    expect({ entries, actions }).toEqual({
      entries: [{ subject_ref: after, decision: 'allow', reason_code: 'opt-out-withdrawn' }],
      actions: expect.arrayContaining(['consent.record', 'consent.withdraw']),
    });
  }, 60_000);
});
