import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi, clientIdOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * The DPO's lists of alerts and breach records are newest first, at most 500 a call. The timer
 * raises an out-of-hours alert per client and night, so a partnership of a few dozen clients
 * passes 500 open alerts in a fortnight: the oldest open alerts, and the oldest breach records
 * with their deadlines, must still be reachable, page after page, none dropped or repeated.
 */
describe("paging the DPO's alerts and breach records", () => {
  let t: TestHost;
  const DPO = { party: 'kettering-borough-council', roles: ['dpo'] };
  const client = clientIdOf('keyways-registered-providers');
  // Five alerts, two raised by the same run (the same raisedAt), each with a breach record.
  const raisedAt = ['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-03', '2026-03-04'].map(
    (d) => `${d}T09:00:00.000Z`,
  );
  const alertId = (i: number) => String(i).padStart(32, 'a');

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const { db } = t.host.services.store;
    await db
      .insertInto('audit_alert')
      .values(
        raisedAt.map((at, i) => ({
          id: alertId(i),
          rule: 'out-of-hours',
          client_id: client,
          party_id: 'keyways-registered-providers',
          role: null,
          window_start: at,
          window_end: at,
          count: 1,
          baseline: null,
          raised_at: at,
          status: 'breach-opened' as const,
        })),
      )
      .execute();
    await db
      .insertInto('breach_record')
      .values(
        raisedAt.map((at, i) => ({
          id: `00000000-0000-4000-8000-00000000000${i}`,
          alert_id: alertId(i),
          opened_at: at,
          opened_by: clientIdOf('kettering-borough-council'),
          ico_deadline: at,
          status: 'open' as const,
        })),
      )
      .execute();
  });
  afterAll(async () => {
    await t?.stop();
  });

  async function everyPage(path: string, key: 'alerts' | 'breaches'): Promise<string[][]> {
    const pages: string[][] = [];
    let next: string | null = null;
    do {
      const res = await callApi(
        t,
        `${path}${path.includes('?') ? '&' : '?'}limit=2${next === null ? '' : `&after=${next}`}`,
        DPO,
      );
      expect(res.status).toBe(200);
      pages.push((res.body[key] as { id: string }[]).map((item) => item.id));
      expect(res.body).toHaveProperty('next');
      next = res.body.next as string | null;
    } while (next !== null && pages.length < 10);
    return pages;
  }

  it('pages the alerts newest first to the oldest, none dropped or repeated', async () => {
    expect(await everyPage('/v1/audit/alerts', 'alerts')).toEqual([
      [alertId(4), alertId(2)],
      [alertId(3), alertId(1)],
      [alertId(0)],
    ]);
  });

  it('pages the breach records newest first to the oldest, none dropped or repeated', async () => {
    const ids = (await everyPage('/v1/audit/breaches', 'breaches')).map((page) => page.map((id) => id.slice(-1)));
    expect(ids).toEqual([['4', '2'], ['3', '1'], ['0']]);
  });

  it('answers a cursor that is not one of the list’s own with problem+json', async () => {
    for (const path of ['/v1/audit/alerts?after=nonsense', '/v1/audit/breaches?after=nonsense']) {
      const res = await callApi(t, path, DPO);
      expect(res.status).toBe(400);
      expect(res.body.type).toBe('urn:lintel:problem:invalid-request');
    }
    // Another agreement's alert is no place in this DPO's list: as unknown as nonsense.
    const dudley = await callApi(t, `/v1/audit/alerts?after=${alertId(0)}`, {
      party: 'dudley-housing-options',
      roles: ['dpo'],
    });
    expect(dudley.status).toBe(400);
  });

  it('lists the breach records of one status alone, paged as the whole list is', async () => {
    for (const i of [1, 3]) {
      const steps = `/v1/audit/breaches/00000000-0000-4000-8000-00000000000${i}/steps`;
      const judged = await callApi(t, steps, {
        ...DPO,
        body: { step: 'not-reportable', reason: 'accesses-authorised' },
      });
      expect(judged.status, judged.text).toBe(200);
      expect((await callApi(t, steps, { ...DPO, body: { step: 'closed' } })).status).toBe(200);
    }
    const last = (pages: string[][]) => pages.map((page) => page.map((id) => id.slice(-1)));
    expect(last(await everyPage('/v1/audit/breaches?status=open', 'breaches'))).toEqual([['4', '2'], ['0']]);
    expect(last(await everyPage('/v1/audit/breaches?status=closed', 'breaches'))).toEqual([['3', '1']]);
    const unknown = await callApi(t, '/v1/audit/breaches?status=overdue', DPO);
    expect(unknown.status).toBe(400);
    expect(unknown.body.type).toBe('urn:lintel:problem:invalid-request');
  });
});
