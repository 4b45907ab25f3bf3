import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openedBreach, providerAlert } from '../support/alerts.js';
import { callApi, reasonCodesOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * What a DPO records on a breach record after opening it (UK GDPR Art. 33; the Keyways DSA 7.2:
 * "inform each Party together with the Information Commissioner's Office ... within 72 hours"):
 * the ICO notified, the partner parties notified, or the breach judged not reportable (Art.
 * 33(5): documented all the same, by a reason code), and then closed. A breach whose ICO
 * notification is recorded, or that was judged not reportable, is no longer overdue; one
 * notified after its deadline says so.
 */
describe("a DPO's steps on a breach record", () => {
  let t: TestHost;
  const DPO = { party: 'kettering-borough-council', roles: ['dpo'] };
  const HOUR = 3_600_000;
  const alertId = (i: number) => String(i).padStart(32, 'b');
  const breachId = (i: number) => `00000000-0000-4000-8000-00000000010${i}`;
  let openedAt: Date[];

  type Breach = {
    id: string;
    status: string;
    icoDeadline: string;
    icoNotifiedAt: string | null;
    partnersNotifiedAt: string | null;
    notReportable: { reason: string; at: string } | null;
    closedAt: string | null;
    hoursRemaining: number | null;
    overdue: boolean;
    notifiedLate: boolean;
  };
  const step = (i: number, body: unknown, who = DPO) =>
    callApi(t, `/v1/audit/breaches/${breachId(i)}/steps`, { ...who, body });
  const listed = async (i: number) => {
    const res = await callApi(t, '/v1/audit/breaches?limit=500', DPO);
    expect(res.status).toBe(200);
    return (res.body.breaches as Breach[]).find((b) => b.id === breachId(i))!;
  };
  const hoursAfter = (at: Date, hours: number) => new Date(at.getTime() + hours * HOUR).toISOString();

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const now = Date.now();
    // Breach 0 and 2 opened 80 hours ago (past their deadline), 1, 3 and 4 ten hours ago.
    openedAt = [80, 10, 80, 10, 10].map((h) => new Date(now - h * HOUR));
    const { db } = t.host.services.store;
    await db
      .insertInto('audit_alert')
      .values(openedAt.map((at, i) => providerAlert(alertId(i), at.toISOString(), { status: 'breach-opened' })))
      .execute();
    await db
      .insertInto('breach_record')
      .values(openedAt.map((at, i) => openedBreach(breachId(i), alertId(i), at)))
      .execute();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('shows a breach past its deadline as overdue until the ICO notification is recorded, then as notified late', async () => {
    expect(await listed(0)).toMatchObject({
      status: 'open',
      overdue: true,
      icoNotifiedAt: null,
      notifiedLate: false,
    });
    const at = hoursAfter(openedAt[0]!, 75);
    const res = await step(0, { step: 'ico-notified', at });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: breachId(0),
      status: 'notified',
      icoNotifiedAt: at,
      overdue: false,
      notifiedLate: true,
      hoursRemaining: null,
    });
    expect(await listed(0)).toMatchObject({
      status: 'notified',
      icoNotifiedAt: at,
      overdue: false,
      notifiedLate: true,
    });
  });

  it('records a notification in time, the partners told, and the close, each once', async () => {
    const icoAt = hoursAfter(openedAt[1]!, 2);
    const partnersAt = hoursAfter(openedAt[1]!, 3);
    expect((await step(1, { step: 'ico-notified', at: icoAt })).body).toMatchObject({
      status: 'notified',
      notifiedLate: false,
      overdue: false,
    });
    const told = await step(1, { step: 'partners-notified', at: partnersAt });
    expect(told.status).toBe(200);
    expect(told.body).toMatchObject({ icoNotifiedAt: icoAt, partnersNotifiedAt: partnersAt });
    // Sent again as it was (a retry): the record as it is.
    expect((await step(1, { step: 'ico-notified', at: icoAt })).status).toBe(200);
    // Another time for a step on record: refused, the first stands.
    const changed = await step(1, { step: 'ico-notified', at: hoursAfter(openedAt[1]!, 1) });
    expect(changed.status).toBe(409);
    expect(changed.type).toBe('application/problem+json');
    expect(changed.body).toMatchObject({ type: 'urn:lintel:problem:breach-step-refused', reason: 'already-recorded' });
    // Judged not reportable once the ICO has it: refused.
    const judged = await step(1, { step: 'not-reportable', reason: 'unlikely-to-result-in-risk' });
    expect(judged.status).toBe(409);
    expect(judged.body).toMatchObject({ type: 'urn:lintel:problem:breach-step-refused', reason: 'ico-notified' });

    const closed = await step(1, { step: 'closed' });
    expect(closed.status).toBe(200);
    expect(closed.body).toMatchObject({ status: 'closed', icoNotifiedAt: icoAt, partnersNotifiedAt: partnersAt });
    expect(typeof (closed.body as Breach).closedAt).toBe('string');
    expect((await listed(1)).status).toBe('closed');
    // Closed: nothing more is recorded on it.
    const after = await step(1, { step: 'partners-notified', at: partnersAt.replace(/\.\d+Z$/, '.999Z') });
    expect(after.status).toBe(409);
    expect(after.body).toMatchObject({ type: 'urn:lintel:problem:breach-step-refused', reason: 'closed' });

    expect(await reasonCodesOf(t, 'kettering-borough-council', 'audit.breach-step')).toEqual(
      expect.arrayContaining([
        'breach-ico-notified',
        'breach-partners-notified',
        'breach-closed',
        'breach-step-refused',
      ]),
    );
  });

  it('documents a breach judged not reportable by a reason code, and no longer shows it overdue', async () => {
    expect((await listed(2)).overdue).toBe(true);
    // No free text: a reason is one of a fixed list.
    const free = await step(2, { step: 'not-reportable', reason: 'Mrs Smith said it was fine' });
    expect(free.status).toBe(400);
    expect(free.body.type).toBe('urn:lintel:problem:invalid-request');
    expect(free.text).not.toContain('Smith');

    const judged = await step(2, { step: 'not-reportable', reason: 'no-personal-data-released' });
    expect(judged.status).toBe(200);
    expect(judged.body).toMatchObject({
      status: 'open',
      overdue: false,
      icoNotifiedAt: null,
      notifiedLate: false,
      hoursRemaining: null,
      notReportable: { reason: 'no-personal-data-released' },
    });
    expect((await listed(2)).overdue).toBe(false);
    // The Keyways DSA asks the partners told of any breach, reportable to the ICO or not.
    expect((await step(2, { step: 'partners-notified', at: hoursAfter(openedAt[2]!, 1) })).status).toBe(200);
    expect((await step(2, { step: 'closed' })).body).toMatchObject({ status: 'closed' });
  });

  it('refuses to close a breach before the ICO is notified or it is judged not reportable', async () => {
    const res = await step(3, { step: 'closed' });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ type: 'urn:lintel:problem:breach-step-refused', reason: 'reporting-undecided' });
    expect(await listed(3)).toMatchObject({ status: 'open', closedAt: null });
  });

  it('refuses a notification time in the future', async () => {
    const res = await step(3, { step: 'ico-notified', at: new Date(Date.now() + HOUR).toISOString() });
    expect(res.status).toBe(400);
    expect(res.body.type).toBe('urn:lintel:problem:invalid-request');
    expect((await listed(3)).icoNotifiedAt).toBeNull();
  });

  it('refuses a step time before the breach began (a mistyped year), not stored as "not late"', async () => {
    const yearEarly = new Date(openedAt[3]!.getTime() - 365 * 24 * HOUR).toISOString();
    for (const which of ['ico-notified', 'partners-notified']) {
      const res = await step(3, { step: which, at: yearEarly });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        type: 'urn:lintel:problem:invalid-request',
        detail: 'at must not be before the breach began (the start of its alert window).',
      });
    }
    expect(await listed(3)).toMatchObject({ icoNotifiedAt: null, partnersNotifiedAt: null, notifiedLate: false });
  });

  it('keeps the breach of another agreement, or none, unknown, and the step to the roles that audit', async () => {
    const dudley = await step(3, { step: 'closed' }, { party: 'dudley-housing-options', roles: ['dpo'] });
    expect(dudley.status).toBe(404);
    expect(dudley.body.type).toBe('urn:lintel:problem:not-found');
    const unknown = await callApi(t, '/v1/audit/breaches/00000000-0000-4000-8000-0000000009ff/steps', {
      ...DPO,
      body: { step: 'closed' },
    });
    expect(unknown.status).toBe(404);
    // Nothing tells the caller the other agreement's breach exists.
    expect(unknown.text).toBe(dudley.text);
    const officer = await step(
      3,
      { step: 'closed' },
      { party: 'kettering-borough-council', roles: ['housing-officer'] },
    );
    expect(officer.status).toBe(403);
    expect(officer.body.type).toBe('urn:lintel:problem:role-not-permitted');
  });

  it('records nothing when the access log cannot take the entry', async () => {
    const db = t.host.services.store.db;
    await sql`alter table access_log rename to access_log_unreachable`.execute(db);
    try {
      expect((await step(4, { step: 'ico-notified', at: hoursAfter(openedAt[4]!, 1) })).status).toBe(503);
    } finally {
      await sql`alter table access_log_unreachable rename to access_log`.execute(db);
    }
    expect(await listed(4)).toMatchObject({ status: 'open', icoNotifiedAt: null, overdue: false });
  });
});
