import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople } from '../../shared/linkage/link-people.js';
import { beforePassCommits } from '../support/pass-at-consent-check.js';
import { aishaOnKeyways, AISHA_NI, insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A linking pass stamps its person-id moves before it commits (link-people.ts), and until it
 * commits lookups read the people as they were: a search made in between is logged under the
 * id the merge gives away, at a time after the move's stamp. A subject access request for the
 * merged person should list it; and once the old id holds someone else's records, theirs
 * should not show.
 */
describe('an access logged under the id a merge gives away, before the pass commits', () => {
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

  const requestIds = (body: Record<string, unknown>) =>
    ((body.entries ?? []) as { requestId: string }[]).map((e) => e.requestId);

  it("lists it in the merged person's answer, and not the accesses of whoever holds the id later", async () => {
    const s = t.host.services;
    // Kettering's record of Aisha under A; Corby's and Wellingborough's, without her NI number,
    // under B, which the pass keeps (two records to one) as it links them by her names.
    await insertRecord(s, { ...aishaOnKeyways(), personId: A });
    for (const partyId of ['corby-borough-council', 'wellingborough-borough-council']) {
      await insertRecord(s, { ...aishaOnKeyways(), partyId, personId: B, identifiers: {} });
    }
    const before = await callApi(t, '/v1/people/search', { ...RP, body: { niNumber: AISHA_NI } });
    expect(before.status).toBe(200);

    let during: Awaited<ReturnType<typeof callApi>> | undefined;
    const { store, secrets, agreements, logger } = s;
    await beforePassCommits(
      s,
      async () => {
        during = await callApi(t, '/v1/people/search', { ...RP, body: { niNumber: AISHA_NI } });
      },
      () => linkPeople({ store, secrets, agreements, logger }, 'keyways-housing-allocation', 'full'),
    );
    expect(during?.status).toBe(200);
    const duringId = during!.headers.get('x-request-id')!;
    const [logged] = await store.db
      .selectFrom('access_log')
      .select(['subject_ref', 'time'])
      .where('request_id', '=', duringId)
      .execute();
    const [move] = await store.db
      .selectFrom('person_id_move')
      .select('moved_at')
      .where('from_person_id', '=', A)
      .where('to_person_id', '=', B)
      .execute();
    expect(logged?.subject_ref, 'the search made before the pass committed names the id given away').toBe(A);
    expect(logged!.time > move!.moved_at, "logged after the move's stamp").toBe(true);

    // Later, someone else's record comes to hold A, and is searched for.
    const other = await insertRecord(s, {
      partyId: 'kettering-borough-council',
      datasetId: aishaOnKeyways().datasetId,
      givenName: 'Zofia',
      familyName: 'Nowak',
      dateOfBirth: '1975-02-03',
      personId: A,
      identifiers: { ni: 'JG103999' },
      attributes: { firstName: 'Zofia', lastName: 'Nowak', nationalInsuranceNumber: 'JG103999A' },
    });
    const theirs = await callApi(t, '/v1/people/search', { ...RP, body: { niNumber: 'JG103999A' } });
    expect(theirs.status).toBe(200);
    const [theirsLogged] = await store.db
      .selectFrom('access_log')
      .select('subject_ref')
      .where('request_id', '=', theirs.headers.get('x-request-id')!)
      .execute();
    expect(other.personId).toBe(A);
    expect(theirsLogged?.subject_ref, "the other person's search names A").toBe(A);

    const sar = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { niNumber: AISHA_NI } });
    expect(sar.status, sar.text).toBe(200);
    const shown = requestIds(sar.body);
    expect(shown).toContain(before.headers.get('x-request-id'));
    expect(shown, 'the search logged under the id given away, before the pass committed').toContain(duringId);
    expect(shown, 'the search for the person who holds the id given away since').not.toContain(
      theirs.headers.get('x-request-id'),
    );
  }, 60_000);
});
