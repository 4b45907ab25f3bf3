import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * DESIGN.md: a change commits with its access-log entry or not at all. A DPO's watch run records
 * alerts; with the log refusing every new entry it answers 503 and records none, so that the
 * DPO's retry once the log takes entries again is told of the alert it raises.
 */
describe('a watch run while the access log refuses every new entry', () => {
  let t: TestHost;
  const OFFICER = { party: 'wellingborough-borough-council', roles: ['housing-officer'] };
  const DPO = { party: 'wellingborough-borough-council', roles: ['dpo'] };
  const evaluate = () => callApi(t, '/v1/audit/alerts/evaluate', { ...DPO, method: 'POST' });
  const alerts = () => t.host.services.store.db.selectFrom('audit_alert').select(['id', 'rule']).execute();

  beforeAll(async () => {
    // A Wednesday morning, UK time: on the real clock a run after 19:00 would raise an
    // out-of-hours alert besides the one this file asks about.
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-03-11T10:00:00Z') });
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    // Fifteen duplicate checks in a row that matched nobody: a no-match run.
    for (let i = 0; i < 15; i++) {
      const check = await callApi(t, '/v1/duplicate-checks', {
        ...OFFICER,
        purpose: 'fraud-prevention',
        body: { familyName: 'Probe', givenName: 'Person', dateOfBirth: `1980-03-${String(i + 1).padStart(2, '0')}` },
      });
      expect(check.status).toBe(200);
    }
    // The fixed clock does not move on by itself, and a run counts the entries before its own
    // instant: the runs come a minute after the checks.
    vi.setSystemTime(new Date('2026-03-11T10:01:00Z'));
    await sql`create trigger audit.access_log_refuses before insert on access_log begin select raise(abort, 'full'); end`.execute(
      t.host.services.store.db,
    );
  });
  afterAll(async () => {
    await t?.stop();
    vi.useRealTimers();
  });

  it('answers 503 audit-log-unavailable and records no alert', async () => {
    const res = await evaluate();
    expect(res.status).toBe(503);
    expect(res.type).toBe('application/problem+json');
    expect(res.body).toMatchObject({ type: 'urn:lintel:problem:audit-log-unavailable', status: 503 });
    expect(await alerts()).toEqual([]);
  });

  it("tells the DPO's retry of the alert once the log takes entries again", async () => {
    await sql`drop trigger audit.access_log_refuses`.execute(t.host.services.store.db);
    const res = await evaluate();
    expect(res.status).toBe(200);
    expect(res.body.raised).toEqual([expect.objectContaining({ rule: 'no-match-run' })]);
    expect(await alerts()).toEqual([expect.objectContaining({ rule: 'no-match-run' })]);
  });
});
