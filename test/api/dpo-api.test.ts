import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asHousingReviewer, jonathanIn, linkForReview, listedCandidateIds, nhs } from '../support/linked-people.js';
import { PROBLEM_CATALOGUE } from '../../shared/api/problem-catalogue.js';
import { insertRecord } from '../support/records.js';
import { callApi, clientIdOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * The DPO's views of the access log over real HTTP: real tokens, the real policy (`audit` is for
 * the roles an agreement's audit block names), traffic made through the real people API.
 */
describe('DPO API', () => {
  /** Request ids must be UUIDs; the tests name them, and read the names back from the log. */
  const requestIdsByName = new Map<string, string>();
  const requestIdFor = (name: string) => {
    if (!requestIdsByName.has(name)) requestIdsByName.set(name, randomUUID());
    return requestIdsByName.get(name)!;
  };
  const nameOf = (id: string) => [...requestIdsByName].find(([, value]) => value === id)?.[0] ?? id;
  let t: TestHost;
  const AISHA_NI = 'JG103759A';
  const BEN_NI = 'AB123456C';
  const DPO = { party: 'kettering-borough-council', roles: ['dpo'] };
  const RP = { party: 'keyways-registered-providers', roles: ['rp-lettings'] };
  const OFFICER = { party: 'kettering-borough-council', roles: ['housing-officer'] };
  const rpClient = clientIdOf('keyways-registered-providers');

  const call = (
    path: string,
    who: { party: string; roles: string[] },
    init: { body?: unknown; method?: string; purpose?: string; requestId?: string } = {},
  ) =>
    callApi(t, path, {
      ...who,
      ...(init.body === undefined ? {} : { body: init.body }),
      ...(init.method === undefined ? {} : { method: init.method }),
      ...(init.purpose === undefined ? {} : { purpose: init.purpose }),
      ...(init.requestId === undefined ? {} : { headers: { 'x-request-id': requestIdFor(init.requestId) } }),
    });
  type Entry = {
    seq: number;
    requestId: string;
    clientId: string;
    action: string;
    fields: string[];
    decision: string;
    reasonCode: string;
    subjectRef?: string | null;
  };
  const requestIds = (body: Record<string, unknown>) => (body.entries as Entry[]).map((e) => nameOf(e.requestId));
  const auditEntries = async () =>
    Number(
      (
        await t.host.services.store.db
          .selectFrom('access_log')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('action', 'like', 'audit.%')
          .executeTakeFirstOrThrow()
      ).n,
    );

  let started: string;
  let rpRefForAisha: string;

  beforeAll(async () => {
    t = await startTestHost();
    started = new Date(Date.now() - 1000).toISOString();
    const register = { partyId: 'kettering-borough-council', datasetId: 'keyways-housing-register' };
    await insertRecord(t.host.services, {
      ...register,
      givenName: 'Aisha',
      familyName: "O'Connor",
      dateOfBirth: '1990-04-12',
      identifiers: { ni: 'JG103759' },
      attributes: { firstName: 'Aisha', lastName: "O'Connor", address: '1 High Street, Kettering' },
    });
    await insertRecord(t.host.services, {
      ...register,
      givenName: 'Ben',
      familyName: 'Okafor',
      dateOfBirth: '1988-07-30',
      identifiers: { ni: 'AB123456' },
      attributes: { firstName: 'Ben', lastName: 'Okafor', address: '3 Mill Lane, Corby' },
    });
    const purpose = 'housing-allocation';
    const rp1 = await call('/v1/people/search', RP, { purpose, body: { niNumber: AISHA_NI }, requestId: 'rp-aisha-1' });
    expect(rp1.status).toBe(200);
    rpRefForAisha = rp1.body.personRef as string;
    expect((await call(`/v1/people/${rpRefForAisha}`, RP, { purpose, requestId: 'rp-aisha-2' })).status).toBe(200);
    expect(
      (await call('/v1/people/search', OFFICER, { purpose, body: { niNumber: AISHA_NI }, requestId: 'officer-aisha' }))
        .status,
    ).toBe(200);
    expect(
      (await call('/v1/people/search', RP, { purpose, body: { niNumber: BEN_NI }, requestId: 'rp-ben' })).status,
    ).toBe(200);
    // Ten searches that find nobody: a fishing run for the watch rules.
    for (let i = 0; i < 10; i++) {
      const res = await call('/v1/people/search', RP, {
        purpose,
        body: { familyName: 'Nobody', givenName: 'Known', dateOfBirth: `1970-01-${String(i + 1).padStart(2, '0')}` },
        requestId: `rp-miss-${i}`,
      });
      expect(res.status).toBe(404);
    }
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('shows a DPO exactly the accesses to a person found by identifiers, and logs the DPO’s own call', async () => {
    const before = await auditEntries();
    const res = await call('/v1/audit/people/accesses', DPO, { body: { niNumber: AISHA_NI } });
    expect(res.status).toBe(200);
    expect(requestIds(res.body)).toEqual(['rp-aisha-1', 'rp-aisha-2', 'officer-aisha']);
    const first = (res.body.entries as Entry[])[0]!;
    expect(first).toMatchObject({
      clientId: rpClient,
      action: 'person.search',
      decision: 'allow',
      reasonCode: 'granted',
      purpose: 'housing-allocation',
      roles: ['rp-lettings'],
      partyId: 'keyways-registered-providers',
    });
    expect(first.fields).toContain('keyways-housing-register.firstName');
    expect(res.body.next).toBeNull();
    expect(res.text).not.toContain(AISHA_NI);
    expect(res.text).not.toContain('Aisha');
    expect(await auditEntries()).toBe(before + 1);

    // By the DPO's own reference: the same entries, now with the DPO's first look among them.
    const byRef = await call(`/v1/audit/people/${res.body.personRef as string}/accesses`, DPO);
    expect(byRef.status).toBe(200);
    const entries = byRef.body.entries as Entry[];
    expect(entries.slice(0, 3).map((e) => nameOf(e.requestId))).toEqual(['rp-aisha-1', 'rp-aisha-2', 'officer-aisha']);
    expect(entries.slice(3).map((e) => [e.action, e.reasonCode])).toEqual([
      ['audit.person-accesses', 'accesses-shown'],
    ]);

    // Another person's accesses hold none of these.
    const ben = await call('/v1/audit/people/accesses', DPO, { body: { niNumber: BEN_NI } });
    expect(requestIds(ben.body)).toEqual(['rp-ben']);
  });

  it('pages accesses by sequence number', async () => {
    const page1 = await call('/v1/audit/people/accesses', DPO, { body: { niNumber: AISHA_NI, limit: 2 } });
    expect(requestIds(page1.body)).toEqual(['rp-aisha-1', 'rp-aisha-2']);
    const page2 = await call('/v1/audit/people/accesses', DPO, {
      body: { niNumber: AISHA_NI, limit: 2, after: page1.body.next },
    });
    expect(requestIds(page2.body)[0]).toBe('officer-aisha');
  });

  it('does not accept a person reference issued to another party', async () => {
    const res = await call(`/v1/audit/people/${rpRefForAisha}/accesses`, DPO);
    expect(res.status).toBe(404);
    expect(res.body.type).toBe('urn:lintel:problem:no-match');
    // One type, one title (RFC 9457 §3.1.3), whichever endpoint answers it.
    const lookup = await call(`/v1/people/${rpRefForAisha}`, OFFICER, { purpose: 'housing-allocation' });
    expect(lookup.body.type).toBe('urn:lintel:problem:no-match');
    expect(res.body.title).toBe(lookup.body.title);
    expect(res.body.title).toBe(PROBLEM_CATALOGUE['no-match'].title);
  });

  it('keeps a DPO to the log of the agreements they audit', async () => {
    const dudleyDpo = { party: 'dudley-housing-options', roles: ['dpo'] };
    expect((await call('/v1/audit/people/accesses', dudleyDpo, { body: { niNumber: AISHA_NI } })).status).toBe(404);
    const activity = await call(
      `/v1/audit/clients/${rpClient}/activity?from=${started}&to=${new Date(Date.now() + 60_000).toISOString()}`,
      dudleyDpo,
    );
    expect(activity.status).toBe(200);
    expect(activity.body.entries).toEqual([]);
  });

  it('shows everything one client did in a period, paged, with the DPO’s own person references', async () => {
    const to = new Date(Date.now() + 60_000).toISOString();
    const res = await call(`/v1/audit/clients/${rpClient}/activity?from=${started}&to=${to}&limit=500`, DPO);
    expect(res.status).toBe(200);
    expect(requestIds(res.body)).toEqual([
      'rp-aisha-1',
      'rp-aisha-2',
      'rp-ben',
      ...Array.from({ length: 10 }, (_, i) => `rp-miss-${i}`),
    ]);
    const entries = res.body.entries as Entry[];
    const mine = await call('/v1/audit/people/accesses', DPO, { body: { niNumber: AISHA_NI, limit: 1 } });
    expect(entries[0]!.subjectRef).toBe(mine.body.personRef);
    expect(entries[0]!.subjectRef).not.toBe(rpRefForAisha);
    expect(entries[3]!.subjectRef).toBeNull();
    // The audit view names people another party's client looked up; its refs open no lookup.
    const opened = await call(`/v1/people/${entries[0]!.subjectRef!}`, OFFICER, { purpose: 'housing-allocation' });
    expect(opened.status).toBe(404);
    expect(opened.body.type).toBe('urn:lintel:problem:no-match');

    const page = await call(`/v1/audit/clients/${rpClient}/activity?from=${started}&to=${to}&limit=2`, DPO);
    expect(requestIds(page.body)).toEqual(['rp-aisha-1', 'rp-aisha-2']);
    const rest = await call(
      `/v1/audit/clients/${rpClient}/activity?from=${started}&to=${to}&limit=2&after=${page.body.next as number}`,
      DPO,
    );
    expect(requestIds(rest.body)).toEqual(['rp-ben', 'rp-miss-0']);

    // A period before any of it: nothing.
    const earlier = await call(
      `/v1/audit/clients/${rpClient}/activity?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z`,
      DPO,
    );
    expect(earlier.body.entries).toEqual([]);
    expect((await call(`/v1/audit/clients/${rpClient}/activity?from=${to}&to=${started}`, DPO)).status).toBe(400);
    expect((await call(`/v1/audit/clients/${rpClient}/activity?from=yesterday&to=${to}`, DPO)).status).toBe(400);
  });

  /**
   * A time copied from another tool comes to the microsecond (.NET writes seven digits): read
   * cut to the millisecond, a period starting just after an entry began at it and listed the
   * entry, and one ending just after it ended at it and left the entry out (found by a defect hunt).
   */
  it('takes a period given past the millisecond exactly at its bounds', async () => {
    const to = new Date(Date.now() + 60_000).toISOString();
    const all = await call(`/v1/audit/clients/${rpClient}/activity?from=${started}&to=${to}&limit=500`, DPO);
    const ben = (all.body.entries as (Entry & { time: string })[]).find((e) => nameOf(e.requestId) === 'rp-ben')!;
    const justAfter = ben.time.replace('Z', '0001Z');
    const endingJustAfter = await call(
      `/v1/audit/clients/${rpClient}/activity?from=${started}&to=${justAfter}&limit=500`,
      DPO,
    );
    expect(requestIds(endingJustAfter.body)).toContain('rp-ben');
    const startingJustAfter = await call(
      `/v1/audit/clients/${rpClient}/activity?from=${justAfter}&to=${to}&limit=500`,
      DPO,
    );
    expect(requestIds(startingJustAfter.body)).not.toContain('rp-ben');
  });

  it('runs the watch rules on demand, lists the alert, and opens a breach with the ICO deadline', async () => {
    const run = await call('/v1/audit/alerts/evaluate', DPO, { method: 'POST' });
    expect(run.status).toBe(200);
    const raised = run.body.raised as { id: string; rule: string; clientId: string; count: number }[];
    const fishing = raised.find((a) => a.rule === 'no-match-run');
    expect(fishing).toMatchObject({ clientId: rpClient, count: 10 });
    // Once per window: a second run raises it no more.
    const again = await call('/v1/audit/alerts/evaluate', DPO, { method: 'POST' });
    expect((again.body.raised as { rule: string }[]).filter((a) => a.rule === 'no-match-run')).toEqual([]);

    const listed = await call('/v1/audit/alerts?status=open', DPO);
    expect(listed.status).toBe(200);
    expect((listed.body.alerts as { id: string }[]).map((a) => a.id)).toContain(fishing!.id);
    // The research agreement's DPO does not see the housing register's alerts, nor learns by the
    // count of findings that its rules found something.
    expect(run.body.findings).toBeGreaterThan(0);
    const dudleyRun = await call(
      '/v1/audit/alerts/evaluate',
      { party: 'dudley-housing-options', roles: ['dpo'] },
      {
        method: 'POST',
      },
    );
    expect(dudleyRun.body).toMatchObject({ findings: 0, raised: [] });
    const dudley = await call('/v1/audit/alerts', { party: 'dudley-housing-options', roles: ['dpo'] });
    expect((dudley.body.alerts as { id: string }[]).map((a) => a.id)).not.toContain(fishing!.id);
    expect(
      (
        await call(
          `/v1/audit/alerts/${fishing!.id}/breach`,
          { party: 'dudley-housing-options', roles: ['dpo'] },
          { method: 'POST' },
        )
      ).status,
    ).toBe(404);

    // With the access log gone, no breach record is opened (its clock would start unlogged).
    const db = t.host.services.store.db;
    await sql`alter table access_log rename to access_log_unreachable`.execute(db);
    try {
      expect((await call(`/v1/audit/alerts/${fishing!.id}/breach`, DPO, { method: 'POST' })).status).toBe(503);
    } finally {
      await sql`alter table access_log_unreachable rename to access_log`.execute(db);
    }
    expect(await db.selectFrom('breach_record').selectAll().execute()).toEqual([]);

    const opened = await call(`/v1/audit/alerts/${fishing!.id}/breach`, DPO, { method: 'POST' });
    expect(opened.status).toBe(201);
    const breach = opened.body as {
      id: string;
      openedAt: string;
      icoDeadline: string;
      hoursRemaining: number;
      openedBy: string;
      overdue: boolean;
    };
    expect(Date.parse(breach.icoDeadline) - Date.parse(breach.openedAt)).toBe(72 * 3600_000);
    expect(breach.hoursRemaining).toBeGreaterThanOrEqual(71.9);
    expect(breach.hoursRemaining).toBeLessThanOrEqual(72);
    expect(breach).toMatchObject({ openedBy: clientIdOf('kettering-borough-council'), overdue: false, status: 'open' });

    const reopened = await call(`/v1/audit/alerts/${fishing!.id}/breach`, DPO, { method: 'POST' });
    expect(reopened.status).toBe(200);
    expect(reopened.body).toMatchObject({ id: breach.id, icoDeadline: breach.icoDeadline });
    const breaches = await call('/v1/audit/breaches', DPO);
    expect((breaches.body.breaches as { id: string }[]).map((b) => b.id)).toEqual([breach.id]);
    expect(
      ((await call('/v1/audit/alerts?status=breach-opened', DPO)).body.alerts as { id: string }[]).map((a) => a.id),
    ).toEqual([fishing!.id]);

    expect((await call(`/v1/audit/alerts/${'0'.repeat(32)}/breach`, DPO, { method: 'POST' })).status).toBe(404);
  });

  it('refuses every DPO view to roles no agreement names for audit', async () => {
    const to = new Date().toISOString();
    for (const who of [OFFICER, RP, { party: 'kettering-borough-council', roles: ['senior-officer'] }]) {
      const responses = [
        await call('/v1/audit/people/accesses', who, { body: { niNumber: AISHA_NI } }),
        await call(`/v1/audit/people/${rpRefForAisha}/accesses`, who),
        await call(`/v1/audit/clients/${rpClient}/activity?from=${started}&to=${to}`, who),
        await call('/v1/audit/alerts', who),
        await call('/v1/audit/alerts/evaluate', who, { method: 'POST' }),
        await call(`/v1/audit/alerts/${'0'.repeat(32)}/breach`, who, { method: 'POST' }),
        await call('/v1/audit/breaches', who),
      ];
      for (const res of responses) {
        expect(res.status).toBe(403);
        expect(res.body.type).toBe('urn:lintel:problem:role-not-permitted');
        expect(res.text).not.toContain('rp-aisha');
      }
    }
  });
});

describe('DPO API: an entry about two people', () => {
  const PURPOSE = 'homelessness-prevention';
  const DPO = { party: 'la-housing', roles: ['dpo'] };
  let t: TestHost;
  let started: string;

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    started = new Date(Date.now() - 1000).toISOString();
    await insertRecord(t.host.services, jonathanIn('la-housing', 'Smyth', { inTemporaryAccommodation: true }));
    await insertRecord(t.host.services, jonathanIn('la-childrens-social-care', 'Smith', { childProtection: true }));
    await linkForReview(t, 'social-care-education-housing');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("gives a link review one reference per person, each leading to that person's accesses", async () => {
    const officer = { party: 'la-housing', roles: ['housing-officer'], purpose: PURPOSE };
    const search = await callApi(t, '/v1/people/search', {
      ...officer,
      body: { givenName: 'Jonathan', familyName: 'Smyth', dateOfBirth: '2012-03-04' },
    });
    expect(search.status).toBe(200);
    const [candidate] = await listedCandidateIds(t);
    expect((await asHousingReviewer(t, `/v1/link-candidates/${candidate!}`)).status).toBe(200);

    const to = new Date(Date.now() + 60_000).toISOString();
    const activity = await callApi(
      t,
      `/v1/audit/clients/${clientIdOf('la-housing')}/activity?from=${encodeURIComponent(started)}&to=${encodeURIComponent(to)}`,
      DPO,
    );
    expect(activity.status).toBe(200);
    type Entry = { action: string; subjectRef: string | null; subjectRefs: string[] };
    const entries = activity.body.entries as Entry[];
    const searched = entries.find((e) => e.action === 'person.search')!;
    const reviewed = entries.find((e) => e.action === 'link.candidate')!;
    expect(searched.subjectRefs).toEqual([searched.subjectRef]);
    expect(entries.find((e) => e.action === 'link.candidates')).toMatchObject({ subjectRef: null, subjectRefs: [] });
    expect(reviewed.subjectRefs).toHaveLength(2);
    expect(reviewed.subjectRef).toBe(reviewed.subjectRefs[0]);
    // Smyth, whom the officer searched for, is one of the two; Smith is the other.
    expect(reviewed.subjectRefs).toContain(searched.subjectRef);
    const smith = reviewed.subjectRefs.find((ref) => ref !== searched.subjectRef)!;

    const actionsOf = async (ref: string) => {
      const res = await callApi(t, `/v1/audit/people/${ref}/accesses`, DPO);
      expect(res.status).toBe(200);
      return (res.body.entries as { action: string }[]).map((e) => e.action);
    };
    expect(await actionsOf(searched.subjectRef!)).toEqual(['person.search', 'link.candidate']);
    expect(await actionsOf(smith)).toEqual(['link.candidate']);
  });
});

describe('DPO API: a subject access request for someone held as two people', () => {
  const DATASET = 'multiple-disadvantage-indicators';
  const DPO = { party: 'la-housing', roles: ['dpo'] };
  const OFFICER = { party: 'la-housing', roles: ['housing-officer'], purpose: 'homelessness-prevention' };
  const [HOUSING_NHS, CARE_NHS] = [nhs(1234), nhs(5678)];
  let t: TestHost;
  let housing: string;
  let care: string;
  const alice = (partyId: string, nhsNumber: string, attributes: Record<string, unknown>) =>
    insertRecord(t.host.services, {
      partyId,
      datasetId: DATASET,
      givenName: 'Alice',
      familyName: 'Smith',
      dateOfBirth: '2012-03-04',
      identifiers: { nhs: nhsNumber },
      attributes: { firstName: 'Alice', lastName: 'Smith', ...attributes },
    });

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    // Two NHS numbers keep them apart (a mistyped one, say): two person ids.
    housing = (await alice('la-housing', HOUSING_NHS, { inTemporaryAccommodation: true })).personId;
    care = (await alice('la-childrens-social-care', CARE_NHS, { childProtection: true })).personId;
    expect(housing).not.toBe(care);
    expect((await callApi(t, '/v1/people/search', { ...OFFICER, body: { nhsNumber: HOUSING_NHS } })).status).toBe(200);
    expect((await callApi(t, '/v1/people/search', { ...OFFICER, body: { nhsNumber: CARE_NHS } })).status).toBe(404);
  });
  afterAll(async () => {
    await t?.stop();
  });

  const searchesOf = async (ref: string) => {
    const res = await callApi(t, `/v1/audit/people/${ref}/accesses`, DPO);
    expect(res.status).toBe(200);
    return (res.body.entries as { action: string }[]).filter((e) => e.action === 'person.search').length;
  };

  it('shows the person the surest tier found, and names the other match, whose accesses are found by following it', async () => {
    const res = await callApi(t, '/v1/audit/people/accesses', {
      ...DPO,
      body: { nhsNumber: HOUSING_NHS, givenName: 'Alice', familyName: 'Smith', dateOfBirth: '2012-03-04' },
    });
    expect(res.status).toBe(200);
    expect((res.body.entries as { action: string }[]).filter((e) => e.action === 'person.search')).toHaveLength(1);
    const others = res.body.otherMatches as { personRef: string; tier: number }[];
    expect(others).toHaveLength(1);
    expect(others[0]!.tier).toBe(3);
    expect(others[0]!.personRef).not.toBe(res.body.personRef);
    expect(await searchesOf(others[0]!.personRef)).toBe(1);
  });

  it('answers names and date of birth that match both with each reference, not with nothing', async () => {
    const res = await callApi(t, '/v1/audit/people/accesses', {
      ...DPO,
      body: { givenName: 'Alice', familyName: 'Smith', dateOfBirth: '2012-03-04' },
    });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ type: 'urn:lintel:problem:unsettled-match', reason: 'ambiguous' });
    const matches = res.body.matches as { personRef: string; tier: number }[];
    expect(matches.map((m) => m.tier)).toEqual([3, 3]);
    expect((await Promise.all(matches.map((m) => searchesOf(m.personRef)))).sort()).toEqual([1, 1]);
  });

  const lastEntry = () =>
    t.host.services.store.db
      .selectFrom('access_log')
      .select(['reason_code', 'subject_ref'])
      .where('action', '=', 'audit.person-accesses')
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();

  it('answers one person whom another identifier given contradicts as unsettled', async () => {
    const { personId: bob } = await insertRecord(t.host.services, {
      partyId: 'la-housing',
      datasetId: DATASET,
      givenName: 'Bob',
      familyName: 'Jones',
      dateOfBirth: '2010-01-01',
      identifiers: { nhs: nhs(7777) },
      attributes: { firstName: 'Bob', lastName: 'Jones', inTemporaryAccommodation: true },
    });
    const res = await callApi(t, '/v1/audit/people/accesses', {
      ...DPO,
      body: { nhsNumber: nhs(9000), givenName: 'Bob', familyName: 'Jones', dateOfBirth: '2010-01-01' },
    });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ type: 'urn:lintel:problem:unsettled-match', reason: 'identifier-conflict' });
    expect(res.body.matches).toHaveLength(1);
    // The log names no one: a subject column holds at most two person ids (SQL Server: 100 characters).
    expect(await lastEntry()).toEqual({ reason_code: 'identifier-conflict', subject_ref: null });
    expect(bob).not.toBeNull();
  });
});
