import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi, clientIdOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A DPO who opens a breach record from an alert has acted on what it showed. If the activity
 * goes on after that, they must be told: a new alert, open and listed, with no breach of its own,
 * while the alert they acted on keeps what came before. Grown in place instead, the old alert's
 * count went up under `breach-opened`, never listed among the open ones, and the misuse went on
 * unseen — after a breach judged benign and closed, too.
 */
describe('a no-match run that goes on after its alert was acted on', () => {
  let t: TestHost;
  const OFFICER = { party: 'corby-borough-council', roles: ['housing-officer'] };
  const DPO = { party: 'corby-borough-council', roles: ['dpo'] };
  const client = clientIdOf('corby-borough-council');
  let searched = 0;

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  interface AlertView {
    id: string;
    rule: string;
    clientId: string;
    count: number;
    windowStart: string;
    status: string;
  }

  async function searchesFindingNobody(count: number): Promise<void> {
    for (let i = 0; i < count; i++, searched++) {
      const search = await callApi(t, '/v1/people/search', {
        ...OFFICER,
        purpose: 'housing-allocation',
        body: {
          familyName: 'Nobody',
          givenName: 'Known',
          dateOfBirth: `1971-01-${String(searched + 1).padStart(2, '0')}`,
        },
      });
      expect(search.status).toBe(404);
    }
  }
  /** The run's alerts as the DPO lists them (of one status, where given), after a watch run. */
  async function runAlerts(status?: 'open' | 'breach-opened'): Promise<AlertView[]> {
    const run = await callApi(t, '/v1/audit/alerts/evaluate', { ...DPO, method: 'POST' });
    expect(run.status).toBe(200);
    const listed = await callApi(t, `/v1/audit/alerts${status ? `?status=${status}` : ''}`, DPO);
    expect(listed.status).toBe(200);
    return (listed.body.alerts as AlertView[]).filter((a) => a.rule === 'no-match-run' && a.clientId === client);
  }
  async function openBreach(alertId: string): Promise<{ id: string; openedAt: string }> {
    const opened = await callApi(t, `/v1/audit/alerts/${alertId}/breach`, { ...DPO, method: 'POST' });
    expect(opened.status, opened.text).toBe(201);
    return opened.body as { id: string; openedAt: string };
  }
  async function closeAsBenign(breachId: string): Promise<void> {
    const steps = `/v1/audit/breaches/${breachId}/steps`;
    const judged = await callApi(t, steps, { ...DPO, body: { step: 'not-reportable', reason: 'accesses-authorised' } });
    expect(judged.status, judged.text).toBe(200);
    const closed = await callApi(t, steps, { ...DPO, body: { step: 'closed' } });
    expect(closed.status, closed.text).toBe(200);
  }

  it('raises a new open alert for the misses after a breach was opened, and again after one closed as benign', async () => {
    await searchesFindingNobody(10);
    const [first] = await runAlerts('open');
    expect(first).toMatchObject({ count: 10, status: 'open' });
    const breach = await openBreach(first!.id);

    // The officer keeps searching for people who are not there.
    await searchesFindingNobody(3);
    const open = await runAlerts('open');
    expect(open.length, 'misses after the breach was opened raised no open alert').toBe(1);
    const [second] = open;
    expect(second).toMatchObject({ count: 3, status: 'open' });
    expect(second!.id).not.toBe(first!.id);
    expect(second!.windowStart > breach.openedAt).toBe(true);
    // The alert acted on keeps the run as it was when the breach was opened.
    expect(await runAlerts('breach-opened')).toEqual([{ ...first, status: 'breach-opened' }]);
    // The new alert has no breach record: the one opened is still the first alert's alone.
    const breaches = await callApi(t, '/v1/audit/breaches', DPO);
    expect((breaches.body.breaches as { alertId: string }[]).map((b) => b.alertId)).toEqual([first!.id]);

    // The second alert judged benign and closed; the run resumes.
    await closeAsBenign((await openBreach(second!.id)).id);
    await searchesFindingNobody(2);
    const reopened = await runAlerts('open');
    expect(
      reopened.map((a) => a.count),
      'misses after a breach closed as benign raised no open alert',
    ).toEqual([2]);
    expect(reopened[0]!.id).not.toBe(second!.id);
    expect((await runAlerts()).map((a) => [a.count, a.status])).toEqual([
      [2, 'open'],
      [3, 'breach-opened'],
      [10, 'breach-opened'],
    ]);
  });
});
