import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openedBreach, providerAlert } from '../support/alerts.js';
import { asHousingReviewer, jonathanIn, linkBetween, linkForReview } from '../support/linked-people.js';
import { insertRecord } from '../support/records.js';
import { callApi, startTestHost, type ApiAnswer, type TestHost } from '../support/test-host.js';

const AGREEMENT = 'social-care-education-housing';

/**
 * README, step 6: "an officer's link decision and a breach record opened by a DPO are committed
 * only once their entry is durable, and rolled back if it cannot be written". With the log
 * readable but refusing every new entry (a full disk, a lock held past the timeout), an
 * officer's confirmation or rejection, a DPO's opening of a breach record and a step on one each
 * answer 503 and leave the store as it was; the reads beside them answer 503 with nothing of
 * what they would show. Once the log takes entries again, the same calls are decided.
 */
describe('link decisions and breach records while the access log refuses every new entry', () => {
  let t: TestHost;
  let candidateId: string;
  const DPO = { party: 'kettering-borough-council', roles: ['dpo'] };
  const alertId = 'a'.repeat(32);
  const breachedAlertId = 'b'.repeat(32);
  const breachId = '00000000-0000-4000-8000-000000000201';
  const notReportable = { step: 'not-reportable', reason: 'accesses-authorised' };

  const confirm = () => asHousingReviewer(t, `/v1/link-candidates/${candidateId}/confirm`, { method: 'POST' });
  const reject = () => asHousingReviewer(t, `/v1/link-candidates/${candidateId}/reject`, { method: 'POST' });
  const openBreach = () => callApi(t, `/v1/audit/alerts/${alertId}/breach`, { ...DPO, method: 'POST' });
  const judgeBreach = () => callApi(t, `/v1/audit/breaches/${breachId}/steps`, { ...DPO, body: notReportable });

  /** What the calls would change: decisions, links, alerts and breach records. */
  const decided = async () => {
    const { db } = t.host.services.store;
    return {
      decisions: await db.selectFrom('link_decision').selectAll().execute(),
      links: await db.selectFrom('record_link').select(['id', 'status']).orderBy('id').execute(),
      alerts: await db.selectFrom('audit_alert').select(['id', 'status']).orderBy('id').execute(),
      breaches: await db.selectFrom('breach_record').selectAll().orderBy('id').execute(),
    };
  };
  const expectNothingReleased = (res: ApiAnswer) => {
    expect(res.status).toBe(503);
    expect(res.type).toBe('application/problem+json');
    expect(res.body).toMatchObject({ type: 'urn:lintel:problem:audit-log-unavailable', status: 503 });
    expect(Object.keys(res.body).sort()).toEqual(['detail', 'status', 'title', 'type']);
  };

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const s = t.host.services;
    const housing = await insertRecord(s, jonathanIn('la-housing', 'Smyth', { inTemporaryAccommodation: true }));
    const childrens = await insertRecord(s, jonathanIn('la-childrens-social-care', 'Smith', { childProtection: true }));
    await linkForReview(t, AGREEMENT);
    candidateId = (await linkBetween(t, housing.recordId, childrens.recordId, { agreementId: AGREEMENT })).id;
    const anHourAgo = new Date(Date.now() - 3_600_000);
    await s.store.db
      .insertInto('audit_alert')
      .values([
        providerAlert(alertId, anHourAgo.toISOString()),
        providerAlert(breachedAlertId, anHourAgo.toISOString(), { status: 'breach-opened' }),
      ])
      .execute();
    await s.store.db
      .insertInto('breach_record')
      .values(openedBreach(breachId, breachedAlertId, anHourAgo))
      .execute();
    await sql`create trigger audit.access_log_refuses before insert on access_log begin select raise(abort, 'full'); end`.execute(
      s.store.db,
    );
  });
  afterAll(async () => {
    await t?.stop();
  });

  it.each([
    ['a link confirmation', confirm],
    ['a link rejection', reject],
    ['a breach record opened from an alert', openBreach],
    ['a step on a breach record', judgeBreach],
    ['the candidate list', () => asHousingReviewer(t, '/v1/link-candidates')],
    ['a candidate', () => asHousingReviewer(t, `/v1/link-candidates/${candidateId}`)],
    ['the alerts', () => callApi(t, '/v1/audit/alerts', DPO)],
    ['the breach records', () => callApi(t, '/v1/audit/breaches', DPO)],
    ['a breach record', () => callApi(t, `/v1/audit/breaches/${breachId}`, DPO)],
    ['an inclusion proof', () => callApi(t, '/v1/audit/proofs/inclusion?seq=1', DPO)],
    ['a consistency proof', () => callApi(t, '/v1/audit/proofs/consistency?from=1&to=2', DPO)],
  ])('%s: 503 audit-log-unavailable, and nothing decided', async (_name, make) => {
    const before = await decided();
    expectNothingReleased(await make());
    expect(await decided()).toEqual(before);
  });

  it('decides the same calls once the log takes entries again', async () => {
    await sql`drop trigger audit.access_log_refuses`.execute(t.host.services.store.db);
    expect((await confirm()).status).toBe(200);
    expect((await openBreach()).status).toBe(201);
    expect((await judgeBreach()).body).toMatchObject({
      id: breachId,
      notReportable: { reason: 'accesses-authorised' },
    });
    const { decisions, alerts, breaches } = await decided();
    expect(decisions).not.toEqual([]);
    expect(alerts).toContainEqual({ id: alertId, status: 'breach-opened' });
    expect(breaches).toHaveLength(2);
  });
});
