import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkAfterImport } from '../../shared/linkage/pending-links.js';
import { hostExtracts, type HostExtracts } from '../support/host-extracts.js';
import { nhs } from '../support/linked-people.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * An opt-out recorded for a person the partnership does not hold is kept against a new person id
 * no record holds, their identifiers as keyed hashes (StoreConsentRegister.recordUnheld). Found
 * by a defect hunt: a DPO's subject access request by that person's NHS number answered 404
 * no-match, as it looked only among records, so the answer left out the opt-out's recording, a
 * processing of the person's data they are owed (UK GDPR Art. 15).
 */
describe('a subject access request for a person whose opt-out was recorded while not held', () => {
  let t: TestHost;
  let extracts: HostExtracts;
  const dataset = 'multiple-disadvantage-indicators';
  const header = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inTemporaryAccommodation';
  const RECORDER = { party: 'la-education', roles: ['dpo'], purpose: 'service-planning' };
  const AUDITOR = { party: 'la-housing', roles: ['dpo'] };
  const notHeld = nhs(7401);
  const owen = `Owen,Hart,1970-06-07,ME15 3DE,${nhs(7501)},Y`;

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    extracts = await hostExtracts(t);
    await loadAndLink('ta-1.csv', [owen]);
  });
  afterAll(async () => {
    await extracts?.remove();
    await t?.stop();
  });

  const loadAndLink = async (fileName: string, lines: string[]) =>
    linkAfterImport(extracts.linkDeps(), await extracts.load('la-housing', dataset, fileName, [header, ...lines]));
  type Answer = {
    personRef: string;
    entries: { action: string; partyId: string; decision: string; reasonCode: string }[];
    possiblySamePerson: { personRef: string; relation: string }[];
    otherMatches?: unknown[];
  };
  const recordings = (answer: Answer) =>
    answer.entries.filter((e) => e.action === 'consent.record' && e.reasonCode === 'opt-out-recorded');
  const requests = (answer: Answer) => answer.entries.filter((e) => e.action === 'audit.person-accesses').length;

  it("shows the opt-out's recording before and after the person's extract arrives", async () => {
    const recorded = await callApi(t, '/v1/consents', {
      ...RECORDER,
      body: { kind: 'opt-out', subject: { nhsNumber: notHeld }, evidenceRef: 'DPO/NDOO/9' },
    });
    expect(recorded.status, recorded.text).toBe(201);

    const before = await callApi(t, '/v1/audit/people/accesses', { ...AUDITOR, body: { nhsNumber: notHeld } });
    expect(before.status, 'the request did not find the person whose opt-out was recorded').toBe(200);
    const first = before.body as unknown as Answer;
    expect(recordings(first).map((e) => e.partyId)).toEqual(['la-education']);
    expect(first.otherMatches).toEqual([]);

    // Their extract arrives: the opt-out reaches their new id, which names the earlier one once.
    await loadAndLink('ta-2.csv', [owen, `Bea,Lowe,2011-05-06,ME16 2AA,${notHeld},Y`]);
    const after = await callApi(t, '/v1/audit/people/accesses', { ...AUDITOR, body: { nhsNumber: notHeld } });
    expect(after.status, after.text).toBe(200);
    const later = after.body as unknown as Answer;
    expect(later.personRef).not.toBe(first.personRef);
    expect(later.possiblySamePerson).toEqual([
      { personRef: first.personRef, relation: 'earlier', at: expect.any(String) },
    ]);
    expect(later.otherMatches).toEqual([]);
    // Followed, the earlier id shows the recording and the first request, one entry each.
    const followed = await callApi(t, `/v1/audit/people/${first.personRef}/accesses`, AUDITOR);
    expect(followed.status).toBe(200);
    expect(recordings(followed.body as unknown as Answer)).toHaveLength(1);
    expect(requests(followed.body as unknown as Answer)).toBe(1);

    // Nothing the log holds carries the identifier itself.
    const log = await t.host.services.store.db.selectFrom('access_log').selectAll().execute();
    expect(JSON.stringify(log)).not.toContain(notHeld);
  });
});
