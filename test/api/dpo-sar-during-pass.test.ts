import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { apiContextFor } from '../../shared/api/api-context.js';
import { enforceRetention } from '../../shared/retention/enforce-retention.js';
import { nhs } from '../support/linked-people.js';
import { afterMatch, afterRead, commitRecordMove } from '../support/pass-at-consent-check.js';
import { aishaOnKeyways, AISHA_NI, insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A subject access request by identifiers straddling a linking pass: the pass commits,
 * deterministically, as the request's match returns, before the accesses are read.
 */
describe('a subject access request straddling a linking pass', () => {
  let t: TestHost;
  const DPO = { party: 'kettering-borough-council', roles: ['dpo'] };
  const RP = { party: 'keyways-registered-providers', roles: ['rp-lettings'], purpose: 'housing-allocation' };
  const NAMES = { givenName: 'Aisha', familyName: "O'Connor", dateOfBirth: '1990-04-12' };

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  /** The request with `pass` committed as its match returns; its answer, the log entry's subject, and the id of the answer's reference. */
  async function sarRacing(pass: () => Promise<void>, niNumber = AISHA_NI) {
    const race = afterMatch(t.host.services, pass);
    const requestId = randomUUID();
    try {
      const answer = await callApi(t, '/v1/audit/people/accesses', {
        ...DPO,
        body: { niNumber },
        headers: { 'x-request-id': requestId },
      });
      expect(race.reached(), 'the request made no match to race').toBe(true);
      const entries = await t.host.services.store.db
        .selectFrom('access_log')
        .select('subject_ref')
        .where('request_id', '=', requestId)
        .execute();
      const refs = await apiContextFor(t.host.services).personRefs();
      const refId = refs.decode(DPO.party, String(answer.body.personRef), ['audit']);
      return { answer, subjects: entries.map((e) => e.subject_ref), refId };
    } finally {
      race.restore();
    }
  }

  const searchIds = (body: Record<string, unknown>) =>
    ((body.entries ?? []) as { action: string; requestId: string }[])
      .filter((e) => e.action === 'person.search')
      .map((e) => e.requestId)
      .sort();

  it('shows the accesses logged under the id a merge moved the person into', async () => {
    // Corby's record of Aisha, found by her names and searched for, then Kettering's with her NI
    // number under another id: the pass merges Kettering's into Corby's id.
    const { personId: corby } = await insertRecord(t.host.services, {
      ...aishaOnKeyways(),
      partyId: 'corby-borough-council',
      identifiers: {},
    });
    const byNames = await callApi(t, '/v1/people/search', { ...RP, body: NAMES });
    expect(byNames.status).toBe(200);
    const { recordId, personId: kettering } = await insertRecord(t.host.services, aishaOnKeyways());
    const byNi = await callApi(t, '/v1/people/search', { ...RP, body: { niNumber: AISHA_NI } });
    expect(byNi.status).toBe(200);

    const { answer, subjects, refId } = await sarRacing(() =>
      commitRecordMove(t.host.services, { recordId, from: kettering, to: corby, keep: [corby] }),
    );

    const after = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { niNumber: AISHA_NI } });
    expect(searchIds(after.body)).toHaveLength(2);
    expect(answer.status).toBe(200);
    expect(searchIds(answer.body), 'the searches logged under either id').toEqual(searchIds(after.body));
    expect(answer.body.otherMatches).toEqual([]);
    expect(refId).toBe(corby);
    expect(subjects).toEqual([corby]);
  }, 60_000);

  it('names, and logs against, the id a split moved the person to, not the namesake left under the id', async () => {
    // Kettering's Aisha and a namesake on Corby's register without her NI number wrongly linked
    // as one; the pass splits Aisha out.
    const { recordId, personId: shared } = await insertRecord(t.host.services, {
      ...aishaOnKeyways('JG103758'),
      givenName: 'Aishah',
    });
    await insertRecord(t.host.services, {
      ...aishaOnKeyways('JG103758'),
      givenName: 'Aishah',
      partyId: 'corby-borough-council',
      personId: shared,
      identifiers: {},
    });
    const aisha = randomUUID();

    const { answer, subjects, refId } = await sarRacing(
      () => commitRecordMove(t.host.services, { recordId, from: shared, to: aisha, keep: [shared, aisha] }),
      'JG103758A',
    );

    expect(answer.status).toBe(200);
    expect(refId, "the answer's reference names the namesake left under the id").toBe(aisha);
    expect(subjects).toEqual([aisha]);
  }, 60_000);

  it('follows a reference, by which a merge moved the person on as it was read, to the id that holds them', async () => {
    // As in the first test, for an applicant of her own: Corby's record searched by names, then
    // Kettering's with her NI number under another id, and the DPO's reference to Kettering's id.
    const ni = 'JG103757';
    const names = { ...NAMES, givenName: 'Aysha' };
    const { personId: corby } = await insertRecord(t.host.services, {
      ...aishaOnKeyways(ni),
      ...names,
      partyId: 'corby-borough-council',
      identifiers: {},
    });
    expect((await callApi(t, '/v1/people/search', { ...RP, body: names })).status).toBe(200);
    const { recordId, personId: kettering } = await insertRecord(t.host.services, {
      ...aishaOnKeyways(ni),
      ...names,
    });
    const sar = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { niNumber: `${ni}A` } });
    expect(sar.status).toBe(200);
    const ref = String(sar.body.personRef);

    // The pass commits as the request's first read of who holds the reference's id returns.
    const race = afterRead(t.host.services, 1, () =>
      commitRecordMove(t.host.services, { recordId, from: kettering, to: corby, keep: [corby] }),
    );
    let answer;
    try {
      answer = await callApi(t, `/v1/audit/people/${ref}/accesses`, DPO);
    } finally {
      race.restore();
    }
    expect(race.reached()).toBe(true);

    const after = await callApi(t, `/v1/audit/people/${ref}/accesses`, DPO);
    expect(searchIds(after.body)).toHaveLength(1);
    expect(answer.status).toBe(200);
    expect(searchIds(answer.body), 'the search logged under the id merged into').toEqual(searchIds(after.body));
  }, 60_000);
});

