import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { agreementsFolderWith, housingFirstAlsoAuditedBy } from '../shared/agreements/agreement-files.js';
import { aishaOnKeyways, AISHA_NI, insertRecord } from '../support/records.js';
import { callApi, clientActivity, ownAnchorContainer, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A DPO whose party audits two agreements reads the log about a person held under one of them
 * only: a subject access request about them, and the proof of an entry about them. The DPO's own
 * entry of each names that person (audit-proof-subject.test.ts): it is the business of the
 * agreement the person's records and entries are under, not of the DPO's other one, whose DPOs (of
 * another party here) would otherwise be given a reference to a person none of their agreement's
 * data is about.
 */
describe('a DPO’s reads about a person when their party audits two agreements', () => {
  let t: TestHost;
  const KETTERING = 'kettering-borough-council';
  // Kettering's DPO audits the Keyways DSA and the research agreement; Dudley's the research one only.
  const DPO = { party: KETTERING, roles: ['dpo'] };
  const RESEARCH_DPO = 'dudley-housing-options';
  const KEYWAYS_DPO = 'wellingborough-borough-council';
  let started: string;

  /** Kettering's entries of `action` shown to `auditor`'s DPO, as `<reasonCode> <people named>`. */
  const seenBy = async (auditor: string, action: string) =>
    (await clientActivity(t, KETTERING, auditor, started))
      .filter((e) => e.action === action)
      .map((e) => `${e.reasonCode} ${e.subjectRefs?.length}`);
  const requests = (auditor: string) => seenBy(auditor, 'audit.person-accesses');
  const proofs = (auditor: string) => seenBy(auditor, 'audit.inclusion-proof');

  beforeAll(async () => {
    // A Wednesday night, UK time, so the officer's one search raises an out-of-hours alert that
    // counts the lookups of Kettering's client: its DPO's reads, by the same client, would add to it.
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-03-11T22:00:00Z') });
    t = await startTestHost({
      LINTEL_DEMO_SEED: 'off',
      AGREEMENTS_DIR: agreementsFolderWith([housingFirstAlsoAuditedBy('kettering-borough-council')]),
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
    const searchSeq = await t.accessLogSize();

    const byIdentifiers = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { niNumber: AISHA_NI } });
    expect(byIdentifiers.status, byIdentifiers.text).toBe(200);
    expect(byIdentifiers.body.entries).toHaveLength(1);
    const byRef = await callApi(t, `/v1/audit/people/${byIdentifiers.body.personRef}/accesses`, DPO);
    expect(byRef.status, byRef.text).toBe(200);

    const proof = await callApi(t, `/v1/audit/proofs/inclusion?seq=${searchSeq}`, DPO);
    expect(proof.status, proof.text).toBe(200);
    expect(proof.body.entry).toMatchObject({ seq: searchSeq, action: 'person.search' });
  });
  afterAll(async () => {
    await t?.stop();
    vi.useRealTimers();
  });

  it('shows the subject access request, with the person asked about, to the DPOs of the agreement the person is held under', async () => {
    expect(await requests(KEYWAYS_DPO)).toEqual(['accesses-shown 1', 'accesses-shown 1']);
    expect(await requests(KETTERING)).toEqual(['accesses-shown 1', 'accesses-shown 1']);
  });

  it('tells the DPOs of the auditing party’s other agreement nothing of the subject access request', async () => {
    expect(await requests(RESEARCH_DPO)).toEqual([]);
  });

  it('shows the proof, with the person it named, to the DPOs of the proved entry’s agreement', async () => {
    expect(await proofs(KEYWAYS_DPO)).toEqual(['proof-issued 1']);
    expect(await proofs(KETTERING)).toEqual(['proof-issued 1']);
  });

  it('gives the DPOs of the auditing party’s other agreement no reference to that person by the proof', async () => {
    expect(await proofs(RESEARCH_DPO)).toEqual([]);
  });

  it('keeps them a DPO’s reads: no watch rule counts them as lookups or special-category releases', async () => {
    // The fixed clock does not move on by itself, and a run counts the entries before its own
    // instant: the run comes a minute after the reads.
    vi.setSystemTime(new Date('2026-03-11T22:01:00Z'));
    const run = await callApi(t, '/v1/audit/alerts/evaluate', { ...DPO, method: 'POST' });
    expect(run.status, run.text).toBe(200);
    // The officer's one search is the one lookup: the reads add nothing.
    expect(run.body.raised).toEqual([expect.objectContaining({ rule: 'out-of-hours', count: 1 })]);
  });
});
