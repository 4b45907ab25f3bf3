import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople } from '../../shared/linkage/link-people.js';
import { nhs } from '../support/linked-people.js';
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

/**
 * Alice Smith (housing) and Alice Jones (social care, education) are one person only while adult
 * social care's record joins them; once it goes, the merge is undone: Alice Jones keeps the id and
 * Alice Smith gets a new one. A reference the DPO was given for Alice Smith before the merge (by
 * a subject access answer, or as a `subjectRef` of client activity) names the id that gave way in
 * the merge: it should lead to Alice Smith's accesses, not to Alice Jones's.
 */
describe('a DPO reference issued before a merge that a later pass undid', () => {
  let t: TestHost;
  const DATASET = 'multiple-disadvantage-indicators';
  const DPO = { party: 'la-housing', roles: ['dpo'] };
  const OFFICER = { party: 'la-housing', roles: ['housing-officer'], purpose: 'homelessness-prevention' };
  const N1 = nhs(570);
  const SMITH = 'ffffffff-ffff-4fff-8fff-ffffffffffff';
  const JONES = '00000000-0000-4000-8000-000000000000';

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  /** Alice, born on `dateOfBirth`, in `partyId`'s records under `personId`. */
  const alice = (
    partyId: string,
    familyName: string,
    personId: string,
    identifiers: Record<string, string>,
    dateOfBirth = '2012-03-04',
  ) =>
    insertRecord(t.host.services, {
      partyId,
      datasetId: DATASET,
      personId,
      givenName: 'Alice',
      familyName,
      dateOfBirth,
      identifiers,
      attributes: { firstName: 'Alice', lastName: familyName, inTemporaryAccommodation: true },
    });

  it("follows the reference to Alice Smith's id after the undo, not to Alice Jones's", async () => {
    await alice('la-housing', 'Smith', SMITH, { nhs: N1 });
    await alice('la-childrens-social-care', 'Jones', JONES, { 'system-id:social-care': 'SC-1' });
    await alice('la-education', 'Jones', JONES, { 'system-id:education': 'ED-1' });
    const search = (body: object) => callApi(t, '/v1/people/search', { ...OFFICER, body });
    const smithSearch = await search({ nhsNumber: N1 });
    expect(smithSearch.status).toBe(200);
    // The DPO answers Alice Jones's own request: an entry about her alone.
    const jonesSar = await callApi(t, '/v1/audit/people/accesses', {
      ...DPO,
      body: { systemId: { system: 'social-care', id: 'SC-1' } },
    });
    expect(jonesSar.status).toBe(200);
    const sar = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { nhsNumber: N1 } });
    expect(sar.status).toBe(200);
    const smithRef = sar.body.personRef as string;

    // Adult social care holds Alice Jones with Alice Smith's NHS number: linking makes them one.
    const { store, secrets, agreements, logger } = t.host.services;
    const joining = await alice('la-adult-social-care', 'Jones', randomUUID(), { nhs: N1 });
    await new Promise((resolveWait) => setTimeout(resolveWait, 5));
    await linkPeople({ store, secrets, agreements, logger }, 'social-care-education-housing', 'full');
    const idOf = async (partyId: string) =>
      (
        await store.db
          .selectFrom('source_record')
          .select('person_id')
          .where('party_id', '=', partyId)
          .executeTakeFirstOrThrow()
      ).person_id;
    expect(await idOf('la-housing')).toBe(JONES);
    // Its next snapshot no longer has her: the next pass undoes the merge.
    await store.db.deleteFrom('record_identifier').where('record_id', '=', joining.recordId).execute();
    await store.db.deleteFrom('source_record').where('id', '=', joining.recordId).execute();
    await new Promise((resolveWait) => setTimeout(resolveWait, 5));
    await linkPeople({ store, secrets, agreements, logger }, 'social-care-education-housing', 'full');
    expect(await idOf('la-education')).toBe(JONES);
    expect(await idOf('la-housing')).not.toBe(JONES);

    const requestIds = (body: Record<string, unknown>) =>
      (body.entries as { requestId: string }[]).map((e) => e.requestId);
    const smithNow = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { nhsNumber: N1 } });
    expect(smithNow.status).toBe(200);
    expect(requestIds(smithNow.body)).toContain(smithSearch.headers.get('x-request-id'));
    expect(requestIds(smithNow.body)).not.toContain(jonesSar.headers.get('x-request-id'));

    // The officer's reference from before the merge opens Alice Smith's record again, not Alice Jones's.
    const view = await callApi(t, `/v1/people/${String(smithSearch.body.personRef)}`, OFFICER);
    expect(view.status, 'the reference issued for Alice Smith before the merge').toBe(200);
    expect(view.body.records).toEqual([expect.objectContaining({ source: 'la-housing' })]);
    expect(view.text).toContain('"lastName":"Smith"');
    expect(view.text).not.toContain('Jones');
    const byOldRef = await callApi(t, `/v1/audit/people/${smithRef}/accesses`, DPO);
    expect(byOldRef.status).toBe(200);
    expect(requestIds(byOldRef.body), "Alice Jones's request shown by Alice Smith's reference").not.toContain(
      jonesSar.headers.get('x-request-id'),
    );
    expect(requestIds(byOldRef.body), "Alice Smith's search missing").toContain(
      smithSearch.headers.get('x-request-id'),
    );
    // The same entries as the request by her identifiers, and then that request's own.
    const shown = smithNow.body.entries as unknown[];
    expect((byOldRef.body.entries as unknown[]).slice(0, shown.length)).toEqual(shown);
  });

  it("does not name, in Alice Smith's answer, an id an opt-out was carried from to Alice Jones's id before the merge", async () => {
    const nhsNumber = nhs(571);
    // Another Alice than the first case's.
    const BORN = '2013-05-06';
    const smith = 'eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee';
    const jones = '11111111-1111-4111-8111-111111111111';
    const jonesEarlier = '22222222-2222-4222-8222-222222222222';
    const { store, secrets, agreements, logger } = t.host.services;
    // Alice Jones's opt-out was carried to her id from an earlier one before the merge (a load
    // that could not follow her: opt-out-successors.ts), noted as ids and time only.
    await store.db
      .insertInto('opt_out_successor')
      .values({ earlier_person_id: jonesEarlier, later_person_id: jones, carried_at: new Date().toISOString() })
      .execute();
    await new Promise((resolveWait) => setTimeout(resolveWait, 5));
    await alice('la-housing', 'Smith', smith, { nhs: nhsNumber }, BORN);
    await alice('la-childrens-social-care', 'Jones', jones, { 'system-id:social-care': 'SC-2' }, BORN);
    await alice('la-education', 'Jones', jones, { 'system-id:education': 'ED-2' }, BORN);
    const joining = await alice('la-adult-social-care', 'Jones', randomUUID(), { nhs: nhsNumber }, BORN);
    await new Promise((resolveWait) => setTimeout(resolveWait, 5));
    await linkPeople({ store, secrets, agreements, logger }, 'social-care-education-housing', 'full');
    await store.db.deleteFrom('record_identifier').where('record_id', '=', joining.recordId).execute();
    await store.db.deleteFrom('source_record').where('id', '=', joining.recordId).execute();
    await new Promise((resolveWait) => setTimeout(resolveWait, 5));
    await linkPeople({ store, secrets, agreements, logger }, 'social-care-education-housing', 'full');

    const possiblySame = async (body: object) => {
      const res = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body });
      expect(res.status).toBe(200);
      return (res.body.possiblySamePerson as { relation: string }[]).map((p) => p.relation);
    };
    expect(await possiblySame({ systemId: { system: 'social-care', id: 'SC-2' } }), 'Alice Jones').toEqual(['earlier']);
    expect(await possiblySame({ nhsNumber }), "Alice Smith, whose records held Alice Jones's id only later").toEqual(
      [],
    );
  });
});
