import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith } from '../shared/agreements/agreement-files.js';
import { aishaOnKeyways, AISHA_NI, insertRecord } from '../support/records.js';
import { callApi, clientActivity, ownAnchorContainer, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A DPO whose party audits two agreements asks for the proof of an entry that is one agreement's
 * business. The DPO's own entry names that entry's person (audit-proof-subject.test.ts): it is the
 * business of the agreement the proved entry was, not of the DPO's other one, whose DPOs (of
 * another party here) would otherwise be given a reference to a person only the first agreement's
 * entry was about.
 */
describe('a DPO’s inclusion proof when their party audits two agreements', () => {
  let t: TestHost;
  const KETTERING = 'kettering-borough-council';
  // Kettering's DPO audits the Keyways DSA and the research agreement; Dudley's the research one only.
  const DPO = { party: KETTERING, roles: ['dpo'] };
  const RESEARCH_DPO = 'dudley-housing-options';
  const KEYWAYS_DPO = 'wellingborough-borough-council';
  let started: string;

  const proofs = async (auditor: string) =>
    (await clientActivity(t, KETTERING, auditor, started))
      .filter((e) => e.action === 'audit.inclusion-proof')
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
    const seq = await t.accessLogSize();
    const proof = await callApi(t, `/v1/audit/proofs/inclusion?seq=${seq}`, DPO);
    expect(proof.status, proof.text).toBe(200);
    expect(proof.body.entry).toMatchObject({ seq, action: 'person.search' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('shows the proof, with the person it named, to the DPOs of the proved entry’s agreement', async () => {
    expect(await proofs(KEYWAYS_DPO)).toEqual(['proof-issued 1']);
    expect(await proofs(KETTERING)).toEqual(['proof-issued 1']);
  });

  it('gives the DPOs of the auditing party’s other agreement no reference to that person', async () => {
    expect(await proofs(RESEARCH_DPO)).toEqual([]);
  });

  it('keeps it a DPO’s read: no watch rule counts the proof as a lookup or a special-category release', async () => {
    const run = await callApi(t, '/v1/audit/alerts/evaluate', { ...DPO, method: 'POST' });
    expect(run.status, run.text).toBe(200);
    // The officer's one search may be out of hours (the only rule one lookup can fire); the proof adds nothing.
    const raised = run.body.raised as { rule: string; count: number }[];
    expect(raised.filter((a) => a.rule !== 'out-of-hours' || a.count !== 1)).toEqual([]);
  });
});
