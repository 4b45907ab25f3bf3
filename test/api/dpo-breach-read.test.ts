import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providerAlert } from '../support/alerts.js';
import { callApi, reasonCodesOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A breach record opened from an alert is answered 201 with its path in `Location`; a DPO's tool
 * follows it to read the record back (its ICO deadline and the steps recorded), as the list shows
 * it. Only the DPOs of the alert's agreement read it: to any other DPO it is as unknown as an id
 * that never was (404, not 403, which would tell them it exists), and every read is logged.
 */
describe('reading one breach record at the Location its opening named', () => {
  let t: TestHost;
  const DPO = { party: 'kettering-borough-council', roles: ['dpo'] };
  // The social care agreement's DPO: a DPO, but not of the Keyways DSA the alert was raised under.
  const OTHER_DPO = { party: 'la-housing', roles: ['dpo'] };
  const OFFICER = { party: 'kettering-borough-council', roles: ['housing-officer'], purpose: 'housing-allocation' };
  const alertId = 'd'.repeat(32);
  let location: string;
  let opened: Record<string, unknown>;

  /** GET of a path as the host wrote it (`/api/v1/…`). */
  const read = (path: string, who: Parameters<typeof callApi>[2]) => callApi(t, path.slice('/api'.length), who);

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const at = new Date().toISOString();
    await t.host.services.store.db
      .insertInto('audit_alert')
      .values(providerAlert(alertId, at, { agreement_id: 'keyways-housing-allocation' }))
      .execute();
    const res = await callApi(t, `/v1/audit/alerts/${alertId}/breach`, { ...DPO, method: 'POST' });
    expect(res.status, res.text).toBe(201);
    location = res.headers.get('location')!;
    opened = res.body;
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers the record opened at its Location, with its deadline and then its steps, as the list shows it', async () => {
    const first = await read(location, DPO);
    expect(first.status, first.text).toBe(200);
    expect(first.body).toEqual({
      ...opened,
      hoursRemaining: expect.any(Number),
      partnersHoursRemaining: expect.any(Number),
    });

    const notified = await callApi(t, `${location.slice('/api'.length)}/steps`, {
      ...DPO,
      body: { step: 'ico-notified', at: opened.openedAt },
    });
    expect(notified.status, notified.text).toBe(200);
    const after = await read(location, DPO);
    expect(after.status).toBe(200);
    expect(after.body).toEqual(notified.body);
    expect(after.body).toMatchObject({ status: 'notified', icoNotifiedAt: opened.openedAt, hoursRemaining: null });
    const listed = await callApi(t, '/v1/audit/breaches', DPO);
    expect((listed.body.breaches as { id: string }[]).find((b) => b.id === opened.id)).toEqual(after.body);
  });

  it("answers another agreement's DPO as for an id that never was, and a non-DPO as the list does", async () => {
    const otherDpo = await read(location, OTHER_DPO);
    const never = await read('/api/v1/audit/breaches/00000000-0000-4000-8000-000000000000', OTHER_DPO);
    for (const res of [otherDpo, never]) {
      expect(res.status).toBe(404);
      expect(res.type).toBe('application/problem+json');
      expect(res.body).toMatchObject({ type: 'urn:lintel:problem:not-found', detail: 'No such breach record.' });
    }
    expect(otherDpo.text).not.toContain(opened.id as string);

    const officer = await read(location, OFFICER);
    expect(officer.status).toBe(403);
    expect(officer.body.type).toBe('urn:lintel:problem:role-not-permitted');
    expect(officer.body.type).toBe((await callApi(t, '/v1/audit/breaches', OFFICER)).body.type);
  });

  it('leaves one access-log entry for each read, shown or refused', async () => {
    const before = {
      dpo: await reasonCodesOf(t, 'kettering-borough-council', 'audit.breach'),
      other: await reasonCodesOf(t, 'la-housing', 'audit.breach'),
    };
    expect((await read(location, DPO)).status).toBe(200);
    expect((await read(location, OTHER_DPO)).status).toBe(404);
    expect((await read(location, OFFICER)).status).toBe(403);
    expect(await reasonCodesOf(t, 'kettering-borough-council', 'audit.breach')).toEqual([
      ...before.dpo,
      'breach-shown',
      'role-not-permitted',
    ]);
    expect(await reasonCodesOf(t, 'la-housing', 'audit.breach')).toEqual([...before.other, 'breach-unknown']);
  });
});
