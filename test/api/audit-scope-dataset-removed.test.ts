import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith, keywaysAlsoSignedBy, renamedIn } from '../shared/agreements/agreement-files.js';
import { consentToResearch, dudleyParticipant, insertRecord, namedPeople } from '../support/records.js';
import { callApi, clientActivity, restartTestHost, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * Whose business an entry is outlives the dataset it touched. ICF searches the Housing First
 * participants' contacts for consenting people — entries that name the dataset, filed by the
 * dataset's agreement (shared/audit/entry-agreements.ts), each with a reference to the person
 * found. The research agreement is then re-signed with that dataset replaced (renamed, as for a
 * follow-up study), and ICF has also signed the Keyways DSA, whose DPO is Kettering's. The
 * searches are the research agreement's still: its DPO reads them in ICF's activity and in the
 * person's subject access answer, and the Keyways DPO does not. With no agreement defining the
 * dataset now they were nobody's: no DPO was shown them and no watch rule counted them.
 *
 * The records stay in the store too (nothing deletes a dataset's records when an agreement drops
 * it), so a subject access request by identifiers must still find the person whose records are
 * only in that dataset (UK GDPR Art. 15: all the data the controller holds), as it did by
 * reference: by names and date of birth, and by the case reference the research agreement matches
 * on. The datasets searched came from the agreement files alone, and the request found no one.
 * Only the research agreement's DPO searches them: the Keyways DPO finds no one still.
 *
 * The re-signing is real: the searches are made over HTTP by a host on the agreements as they
 * are, which is stopped; a second host on the same store (and keys) starts on the re-signed files.
 */
describe("an access-log entry on a dataset the re-signed agreement dropped, in the DPOs' views", () => {
  let t: TestHost;
  const ICF = 'icf-research';
  const RESEARCH_DPO = 'dudley-housing-options';
  const KEYWAYS_DPO = 'kettering-borough-council';
  const DATASET = 'housing-first-participant-contacts';
  const people = namedPeople(['Kit', 'Lux'], 'Refiled', 1982);
  /** The first person's case reference in the contacts (matching only, never shown). */
  const KIT_CASE = { system: 'case-reference', id: 'HF/REFILED/1' };
  /** The bodies of a subject access request by identifiers for the first person. */
  const kitBy: [string, object][] = [
    ['names and date of birth', people[0]!],
    ['the case reference the research agreement matches on', { systemId: KIT_CASE }],
  ];
  /** The research DPO's reference to the first person, asked for before the re-signing. */
  let kitRef: string;
  let from: string;

  // A subject access answer's entries are all the one person's, and carry no references. The
  // DPO's own subject access requests name the datasets they showed too: not the party's searches.
  const icfSearchesIn = (entries: { action: string; datasets: string[]; subjectRefs?: string[] }[]) =>
    entries
      .filter((e) => e.datasets.includes(DATASET) && !e.action.startsWith('audit.'))
      .map(
        (e) => `${e.action} ${e.datasets.join(',')}${e.subjectRefs === undefined ? '' : ` ${e.subjectRefs.length}`}`,
      );
  const icfActivity = async (auditor: string) => icfSearchesIn(await clientActivity(t, ICF, auditor, from));

  beforeAll(async () => {
    t = await startTestHost();
    from = new Date(Date.now() - 1000).toISOString();
    for (const [n, person] of people.entries()) {
      await insertRecord(t.host.services, {
        ...dudleyParticipant(person, `07700 90030${n}`),
        identifiers: n === 0 ? { 'system-id:case-reference': KIT_CASE.id } : {},
      });
      await consentToResearch(t, person, 'HF/CONSENT/12');
      const found = await callApi(t, '/v1/people/search', {
        party: ICF,
        roles: ['researcher'],
        purpose: 'research-evaluation',
        body: person,
      });
      expect(found.status, found.text).toBe(200);
    }
    const sar = await callApi(t, '/v1/audit/people/accesses', {
      party: RESEARCH_DPO,
      roles: ['dpo'],
      body: people[0],
    });
    expect(sar.status, sar.text).toBe(200);
    kitRef = sar.body.personRef as string;
    // By the case reference too, before the re-signing: the identifier is one the search uses.
    const byCase = await callApi(t, '/v1/audit/people/accesses', {
      party: RESEARCH_DPO,
      roles: ['dpo'],
      body: kitBy[1]![1],
    });
    expect(byCase.status, byCase.text).toBe(200);
    expect(byCase.body.personRef).toBe(kitRef);

    t = await restartTestHost(t, {
      AGREEMENTS_DIR: agreementsFolderWith([
        renamedIn('housingFirst', DATASET, 'housing-first-follow-up-contacts'),
        // ICF signs the Keyways DSA too (no DPO role there): its DPO is Kettering's.
        keywaysAlsoSignedBy(ICF, ['housing-officer']),
      ]),
    });
    expect(t.host.services.agreements.dataset(DATASET)).toBeUndefined();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("are still shown to the research agreement's DPO in the client's activity, each with its person's reference", async () => {
    expect(await icfActivity(RESEARCH_DPO)).toEqual([`person.search ${DATASET} 1`, `person.search ${DATASET} 1`]);
  });

  it("are still shown to the research agreement's DPO in the person's subject access answer", async () => {
    const sar = await callApi(t, `/v1/audit/people/${encodeURIComponent(kitRef)}/accesses`, {
      party: RESEARCH_DPO,
      roles: ['dpo'],
    });
    expect(sar.status, sar.text).toBe(200);
    expect(icfSearchesIn(sar.body.entries as never)).toEqual([`person.search ${DATASET}`]);
  });

  it("are not shown to the DPO of another agreement the party signed (the Keyways DSA's)", async () => {
    expect(await icfActivity(KEYWAYS_DPO)).toEqual([]);
  });

  it.each(kitBy)(
    "are found for the research agreement's DPO by identifiers (%s), with one log entry for the request",
    async (_, body) => {
      const before = await t.accessLogSize();
      const sar = await callApi(t, '/v1/audit/people/accesses', { party: RESEARCH_DPO, roles: ['dpo'], body });
      expect(sar.status, sar.text).toBe(200);
      expect(sar.body.personRef).toBe(kitRef);
      expect(icfSearchesIn(sar.body.entries as never)).toEqual([`person.search ${DATASET}`]);
      expect(await t.accessLogSize()).toBe(before + 1);
    },
  );

  it.each(kitBy)('are not found for the Keyways DPO by identifiers (%s)', async (_, body) => {
    const sar = await callApi(t, '/v1/audit/people/accesses', { party: KEYWAYS_DPO, roles: ['dpo'], body });
    expect(sar.status, sar.text).toBe(404);
  });
});
