import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AccessLogWriter } from '../../shared/audit/access-log.js';
import { insertRecord, SAM, SAM_PARTICIPANT } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

const dudley = { party: 'dudley-housing-options', roles: ['housing-officer'] };

/** Dudley's housing officer records Sam's consent to research, under the given request id. */
async function recordSamsConsent(t: TestHost, requestId: string) {
  const res = await fetch(`${t.url}/api/v1/consents`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await t.token(dudley.party, dudley.roles)}`,
      'content-type': 'application/json',
      'x-purpose': 'research-evaluation',
      'x-request-id': requestId,
    },
    body: JSON.stringify({ subject: SAM, evidenceRef: 'REF-1' }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/**
 * The log's writer commits its next write and then fails, as a thread that exits after its
 * commit would: the entry durable, its acknowledgement lost. The spy, to restore.
 */
function loseNextAcknowledgement(t: TestHost) {
  const writer = (t.host.services.accessLog as unknown as { writer: AccessLogWriter }).writer;
  const write = writer.write.bind(writer);
  return vi.spyOn(writer, 'write').mockImplementationOnce(async (records, time) => {
    await write(records, time);
    throw new Error('access-log thread exited (1)');
  });
}

/** A request's access-log entries, in order. */
const requestEntries = (t: TestHost, requestId: string) =>
  t.host.services.store.db
    .selectFrom('access_log')
    .select(['decision', 'reason_code'])
    .where('request_id', '=', requestId)
    .orderBy('seq')
    .execute();

/**
 * A change's access-log entry is made durable before its transaction commits (write-ahead). If
 * the commit then fails, the log must not be left claiming a change the store never made: the
 * call gets a second entry under its request id, `change-not-committed`, and a 500.
 *
 * The commit is made to fail for real, by SQLite itself: a trigger on consent_event adds a row
 * whose deferred foreign key points nowhere, and deferred keys are checked at COMMIT.
 */
describe('a change whose entry was written but whose commit failed', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startTestHost();
    await insertRecord(t.host.services, SAM_PARTICIPANT);
  });
  afterAll(async () => t?.stop());

  const recordConsent = (requestId: string) => recordSamsConsent(t, requestId);
  const entriesOf = (requestId: string) => requestEntries(t, requestId);

  it('logs the failure after the entry, answers 500, and records nothing', async () => {
    const { db } = t.host.services.store;
    await sql`create table commit_fault_parent (id integer primary key)`.execute(db);
    await sql`create table commit_fault (parent integer references commit_fault_parent (id) deferrable initially deferred)`.execute(
      db,
    );
    await sql`create trigger commit_fault_on_consent after insert on consent_event
      begin insert into commit_fault (parent) values (1); end`.execute(db);

    const requestId = '0b7f1c62-4c1e-4a57-9a43-5f1f3a2d9e01';
    const failed = await recordConsent(requestId);
    expect(failed.status).toBe(500);
    expect(failed.body).toMatchObject({ type: 'urn:lintel:problem:internal-error' });
    expect(await db.selectFrom('consent_event').select('event_id').execute()).toEqual([]);
    expect(await entriesOf(requestId)).toEqual([
      { decision: 'allow', reason_code: 'consent-recorded' },
      { decision: 'deny', reason_code: 'change-not-committed' },
    ]);

    await sql`drop trigger commit_fault_on_consent`.execute(db);
    const retried = '0b7f1c62-4c1e-4a57-9a43-5f1f3a2d9e02';
    expect((await recordConsent(retried)).status).toBe(201);
    expect(await entriesOf(retried)).toEqual([{ decision: 'allow', reason_code: 'consent-recorded' }]);
  });
});

/**
 * The other way round: the entry was committed, but its writer's answer never came back (the
 * writer thread lost after its commit; on SQL Server the acknowledgement of a COMMIT lost on the
 * network). The append fails, so the change is rolled back, and the durable entry was left saying
 * `allow` for a change the store never made, with no follow-up (found by a defect hunt). The
 * answer is still 503: whether the entry was written is not known here.
 */
describe('a change whose entry was committed but whose acknowledgement was lost', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startTestHost();
    await insertRecord(t.host.services, SAM_PARTICIPANT);
  });
  afterAll(async () => t?.stop());

  const recordConsent = (requestId: string) => recordSamsConsent(t, requestId);
  const entriesOf = (requestId: string) => requestEntries(t, requestId);

  it('follows an entry whose acknowledgement was lost with change-not-committed, and records nothing', async () => {
    const { db } = t.host.services.store;
    const spy = loseNextAcknowledgement(t);
    try {
      const requestId = '0b7f1c62-4c1e-4a57-9a43-5f1f3a2d9e03';
      const lost = await recordConsent(requestId);
      expect(lost.status).toBe(503);
      expect(lost.body).toMatchObject({ type: 'urn:lintel:problem:audit-log-unavailable' });
      expect(await db.selectFrom('consent_event').select('event_id').execute()).toEqual([]);
      expect(await entriesOf(requestId)).toEqual([
        { decision: 'allow', reason_code: 'consent-recorded' },
        { decision: 'deny', reason_code: 'change-not-committed' },
      ]);
    } finally {
      spy.mockRestore();
    }
    // Sent again, it is recorded, with the one entry.
    const retried = '0b7f1c62-4c1e-4a57-9a43-5f1f3a2d9e04';
    expect((await recordConsent(retried)).status).toBe(201);
    expect(await entriesOf(retried)).toEqual([{ decision: 'allow', reason_code: 'consent-recorded' }]);
  });
});

/**
 * The same for a lookup: its one entry, written after the answer was made and before it is sent,
 * was committed, but the writer's answer never came back. The caller got 503 and nothing else,
 * and the log was left saying `allow` with the fields released, so a subject access request
 * would tell the person their data went to a caller that got none of it (found by a defect hunt).
 * A second entry, `response-not-sent`, about the same person and datasets and releasing nothing,
 * follows it, as `change-not-committed` follows a change's.
 */
describe('a lookup whose entry was committed but whose acknowledgement was lost', () => {
  let t: TestHost;
  const NI = 'JG103759A';

  beforeAll(async () => {
    t = await startTestHost();
    await insertRecord(t.host.services, {
      partyId: 'kettering-borough-council',
      datasetId: 'keyways-housing-register',
      givenName: 'Aisha',
      familyName: "O'Connor",
      dateOfBirth: '1990-04-12',
      identifiers: { ni: 'JG103759' },
      attributes: { firstName: 'Aisha', lastName: "O'Connor", dateOfBirth: '1990-04-12', nationalInsuranceNumber: NI },
    });
  });
  afterAll(async () => t?.stop());

  const search = (requestId: string) =>
    callApi(t, '/v1/people/search', {
      party: 'keyways-registered-providers',
      roles: ['rp-lettings'],
      purpose: 'housing-allocation',
      headers: { 'x-request-id': requestId },
      body: { niNumber: NI },
    });

  const entriesOf = (requestId: string) =>
    t.host.services.store.db
      .selectFrom('access_log')
      .select(['decision', 'reason_code', 'subject_ref', 'datasets', 'fields'])
      .where('request_id', '=', requestId)
      .orderBy('seq')
      .execute();

  it('follows an entry whose acknowledgement was lost with response-not-sent about the same person', async () => {
    const spy = loseNextAcknowledgement(t);
    const requestId = '0b7f1c62-4c1e-4a57-9a43-5f1f3a2d9e05';
    try {
      const lost = await search(requestId);
      expect(lost.status).toBe(503);
      expect(lost.body).toMatchObject({ type: 'urn:lintel:problem:audit-log-unavailable' });
      expect(lost.text).not.toContain('Aisha');
    } finally {
      spy.mockRestore();
    }
    const [allowed, followUp, ...more] = await entriesOf(requestId);
    expect(more).toEqual([]);
    expect(allowed).toMatchObject({ decision: 'allow', subject_ref: expect.any(String) });
    expect(JSON.parse(allowed!.fields)).not.toEqual([]);
    expect(followUp).toEqual({
      decision: 'deny',
      reason_code: 'response-not-sent',
      subject_ref: allowed!.subject_ref,
      datasets: allowed!.datasets,
      fields: '[]',
    });

    // Sent again, it is answered, with the one entry.
    const retried = '0b7f1c62-4c1e-4a57-9a43-5f1f3a2d9e06';
    expect((await search(retried)).status).toBe(200);
    expect((await entriesOf(retried)).map((e) => e.decision)).toEqual(['allow']);
  });
});

/**
 * The follow-up of a change that did not commit corrects the entry before it, and is read where
 * that entry is read: a subject access request finds a person's entries by their subject, and a
 * DPO's scope takes an entry by its purpose and datasets (entry-agreements.ts). Written with
 * none of them, `change-not-committed` was missing from Sam's answer, which showed Dudley's
 * `allow consent-recorded` as if Sam's consent had been recorded (found by a review; the
 * lookups' `response-not-sent` carried them from the first). So it carries the purpose, subject
 * and datasets of the entry it corrects, and releases nothing, whichever way the change failed.
 */
describe("a change that did not commit, in the person's subject access answer", () => {
  let t: TestHost;
  const dpo = { party: 'dudley-housing-options', roles: ['dpo'] };

  beforeAll(async () => {
    t = await startTestHost();
    await insertRecord(t.host.services, SAM_PARTICIPANT);
  });
  afterAll(async () => t?.stop());

  /** The request's entries as stored, and as Dudley's DPO is shown them in Sam's subject access answer. */
  async function asReadBack(requestId: string) {
    const stored = await t.host.services.store.db
      .selectFrom('access_log')
      .select(['decision', 'reason_code', 'purpose', 'subject_ref', 'datasets', 'fields'])
      .where('request_id', '=', requestId)
      .orderBy('seq')
      .execute();
    const sar = await callApi(t, '/v1/audit/people/accesses', { ...dpo, body: SAM });
    expect(sar.status, sar.text).toBe(200);
    const shown = (sar.body.entries as { requestId: string; decision: string; reasonCode: string }[])
      .filter((e) => e.requestId === requestId)
      .map((e) => `${e.decision} ${e.reasonCode}`);
    return { stored, shown };
  }

  function expectFollowedUp({ stored, shown }: Awaited<ReturnType<typeof asReadBack>>) {
    expect(shown).toEqual(['allow consent-recorded', 'deny change-not-committed']);
    const [entry, followUp, ...more] = stored;
    expect(more).toEqual([]);
    expect(entry).toMatchObject({
      decision: 'allow',
      reason_code: 'consent-recorded',
      subject_ref: expect.any(String),
    });
    expect(followUp).toEqual({
      decision: 'deny',
      reason_code: 'change-not-committed',
      purpose: entry!.purpose,
      subject_ref: entry!.subject_ref,
      datasets: entry!.datasets,
      fields: '[]',
    });
  }

  it('shows change-not-committed beside the entry when the commit failed', async () => {
    const { db } = t.host.services.store;
    await sql`create table commit_fault_parent (id integer primary key)`.execute(db);
    await sql`create table commit_fault (parent integer references commit_fault_parent (id) deferrable initially deferred)`.execute(
      db,
    );
    await sql`create trigger commit_fault_on_consent after insert on consent_event
      begin insert into commit_fault (parent) values (1); end`.execute(db);
    const requestId = '0b7f1c62-4c1e-4a57-9a43-5f1f3a2d9e07';
    try {
      expect((await recordSamsConsent(t, requestId)).status).toBe(500);
    } finally {
      await sql`drop trigger commit_fault_on_consent`.execute(db);
    }
    expectFollowedUp(await asReadBack(requestId));
  });

  it("shows change-not-committed beside the entry when the entry's acknowledgement was lost", async () => {
    const spy = loseNextAcknowledgement(t);
    const requestId = '0b7f1c62-4c1e-4a57-9a43-5f1f3a2d9e08';
    try {
      expect((await recordSamsConsent(t, requestId)).status).toBe(503);
    } finally {
      spy.mockRestore();
    }
    expectFollowedUp(await asReadBack(requestId));
  });
});
