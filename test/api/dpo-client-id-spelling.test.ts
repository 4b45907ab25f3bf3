import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi, DEMO_CLIENT_IDS, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * The party directory and the rate limiter treat a GUID client id the same however a token
 * spells it (party-directory.ts normaliseClientId: "one client is one bucket however its token
 * spells the id"). The access log keeps the spelling of the token, and the DPO's views and the
 * watch rules compare client_id as text: one client is split in two.
 */
describe('one client whose tokens spell its GUID client id in two cases', () => {
  let t: TestHost;
  const CLIENT = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
  const DPO = { party: 'kettering-borough-council', roles: ['dpo'] };
  let started: string;

  beforeAll(async () => {
    t = await startTestHost({
      LINTEL_DEMO_SEED: 'off',
      PARTY_CLIENT_IDS: JSON.stringify({ ...DEMO_CLIENT_IDS, [CLIENT]: 'keyways-registered-providers' }),
    });
    started = new Date(Date.now() - 1000).toISOString();
    for (let i = 0; i < 10; i++) {
      const token = await t.token('keyways-registered-providers', ['rp-lettings'], {
        clientId: i % 2 === 0 ? CLIENT : CLIENT.toUpperCase(),
      });
      const res = await callApi(t, '/v1/people/search', {
        token,
        purpose: 'housing-allocation',
        body: { familyName: 'Nobody', givenName: 'Known', dateOfBirth: `1970-01-${String(i + 1).padStart(2, '0')}` },
      });
      expect(res.status).toBe(404);
    }
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("shows the DPO all of the client's activity", async () => {
    const to = new Date(Date.now() + 60_000).toISOString();
    const res = await callApi(t, `/v1/audit/clients/${CLIENT}/activity?from=${started}&to=${to}`, DPO);
    expect(res.status).toBe(200);
    expect(
      (res.body.entries as unknown[]).length,
      'the activity of the client under its other spelling is missing',
    ).toBe(10);
  });

  it('sees ten searches in a row that found nobody as one fishing run', async () => {
    const run = await callApi(t, '/v1/audit/alerts/evaluate', { ...DPO, method: 'POST' });
    expect(run.status).toBe(200);
    const fishing = (run.body.raised as { rule: string; count: number }[]).filter((a) => a.rule === 'no-match-run');
    expect(fishing.length, 'a run split across two spellings of one client id raised no alert').toBe(1);
  });
});
