import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople } from '../../shared/linkage/link-people.js';
import { aishaOnKeyways, AISHA_NI, insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * README: accesses "by reference … under every person id their records have held since linking
 * merged or split them". A reference the DPO was given before a merge (by an earlier subject
 * access answer, or as a `subjectRef` of client activity) names the id that gave way; following
 * it after the merge should still reach the person's accesses — including those since the merge.
 */
describe('a DPO reference issued before linking merged the person', () => {
  let t: TestHost;
  const DPO = { party: 'kettering-borough-council', roles: ['dpo'] };
  const RP = { party: 'keyways-registered-providers', roles: ['rp-lettings'], purpose: 'housing-allocation' };
  const A = 'ffffffff-ffff-4fff-8fff-ffffffffffff';
  const B = '00000000-0000-4000-8000-000000000000';

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('follows the old reference to the accesses made since the merge', async () => {
    await insertRecord(t.host.services, { ...aishaOnKeyways(), personId: A });
    const before = await callApi(t, '/v1/people/search', { ...RP, body: { niNumber: AISHA_NI } });
    expect(before.status).toBe(200);
    const sar = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { niNumber: AISHA_NI } });
    expect(sar.status).toBe(200);
    const oldRef = sar.body.personRef as string;

    // Corby and Wellingborough hold her too, under another id; linking merges the three records
    // and the id two of them hold wins.
    await insertRecord(t.host.services, { ...aishaOnKeyways(), partyId: 'corby-borough-council', personId: B });
    await insertRecord(t.host.services, {
      ...aishaOnKeyways(),
      partyId: 'wellingborough-borough-council',
      personId: B,
    });
    const { store, secrets, agreements, logger } = t.host.services;
    await linkPeople({ store, secrets, agreements, logger }, 'keyways-housing-allocation', 'full');
    const ids = await store.db.selectFrom('source_record').select('person_id').distinct().execute();
    expect(ids.map((r) => r.person_id)).toEqual([B]);

    const after = await callApi(t, '/v1/people/search', { ...RP, body: { niNumber: AISHA_NI } });
    expect(after.status).toBe(200);

    // By identifiers now: both searches (the first under A, the second under B).
    const fresh = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { niNumber: AISHA_NI } });
    const searches = (body: Record<string, unknown>) =>
      (body.entries as { action: string }[]).filter((e) => e.action === 'person.search').length;
    expect(searches(fresh.body)).toBe(2);

    // By the reference the DPO already holds: the same person, the same searches.
    const byOldRef = await callApi(t, `/v1/audit/people/${oldRef}/accesses`, DPO);
    expect(byOldRef.status).toBe(200);
    expect(
      searches(byOldRef.body),
      'the reference issued before the merge misses the accesses logged under the surviving id',
    ).toBe(2);
  });
});
