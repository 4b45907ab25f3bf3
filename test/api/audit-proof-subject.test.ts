import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjectRefOf } from '../../shared/audit/entry-subjects.js';
import { aishaOnKeyways, AISHA_NI, benOnKeyways, BEN_NI, insertRecord } from '../support/records.js';
import { callApi, clientActivity, ownAnchorContainer, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * An inclusion proof gives a DPO the proved entry itself (1a2c947), the pseudonymous subject among
 * its fields, when their audit scope covers it. The DPO's own entry for that request named no one,
 * so a subject access request for the person the proved entry was about did not show that a DPO
 * had read an entry about them.
 */
describe('a DPO’s inclusion proof of an entry about people', () => {
  let t: TestHost;
  const DPO = { party: 'kettering-borough-council', roles: ['dpo'] };
  const OTHER_DPO = { party: 'dudley-housing-options', roles: ['dpo'] };
  const OFFICER = { party: 'kettering-borough-council', roles: ['housing-officer'] };
  const FIRST_NI = AISHA_NI;
  const SECOND_NI = BEN_NI;
  let first: string;
  let second: string;
  let started: string;

  type Entry = { action: string; reasonCode: string; partyId: string; roles: string[] };
  const accessesOf = async (niNumber: string) => {
    const res = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { niNumber } });
    expect(res.status, res.text).toBe(200);
    return (res.body.entries as Entry[]).map((e) => `${e.partyId} ${e.roles.join(',')} ${e.action} ${e.reasonCode}`);
  };
  const proofOf = async (seq: number, who: { party: string; roles: string[] }) => {
    const res = await callApi(t, `/v1/audit/proofs/inclusion?seq=${seq}`, who);
    expect(res.status, res.text).toBe(200);
    return res.body;
  };

  beforeAll(async () => {
    t = await startTestHost();
    await ownAnchorContainer(t);
    started = new Date(Date.now() - 1000).toISOString();
    first = (await insertRecord(t.host.services, aishaOnKeyways())).personId;
    second = (await insertRecord(t.host.services, benOnKeyways())).personId;
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('shows the DPO’s read in the subject access request of the person the proved entry is about', async () => {
    const search = await callApi(t, '/v1/people/search', {
      ...OFFICER,
      purpose: 'housing-allocation',
      body: { niNumber: FIRST_NI },
    });
    expect(search.status).toBe(200);
    const seq = await t.accessLogSize();

    expect((await proofOf(seq, DPO)).entry).toMatchObject({ seq, action: 'person.search' });

    expect(await accessesOf(FIRST_NI)).toEqual([
      'kettering-borough-council housing-officer person.search granted',
      'kettering-borough-council dpo audit.inclusion-proof proof-issued',
    ]);
    // The other person's accesses hold none of it.
    expect(await accessesOf(SECOND_NI)).toEqual([]);
  });

  it('names each person an entry about several is about', async () => {
    // A link review's entry names both records' people (entry-subjects.ts).
    await t.host.services.accessLog.append({
      requestId: 'review-of-two',
      partyId: 'kettering-borough-council',
      clientId: 'client',
      roles: ['senior-officer'],
      purpose: 'housing-allocation',
      action: 'link-candidate.view',
      subjectRef: subjectRefOf([first, second]),
      datasets: ['keyways-housing-register'],
      fields: [],
      decision: 'allow',
      reasonCode: 'granted',
    });
    const seq = await t.accessLogSize();
    expect((await proofOf(seq, DPO)).entry).toMatchObject({ seq, subjectRef: `${first} ${second}` });

    for (const ni of [FIRST_NI, SECOND_NI]) {
      expect((await accessesOf(ni)).filter((line) => line.includes('audit.inclusion-proof'))).toContain(
        'kettering-borough-council dpo audit.inclusion-proof proof-issued',
      );
    }
  });

  it('names no one when the proof comes without the entry', async () => {
    const seq = 1;
    expect((await proofOf(seq, OTHER_DPO)).entry).toBeNull();
    const rows = await t.host.services.store.db
      .selectFrom('access_log')
      .select(['subject_ref', 'reason_code'])
      .where('party_id', '=', OTHER_DPO.party)
      .where('action', '=', 'audit.inclusion-proof')
      .execute();
    expect(rows).toEqual([{ subject_ref: null, reason_code: 'proof-issued' }]);
  });

  it('lists the DPO’s proof in their client’s activity with the people it named', async () => {
    const entries = await clientActivity(t, 'kettering-borough-council', 'kettering-borough-council', started);
    const proofs = entries.filter((e) => e.action === 'audit.inclusion-proof');
    expect(proofs.map((e) => e.subjectRefs?.length)).toEqual([1, 2]);
  });
});