/**
 * A subject access request straddling retention: the ISA's joint-system rule deletes a child's
 * records as the request's match returns (dpo-sar-after-retention.test.ts asks after it).
 */
describe('a subject access request straddling retention deleting the person', () => {
  let t: TestHost;
  const DATASET = 'multiple-disadvantage-indicators';
  const DPO = { party: 'la-housing', roles: ['dpo'] };
  const OFFICER = { party: 'la-housing', roles: ['housing-officer'], purpose: 'homelessness-prevention' };
  const ROBIN_NHS = nhs(4321);

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("shows the deleted person's accesses, as the same request after retention does", async () => {
    const s = t.host.services;
    const inTemporaryAccommodation = (yes: boolean) =>
      JSON.stringify({ firstName: 'Robin', lastName: 'Hale', inTemporaryAccommodation: yes });
    const { recordId } = await insertRecord(s, {
      partyId: 'la-housing',
      datasetId: DATASET,
      givenName: 'Robin',
      familyName: 'Hale',
      dateOfBirth: '2012-05-06',
      identifiers: { nhs: ROBIN_NHS },
      attributes: JSON.parse(inTemporaryAccommodation(true)) as Record<string, unknown>,
    });
    // Someone Housing keeps, so the rule has a value to judge by beside Robin's.
    await insertRecord(s, {
      partyId: 'la-housing',
      datasetId: DATASET,
      givenName: 'Bob',
      familyName: 'Jones',
      dateOfBirth: '2010-01-01',
      identifiers: { nhs: nhs(8765) },
      attributes: { firstName: 'Bob', lastName: 'Jones', inTemporaryAccommodation: true },
    });
    expect((await callApi(t, '/v1/people/search', { ...OFFICER, body: { nhsNumber: ROBIN_NHS } })).status).toBe(200);
    // Robin's family leaves temporary accommodation.
    await s.store.db
      .updateTable('source_record')
      .set({ attributes: inTemporaryAccommodation(false) })
      .where('id', '=', recordId)
      .execute();

    const race = afterMatch(s, async () => {
      const { store, agreements, accessLog, logger } = s;
      const [summary] = await enforceRetention(
        { store, agreements, accessLog, logger },
        'social-care-education-housing',
      );
      expect(summary).toMatchObject({ outcome: 'enforced', peopleDeleted: 1 });
    });
    let answer;
    try {
      answer = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { nhsNumber: ROBIN_NHS } });
    } finally {
      race.restore();
    }
    expect(race.reached()).toBe(true);

    const after = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { nhsNumber: ROBIN_NHS } });
    expect(after.status).toBe(200);
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.personRef).toBe(after.body.personRef);
    const actions = (answer.body.entries as { action: string }[]).map((e) => e.action);
    expect(actions).toContain('person.search');
    expect(actions).toContain('retention-delete');
  }, 60_000);
});
