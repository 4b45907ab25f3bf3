import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asHousingReviewer, jonathanIn, linkForReview, listedCandidateIds } from '../support/linked-people.js';
import { providerAlert } from '../support/alerts.js';
import { insertRecord } from '../support/records.js';
import { callApi, clientIdOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * The OpenAPI document gives a candidate's and a breach record's id as a UUID (`format: uuid`,
 * upper- or lower-case hex), and a UUID is the same id in either case (RFC 9562 §4). A reviewer or
 * DPO whose tool writes GUIDs in upper case (SQL Server shows a uniqueidentifier so) was answered
 * 404, as if the candidate or breach record did not exist, where `DELETE /v1/consents/{id}` takes
 * either case.
 */
describe('a UUID in a path, in upper case', () => {
  let t: TestHost;
  const DPO = { party: 'kettering-borough-council', roles: ['dpo'] };
  const alertId = 'c'.repeat(32);
  const breachId = '00000000-0000-4000-8000-0000000000ab';

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const { services } = t.host;
    await insertRecord(services, jonathanIn('la-housing', 'Smyth', { inTemporaryAccommodation: true }));
    await insertRecord(services, jonathanIn('la-childrens-social-care', 'Smith', { childProtection: true }));
    await linkForReview(t, 'social-care-education-housing');
    const at = new Date(Date.now() - 3_600_000).toISOString();
    await services.store.db
      .insertInto('audit_alert')
      .values(providerAlert(alertId, at, { status: 'breach-opened' }))
      .execute();
    await services.store.db
      .insertInto('breach_record')
      .values({
        id: breachId,
        alert_id: alertId,
        opened_at: at,
        opened_by: clientIdOf('kettering-borough-council'),
        ico_deadline: new Date(Date.parse(at) + 72 * 3_600_000).toISOString(),
        status: 'open',
      })
      .execute();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('shows and decides a link candidate named by its id in upper case', async () => {
    const [id] = await listedCandidateIds(t);
    expect(id).toBeDefined();
    const shown = await asHousingReviewer(t, `/v1/link-candidates/${id!.toUpperCase()}`);
    expect(shown.status, shown.text).toBe(200);
    expect(shown.body.candidateId).toBe(id);
    const rejected = await asHousingReviewer(t, `/v1/link-candidates/${id!.toUpperCase()}/reject`, { method: 'POST' });
    expect(rejected.status, rejected.text).toBe(200);
    expect(rejected.body).toMatchObject({ candidateId: id, decision: 'rejected' });
  });

  it('records a step on a breach record named by its id in upper case', async () => {
    const res = await callApi(t, `/v1/audit/breaches/${breachId.toUpperCase()}/steps`, {
      ...DPO,
      body: { step: 'not-reportable', reason: 'accesses-authorised' },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ id: breachId, notReportable: { reason: 'accesses-authorised' } });
  });
});
