import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith, housingFirstAlsoAuditedBy } from '../shared/agreements/agreement-files.js';
import { nhs } from '../support/linked-people.js';
import { callApi, clientActivity, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * Education's DPO records an opt-out under the ISA for someone no party holds: it is kept against
 * the NHS number's keyed hash in the ISA's dataset (opt-out-not-held.test.ts), and a subject
 * access request by that NHS number finds them there (dpo-sar-opt-out-not-held.test.ts). Here
 * Education is a party to the research agreement too. Found by a defect hunt: the request's own
 * entry named no dataset, so it was filed under every agreement Education audits, and the
 * research agreement's DPO, another party's, was shown it with a reference to a person none of
 * that agreement's data is about. It is the business of the agreement whose dataset keeps the
 * person's hashes.
 */
describe('a subject access request for a person held only by an opt-out’s kept hashes', () => {
  let t: TestHost;
  const EDUCATION = 'la-education';
  // Education's DPO audits the ISA and the research agreement; Dudley's the research one only.
  const DPO = { party: EDUCATION, roles: ['dpo'] };
  const RESEARCH_DPO = 'dudley-housing-options';
  const ISA_DPO = 'la-housing';
  const nhsNumber = nhs(7711);
  let started: string;

  const requests = async (auditor: string) =>
    (await clientActivity(t, EDUCATION, auditor, started))
      .filter((e) => e.action === 'audit.person-accesses')
      .map((e) => `${e.reasonCode} ${e.subjectRefs?.length}`);

  beforeAll(async () => {
    t = await startTestHost({
      LINTEL_DEMO_SEED: 'off',
      AGREEMENTS_DIR: agreementsFolderWith([housingFirstAlsoAuditedBy('la-education')]),
    });
    started = new Date(Date.now() - 1000).toISOString();
    const recorded = await callApi(t, '/v1/consents', {
      ...DPO,
      purpose: 'service-planning',
      body: { kind: 'opt-out', subject: { nhsNumber }, evidenceRef: 'DPO/NDOO/3' },
    });
    expect(recorded.status, recorded.text).toBe(201);
    const byIdentifiers = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { nhsNumber } });
    expect(byIdentifiers.status, byIdentifiers.text).toBe(200);
    const byRef = await callApi(t, `/v1/audit/people/${byIdentifiers.body.personRef as string}/accesses`, DPO);
    expect(byRef.status, byRef.text).toBe(200);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('shows the request, with the person asked about, to the DPOs of the agreement that keeps their hashes', async () => {
    expect(await requests(ISA_DPO)).toEqual(['accesses-shown 1', 'accesses-shown 1']);
  });

  it('tells the DPOs of the auditing party’s other agreement nothing of it', async () => {
    expect(await requests(RESEARCH_DPO), 'another agreement’s DPO was shown the request about the person').toEqual([]);
  });
});
