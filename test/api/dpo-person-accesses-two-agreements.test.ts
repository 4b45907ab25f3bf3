import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith } from '../shared/agreements/agreement-files.js';
import { aishaOnKeyways, AISHA_NI, insertRecord } from '../support/records.js';
import { callApi, clientActivity, ownAnchorContainer, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A DPO whose party audits two agreements answers a subject access request about a person held
 * under one of them only. The DPO's own entry names the person asked about: it is the business of
 * the agreement whose records and entries it showed, not of the DPO's other one, whose DPOs (of
 * another party here) would otherwise learn of a person none of their agreement's data is about.
 */
describe('a DPO’s subject access request when their party audits two agreements', () => {
  let t: TestHost;
  const KETTERING = 'kettering-borough-council';
  // Kettering's DPO audits the Keyways DSA and the research agreement; Dudley's the research one only.
  const DPO = { party: KETTERING, roles: ['dpo'] };
  const RESEARCH_DPO = 'dudley-housing-options';
  const KEYWAYS_DPO = 'wellingborough-borough-council';
  let started: string;

  const requests = async (auditor: string) =>
    (await clientActivity(t, KETTERING, auditor, started))
      .filter((e) => e.action === 'audit.person-accesses')
      .map((e) => `${e.reasonCode} ${e.subjectRefs?.length}`);

  beforeAll(async () => {
    t = await startTestHost({
      LINTEL_DEMO_SEED: 'off',
      AGREEMENTS_DIR: agreementsFolderWith([
        {
          agreement: 'housingFirst',
          from: '    roles: [housing-officer, dpo]\n',
          to:
            '    roles: [housing-officer, dpo]\n' +
            '  - id: kettering-borough-council\n    name: Kettering Borough Council\n    kind: council\n    roles: [dpo]\n',
        },
      ]),
    });
    await ownAnchorContainer(t);
    started = new Date(Date.now() - 1000).toISOString();
    await insertRecord(t.host.services, aishaOnKeyways());
    const search = await callApi(t, '/v1/people/search', {
      party: KETTERING,
      roles: ['housing-officer'],
      purpose: 'housing-allocation',
      body: { niNumber: AISHA_NI },
    });
    expect(search.status, search.text).toBe(200);
    const byIdentifiers = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { niNumber: AISHA_NI } });
    expect(byIdentifiers.status, byIdentifiers.text).toBe(200);
    expect(byIdentifiers.body.entries).toHaveLength(1);
    const byRef = await callApi(t, `/v1/audit/people/${byIdentifiers.body.personRef}/accesses`, DPO);
    expect(byRef.status, byRef.text).toBe(200);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('shows the request, with the person asked about, to the DPOs of the agreement the person is held under', async () => {
    expect(await requests(KEYWAYS_DPO)).toEqual(['accesses-shown 1', 'accesses-shown 1']);
    expect(await requests(KETTERING)).toEqual(['accesses-shown 1', 'accesses-shown 1']);
  });

  it('tells the DPOs of the auditing party’s other agreement nothing of that person', async () => {
    expect(await requests(RESEARCH_DPO)).toEqual([]);
  });
});
