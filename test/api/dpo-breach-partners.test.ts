import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openedBreach, providerAlert } from '../support/alerts.js';
import { callApi, clientIdOf, reasonCodesOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * The Keyways DSA 7.2: "Each Party shall keep the personal data secure and inform each Party
 * together with the Information Commissioner's Office of any security breaches in relation to the
 * personal data within 72 hours of becoming aware of such breach." A breach under it shows the
 * partners' deadline as it shows the ICO's, and is not closed until the partners are told, unless
 * the accesses were judged authorised (no breach). The ISA asks nothing of the kind: a breach under
 * it has no partners' deadline.
 */
describe("a breach record's deadline for telling the partner parties", () => {
  let t: TestHost;
  const DPO = { party: 'kettering-borough-council', roles: ['dpo'] };
  const ISA_DPO = { party: 'la-housing', roles: ['dpo'] };
  const HOUR = 3_600_000;
  const KEYWAYS = 'keyways-housing-allocation';
  const alertId = (i: number) => String(i).padStart(32, 'c');
  const breachId = (i: number) => `00000000-0000-4000-8000-00000000020${i}`;
  const hoursAfter = (at: Date, hours: number) => new Date(at.getTime() + hours * HOUR).toISOString();
  let openedAt: Date[];

  const step = (i: number, body: unknown, who = DPO) =>
    callApi(t, `/v1/audit/breaches/${breachId(i)}/steps`, { ...who, body });
  const read = (i: number, who = DPO) => callApi(t, `/v1/audit/breaches/${breachId(i)}`, who);

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const now = Date.now();
    // Records as they were opened before the partners' deadline was kept (no partners_deadline):
    // 0 under Keyways 80 hours ago, 1 under an alert that names no agreement (raised before alerts
    // carried one) ten hours ago, 2, 3 and 5 under Keyways ten hours ago, 4 under the ISA.
    openedAt = [80, 10, 10, 10, 10, 10].map((h) => new Date(now - h * HOUR));
    const agreementOf = [KEYWAYS, null, KEYWAYS, KEYWAYS, 'social-care-education-housing', KEYWAYS];
    const { db } = t.host.services.store;
    await db
      .insertInto('audit_alert')
      .values(
        openedAt.map((at, i) =>
          i === 4
            ? providerAlert(alertId(i), at.toISOString(), {
                client_id: clientIdOf('la-housing'),
                party_id: 'la-housing',
                agreement_id: agreementOf[i],
                status: 'breach-opened',
              })
            : providerAlert(alertId(i), at.toISOString(), { agreement_id: agreementOf[i], status: 'breach-opened' }),
        ),
      )
      .execute();
    await db
      .insertInto('breach_record')
      .values(openedAt.map((at, i) => openedBreach(breachId(i), alertId(i), at)))
      .execute();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('opens a Keyways breach with the partners due 72 hours after awareness, as the ICO is', async () => {
    const alert = 'e'.repeat(32);
    await t.host.services.store.db
      .insertInto('audit_alert')
      .values(providerAlert(alert, new Date().toISOString(), { agreement_id: KEYWAYS }))
      .execute();
    const res = await callApi(t, `/v1/audit/alerts/${alert}/breach`, { ...DPO, method: 'POST' });
    expect(res.status, res.text).toBe(201);
    expect(res.body.partnersDeadline).toBe(res.body.icoDeadline);
    expect(res.body).toMatchObject({ partnersOverdue: false, partnersNotifiedLate: false });
    expect(res.body.partnersHoursRemaining).toBeGreaterThan(71.8);
    expect(res.body.partnersHoursRemaining).toBeLessThanOrEqual(72);
  });

  it('shows an earlier Keyways breach past the partners’ deadline as overdue, then as told late', async () => {
    const before = await read(0);
    expect(before.status, before.text).toBe(200);
    expect(before.body).toMatchObject({
      partnersDeadline: hoursAfter(openedAt[0]!, 72),
      partnersOverdue: true,
      partnersNotifiedLate: false,
    });
    expect(before.body.partnersHoursRemaining).toBeLessThan(-7.9);
    const told = await step(0, { step: 'partners-notified', at: hoursAfter(openedAt[0]!, 75) });
    expect(told.status, told.text).toBe(200);
    expect(told.body).toMatchObject({
      partnersOverdue: false,
      partnersNotifiedLate: true,
      partnersHoursRemaining: null,
    });
    // The ICO's deadline is its own: still overdue until its notification is recorded.
    expect(told.body).toMatchObject({ overdue: true, notifiedLate: false });
  });

  it('holds a breach whose alert names no agreement to its party’s agreement, the Keyways DSA', async () => {
    expect((await read(1)).body).toMatchObject({
      partnersDeadline: hoursAfter(openedAt[1]!, 72),
      partnersOverdue: false,
    });
  });

  it('refuses to close a Keyways breach the ICO has until the partners are told', async () => {
    expect((await step(2, { step: 'ico-notified', at: hoursAfter(openedAt[2]!, 1) })).status).toBe(200);
    const refused = await step(2, { step: 'closed' });
    expect(refused.status).toBe(409);
    expect(refused.type).toBe('application/problem+json');
    expect(refused.body).toMatchObject({
      type: 'urn:lintel:problem:breach-step-refused',
      reason: 'partners-not-notified',
    });
    expect((await read(2)).body).toMatchObject({ status: 'notified', closedAt: null });

    expect((await step(2, { step: 'partners-notified', at: hoursAfter(openedAt[2]!, 2) })).status).toBe(200);
    const closed = await step(2, { step: 'closed' });
    expect(closed.status, closed.text).toBe(200);
    expect(closed.body).toMatchObject({ status: 'closed', partnersNotifiedLate: false, partnersOverdue: false });
    expect(await reasonCodesOf(t, 'kettering-borough-council', 'audit.breach-step')).toContain('breach-step-refused');
  });

  it('still asks the partners told of a breach not reportable to the ICO, but not of accesses judged authorised', async () => {
    expect((await step(3, { step: 'not-reportable', reason: 'unlikely-to-result-in-risk' })).status).toBe(200);
    const refused = await step(3, { step: 'closed' });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ reason: 'partners-not-notified' });
    expect((await read(3)).body.partnersHoursRemaining).toEqual(expect.any(Number));

    const authorised = await step(1, { step: 'not-reportable', reason: 'accesses-authorised' });
    expect(authorised.status, authorised.text).toBe(200);
    expect(authorised.body).toMatchObject({ partnersHoursRemaining: null, partnersOverdue: false });
    expect((await step(1, { step: 'closed' })).body).toMatchObject({ status: 'closed' });
  });

  it('asks the partners told of accesses judged authorised once the ICO is notified of the breach after all', async () => {
    expect((await step(5, { step: 'not-reportable', reason: 'accesses-authorised' })).status).toBe(200);
    // The facts changed: it was a breach, and the ICO was told of it.
    const notified = await step(5, { step: 'ico-notified', at: hoursAfter(openedAt[5]!, 3) });
    expect(notified.status, notified.text).toBe(200);
    expect(notified.body).toMatchObject({ partnersHoursRemaining: expect.any(Number), partnersOverdue: false });
    const refused = await step(5, { step: 'closed' });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({
      type: 'urn:lintel:problem:breach-step-refused',
      reason: 'partners-not-notified',
    });
    expect((await read(5)).body).toMatchObject({ status: 'notified', closedAt: null });
  });

  it('gives a breach under the ISA, which asks nothing of the kind, no partners’ deadline', async () => {
    const isa = await read(4, ISA_DPO);
    expect(isa.status, isa.text).toBe(200);
    expect(isa.body).toMatchObject({
      partnersDeadline: null,
      partnersHoursRemaining: null,
      partnersOverdue: false,
      partnersNotifiedLate: false,
    });
    expect((await step(4, { step: 'not-reportable', reason: 'unlikely-to-result-in-risk' }, ISA_DPO)).status).toBe(200);
    expect((await step(4, { step: 'closed' }, ISA_DPO)).body).toMatchObject({ status: 'closed' });
  });

  it('documents the partners’ fields in the OpenAPI description', async () => {
    const doc = (await (await fetch(`${t.url}/api/openapi.json`)).json()) as {
      components: { schemas: Record<string, { properties: Record<string, unknown>; required: string[] }> };
    };
    const breach = doc.components.schemas.Breach!;
    for (const field of ['partnersDeadline', 'partnersHoursRemaining', 'partnersOverdue', 'partnersNotifiedLate']) {
      expect(breach.properties[field], field).toBeDefined();
      expect(breach.required).toContain(field);
    }
  });
});
