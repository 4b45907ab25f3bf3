import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi, clientIdOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * The no-match-run rule promises that "only a lookup that found someone ends a run". A duplicate
 * check that finds nobody is logged `decision: allow` with no subject, so it is not a lookup that
 * found someone — yet it ends the run, and a run of them is never counted.
 */
describe('no-match-run and duplicate checks that find nobody', () => {
  let t: TestHost;
  const OFFICER = { party: 'corby-borough-council', roles: ['housing-officer'] };
  const DPO = { party: 'corby-borough-council', roles: ['dpo'] };
  const client = clientIdOf('corby-borough-council');
  const nobody = (i: number) => ({
    familyName: 'Nobody',
    givenName: 'Known',
    dateOfBirth: `1970-02-${String(i + 1).padStart(2, '0')}`,
  });

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  const noMatchAlerts = async () => {
    const run = await callApi(t, '/v1/audit/alerts/evaluate', { ...DPO, method: 'POST' });
    expect(run.status).toBe(200);
    const listed = await callApi(t, '/v1/audit/alerts', DPO);
    return (listed.body.alerts as { rule: string; clientId: string; count: number }[]).filter(
      (a) => a.rule === 'no-match-run' && a.clientId === client,
    );
  };

  it('still sees a run of ten searches that found nobody when duplicate checks that found nobody are interleaved', async () => {
    for (let i = 0; i < 10; i++) {
      const search = await callApi(t, '/v1/people/search', {
        ...OFFICER,
        purpose: 'housing-allocation',
        body: nobody(i),
      });
      expect(search.status).toBe(404);
      const check = await callApi(t, '/v1/duplicate-checks', {
        ...OFFICER,
        purpose: 'fraud-prevention',
        body: nobody(i + 10),
      });
      expect(check.status).toBe(200);
      expect(check.body).toMatchObject({ duplicate: false });
    }
    // Twenty lookups in a row, none of which found anyone.
    const alerts = await noMatchAlerts();
    expect(alerts.length, 'a fishing run broken up by duplicate checks that found nobody raised no alert').toBe(1);
  });
});

describe('a run of duplicate checks that find nobody', () => {
  let t: TestHost;
  const OFFICER = { party: 'wellingborough-borough-council', roles: ['housing-officer'] };
  const DPO = { party: 'wellingborough-borough-council', roles: ['dpo'] };
  const client = clientIdOf('wellingborough-borough-council');

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('raises no-match-run for fifteen duplicate checks in a row that matched nobody', async () => {
    for (let i = 0; i < 15; i++) {
      const check = await callApi(t, '/v1/duplicate-checks', {
        ...OFFICER,
        purpose: 'fraud-prevention',
        body: { familyName: 'Probe', givenName: 'Person', dateOfBirth: `1980-03-${String(i + 1).padStart(2, '0')}` },
      });
      expect(check.status).toBe(200);
    }
    const run = await callApi(t, '/v1/audit/alerts/evaluate', { ...DPO, method: 'POST' });
    expect(run.status).toBe(200);
    const raised = (run.body.raised as { rule: string; clientId: string }[]).filter(
      (a) => a.rule === 'no-match-run' && a.clientId === client,
    );
    expect(raised.length, 'fifteen lookups that matched nobody (duplicate checks) raised no no-match-run alert').toBe(
      1,
    );
  });
});
