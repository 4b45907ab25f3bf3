import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWithout, keywaysAlsoSignedBy } from '../shared/agreements/agreement-files.js';
import { consentToResearch, dudleyParticipant, insertRecord, namedPeople } from '../support/records.js';
import {
  callApi,
  clientActivity,
  DEMO_CLIENT_IDS,
  restartTestHost,
  startTestHost,
  type ActivityEntry,
  type TestHost,
} from '../support/test-host.js';

/**
 * Whose business an entry is outlives the agreement it was written under. Dudley records consents
 * for the Housing First evaluation and ICF searches the participants' contacts — entries filed by
 * the research agreement (shared/audit/entry-agreements.ts), each with a reference to the person.
 * The evaluation then ends: its agreement file is removed from the folder, not re-signed. Dudley
 * has also signed the Keyways DSA (as a housing officer; its DPO is Kettering's); ICF signs
 * nothing now, and its client is no longer mapped.
 *
 * A person may still ask Dudley who saw their contact details (UK GDPR Art. 15), and the research
 * agreement's DPO — Dudley's — must still answer, in the person's subject access answer and in
 * ICF's and Dudley's activity. With the file gone no party held a role in the agreement: Dudley's
 * `dpo` role was dropped from its token, and the entries were nobody's. The Keyways DPO is not
 * shown them.
 *
 * The ending is real: the entries are made over HTTP by a host on the agreements as they are,
 * which is stopped; a second host on the same store (and keys) starts without the file.
 */
