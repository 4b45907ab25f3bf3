import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople } from '../../shared/linkage/link-people.js';
import { nhs } from '../support/linked-people.js';
import { aishaOnKeyways, AISHA_NI, insertRecord } from '../support/records.js';
import { callApi, ownAnchorContainer, startTestHost, type ApiAnswer, type TestHost } from '../support/test-host.js';

/**
 * A DPO's inclusion proof of an entry is an entry about the proved entry's people
 * (audit-proof-subject.test.ts). The proved entry names the id of its moment; a proof asked for
 * once a linking pass has moved that person's records on to another id is made after the pass,
 * and the person's subject access answer follows an earlier id only for the time the records held
 * it (person-id-history.ts). The proof should be in the person's answer all the same, and not in
 * the answer of whoever holds the earlier id since.
 */
describe('a DPO’s inclusion proof asked for after linking moved the person on', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    await ownAnchorContainer(t);
  });
  afterAll(async () => {
    await t?.stop();
  });

  const seqOf = async (answer: ApiAnswer) =>
    Number(
      (
        await t.host.services.store.db
          .selectFrom('access_log')
          .select('seq')
          .where('request_id', '=', answer.headers.get('x-request-id')!)
          .executeTakeFirstOrThrow()
      ).seq,
    );
  const proofRequestId = async (seq: number, dpo: { party: string; roles: string[] }) => {
    const res = await callApi(t, `/v1/audit/proofs/inclusion?seq=${seq}`, dpo);
    expect(res.status, res.text).toBe(200);
    expect((res.body.entry as { seq: number } | null)?.seq, 'the proof carries the entry').toBe(seq);
    return res.headers.get('x-request-id')!;
  };
  const shownTo = async (dpo: { party: string; roles: string[] }, body: object) => {
    const sar = await callApi(t, '/v1/audit/people/accesses', { ...dpo, body });
    expect(sar.status, sar.text).toBe(200);
    return (sar.body.entries as { requestId: string }[]).map((e) => e.requestId);
  };

  it('shows the proof in the merged person’s subject access answer', async () => {
    const DPO = { party: 'kettering-borough-council', roles: ['dpo'] };
    const RP = { party: 'keyways-registered-providers', roles: ['rp-lettings'], purpose: 'housing-allocation' };
    const A = 'ffffffff-ffff-4fff-8fff-ffffffffffff';
    const B = '00000000-0000-4000-8000-000000000000';
    await insertRecord(t.host.services, { ...aishaOnKeyways(), personId: A });
    const search = await callApi(t, '/v1/people/search', { ...RP, body: { niNumber: AISHA_NI } });
    expect(search.status).toBe(200);

    // Corby and Wellingborough hold her under another id; linking merges the three records into it.
    for (const partyId of ['corby-borough-council', 'wellingborough-borough-council'])
      await insertRecord(t.host.services, { ...aishaOnKeyways(), partyId, personId: B });
    const { store, secrets, agreements, logger } = t.host.services;
    await linkPeople({ store, secrets, agreements, logger }, 'keyways-housing-allocation', 'full');
    const ids = await store.db.selectFrom('source_record').select('person_id').distinct().execute();
    expect(ids.map((r) => r.person_id)).toEqual([B]);

    const proof = await proofRequestId(await seqOf(search), DPO);
    const shown = await shownTo(DPO, { niNumber: AISHA_NI });
    expect(shown, 'the search, logged under the id the merge gave away').toContain(search.headers.get('x-request-id'));
    expect(shown, 'the DPO’s proof of that search, made after the merge').toContain(proof);
  }, 60_000);

  it('shows the proof in the answer of the person a merge since undone split off, not the other’s', async () => {
    // Alice Smith (housing) joins Alice Jones (social care, education) while adult social care
    // holds Alice Jones with Alice Smith's NHS number; when that record goes, the merge is undone
    // and Alice Smith goes on under a new id (dpo-ref-after-merge.test.ts).
    const DATASET = 'multiple-disadvantage-indicators';
    const DPO = { party: 'la-housing', roles: ['dpo'] };
    const OFFICER = { party: 'la-housing', roles: ['housing-officer'], purpose: 'homelessness-prevention' };
    const N1 = nhs(580);
    const SMITH = 'eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee';
    const JONES = '11111111-1111-4111-8111-111111111111';
    const alice = (partyId: string, familyName: string, personId: string, identifiers: Record<string, string>) =>
      insertRecord(t.host.services, {
        partyId,
        datasetId: DATASET,
        personId,
        givenName: 'Alice',
        familyName,
        dateOfBirth: '2012-03-04',
        identifiers,
        attributes: { firstName: 'Alice', lastName: familyName, inTemporaryAccommodation: true },
      });
    await alice('la-housing', 'Smith', SMITH, { nhs: N1 });
    await alice('la-childrens-social-care', 'Jones', JONES, { 'system-id:social-care': 'SC-9' });
    await alice('la-education', 'Jones', JONES, { 'system-id:education': 'ED-9' });
    const search = await callApi(t, '/v1/people/search', { ...OFFICER, body: { nhsNumber: N1 } });
    expect(search.status).toBe(200);

    const { store, secrets, agreements, logger } = t.host.services;
    const joining = await alice('la-adult-social-care', 'Jones', randomUUID(), { nhs: N1 });
    await new Promise((resolveWait) => setTimeout(resolveWait, 5));
    await linkPeople({ store, secrets, agreements, logger }, 'social-care-education-housing', 'full');
    await store.db.deleteFrom('record_identifier').where('record_id', '=', joining.recordId).execute();
    await store.db.deleteFrom('source_record').where('id', '=', joining.recordId).execute();
    await new Promise((resolveWait) => setTimeout(resolveWait, 5));
    await linkPeople({ store, secrets, agreements, logger }, 'social-care-education-housing', 'full');
    const [smithNow] = await store.db
      .selectFrom('source_record')
      .select('person_id')
      .where('party_id', '=', 'la-housing')
      .execute();
    expect(smithNow?.person_id).not.toBe(SMITH);
    expect(smithNow?.person_id).not.toBe(JONES);

    const proof = await proofRequestId(await seqOf(search), DPO);
    const smith = await shownTo(DPO, { nhsNumber: N1 });
    expect(smith, 'Alice Smith’s search, logged under her id before the merge').toContain(
      search.headers.get('x-request-id'),
    );
    expect(smith, 'the DPO’s proof of that search, made after the undo').toContain(proof);
    expect(await shownTo(DPO, { systemId: { system: 'social-care', id: 'SC-9' } }), 'Alice Jones').not.toContain(proof);
  }, 60_000);
});