describe("access-log entries of an agreement whose file was removed, in the DPOs' views", () => {
  let t: TestHost;
  const ICF = 'icf-research';
  const DUDLEY = 'dudley-housing-options';
  const KEYWAYS_DPO = 'kettering-borough-council';
  const DATASET = 'housing-first-participant-contacts';
  const people = namedPeople(['Mo', 'Nia'], 'Ended', 1983);
  /** Dudley's DPO's reference to the first person, asked for before the agreement ended. */
  let moRef: string;
  let from: string;

  const researchEntriesIn = (entries: ActivityEntry[]) =>
    entries
      .filter((e) => e.purpose === 'research-evaluation')
      .map(
        (e) =>
          `${e.action} ${e.datasets.join(',') || '-'}${e.subjectRefs === undefined ? '' : ` ${e.subjectRefs.length}`}`,
      );

  beforeAll(async () => {
    t = await startTestHost();
    from = new Date(Date.now() - 1000).toISOString();
    for (const [n, person] of people.entries()) {
      await insertRecord(t.host.services, dudleyParticipant(person, `07700 90040${n}`));
      await consentToResearch(t, person, 'HF/CONSENT/13');
      const found = await callApi(t, '/v1/people/search', {
        party: ICF,
        roles: ['researcher'],
        purpose: 'research-evaluation',
        body: person,
      });
      expect(found.status, found.text).toBe(200);
    }
    const sar = await callApi(t, '/v1/audit/people/accesses', { party: DUDLEY, roles: ['dpo'], body: people[0] });
    expect(sar.status, sar.text).toBe(200);
    moRef = sar.body.personRef as string;

    t = await restartTestHost(t, {
      AGREEMENTS_DIR: agreementsFolderWithout(
        ['housingFirst'],
        // Dudley signs the Keyways DSA too (no DPO role there): its DPO is Kettering's.
        [keywaysAlsoSignedBy(DUDLEY, ['housing-officer'])],
      ),
      PARTY_CLIENT_IDS: JSON.stringify(
        Object.fromEntries(Object.entries(DEMO_CLIENT_IDS).filter(([, party]) => party !== ICF)),
      ),
    });
    expect(t.host.services.agreements.agreement('housing-first-research')).toBeUndefined();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("are still shown to Dudley's DPO in the person's subject access answer", async () => {
    const sar = await callApi(t, `/v1/audit/people/${encodeURIComponent(moRef)}/accesses`, {
      party: DUDLEY,
      roles: ['dpo'],
    });
    expect(sar.status, sar.text).toBe(200);
    expect(researchEntriesIn(sar.body.entries as ActivityEntry[])).toEqual([
      'consent.record -',
      `person.search ${DATASET}`,
    ]);
  });

  it("are still shown to Dudley's DPO in ICF's activity and in Dudley's, each with its person's reference", async () => {
    expect(researchEntriesIn(await clientActivity(t, ICF, DUDLEY, from))).toEqual([
      `person.search ${DATASET} 1`,
      `person.search ${DATASET} 1`,
    ]);
    expect(researchEntriesIn(await clientActivity(t, DUDLEY, DUDLEY, from))).toEqual([
      'consent.record - 1',
      'consent.record - 1',
    ]);
  });

  it('are not shown to the DPO of another agreement Dudley signed (the Keyways DSA)', async () => {
    for (const client of [ICF, DUDLEY]) {
      expect(researchEntriesIn(await clientActivity(t, client, KEYWAYS_DPO, from))).toEqual([]);
    }
  });

  it('grant nothing else: Dudley records no consent under the ended purpose', async () => {
    const record = await callApi(t, '/v1/consents', {
      party: DUDLEY,
      roles: ['housing-officer', 'dpo'],
      purpose: 'research-evaluation',
      body: { subject: people[1], evidenceRef: 'HF/CONSENT/14' },
    });
    expect(record.status).toBe(403);
    expect(record.body.type).toBe('urn:lintel:problem:purpose-unknown');
  });
});

/**
 * The same ending where Dudley signs nothing else, as in the agreements folder today, and the
 * operator leaves the client ids as they were. The host refused to start ("not a party to any
 * loaded agreement"), and with Dudley's client unmapped its DPO, the only one the research
 * agreement had, could answer no one. Dudley is known for its DPO's reading of the ended
 * agreement alone: it looks no one up.
 */
describe('an ended agreement whose parties sign nothing else', () => {
  let t: TestHost;
  const DUDLEY = 'dudley-housing-options';
  const person = { givenName: 'Ola', familyName: 'Ended', dateOfBirth: '1984-03-01' };
  /** Ola's case reference in the contacts, the one identifier the research agreement matches on. */
  const OLA_CASE = { system: 'case-reference', id: 'HF/ENDED/1' };
  let from: string;

  beforeAll(async () => {
    t = await startTestHost();
    from = new Date(Date.now() - 1000).toISOString();
    await insertRecord(t.host.services, {
      ...dudleyParticipant(person, '07700 900410'),
      identifiers: { 'system-id:case-reference': OLA_CASE.id },
    });
    await consentToResearch(t, person, 'HF/CONSENT/15');
    t = await restartTestHost(t, { AGREEMENTS_DIR: agreementsFolderWithout(['housingFirst']) });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("starts with Dudley's client mapped, and Dudley's DPO reads the consent it recorded", async () => {
    const entries = await clientActivity(t, DUDLEY, DUDLEY, from);
    expect(entries.map((e) => `${e.action} ${e.purpose} ${e.subjectRefs?.length}`)).toEqual([
      'consent.record research-evaluation 1',
    ]);
  });

  // UK GDPR Art. 15: the person asks Dudley, quoting the case reference on their letters, who saw
  // their details. The contacts stay in the store till an operator purges them, so the subject
  // access request by that reference must find them, as it did before the agreement ended and as
  // it does for a dataset a re-signing dropped (audit-scope-dataset-removed.test.ts).
  it("finds the person for Dudley's DPO by the case reference the ended agreement matched on", async () => {
    const byName = await callApi(t, '/v1/audit/people/accesses', { party: DUDLEY, roles: ['dpo'], body: person });
    expect(byName.status, byName.text).toBe(200);
    const byCase = await callApi(t, '/v1/audit/people/accesses', {
      party: DUDLEY,
      roles: ['dpo'],
      body: { systemId: OLA_CASE },
    });
    expect(byCase.status, byCase.text).toBe(200);
    expect(byCase.body.personRef).toBe(byName.body.personRef);
    type Entry = { action: string; purpose: string };
    expect((byCase.body.entries as Entry[]).map((e) => `${e.action} ${e.purpose}`)).toContain(
      'consent.record research-evaluation',
    );
  });

  it('lets Dudley look no one up', async () => {
    const found = await callApi(t, '/v1/people/search', {
      party: DUDLEY,
      roles: ['housing-officer', 'dpo'],
      purpose: 'housing-allocation',
      body: person,
    });
    expect(found.status).toBe(403);
    expect(found.body.type).toBe('urn:lintel:problem:party-unknown');
  });
});
