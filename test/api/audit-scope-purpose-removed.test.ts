import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith } from '../shared/agreements/agreement-files.js';
import { dudleyParticipant, insertRecord } from '../support/records.js';
import { callApi, clientIdOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * Whose business an entry is outlives the purpose it was written under. Dudley records consents
 * for the Housing First evaluation — entries that name no dataset, filed by their purpose's
 * agreement (shared/audit/entry-agreements.ts), each with a reference to the person. The research
 * agreement is then re-signed without that purpose (renamed, as for a follow-up study), and
 * Dudley has also signed the Keyways DSA, whose DPO is Kettering's. The consents' entries are the
 * research agreement's still: its DPO reads them in Dudley's activity, and the Keyways DPO does
 * not — no agreement defines their purpose now, and read as "every agreement Dudley signed" they
 * gave an unrelated agreement's DPO a reference to each person (found by a review).
 *
 * The re-signing is real: the consents are recorded over HTTP by a host on the agreements as they
 * are, which is stopped; a second host on the same store (and keys) starts on the re-signed files.
 */
describe("an access-log entry under a purpose the re-signed agreement dropped, in the DPOs' views", () => {
  let t: TestHost;
  const DUDLEY = 'dudley-housing-options';
  const KEYWAYS_DPO = 'kettering-borough-council';
  const people = ['Ivo', 'Jan'].map((givenName, n) => ({
    givenName,
    familyName: 'Refiled',
    dateOfBirth: `1981-0${n + 1}-01`,
  }));
  let from: string;

  const dudleyActivity = async (auditor: string) => {
    const to = new Date(Date.now() + 60_000).toISOString();
    const res = await callApi(t, `/v1/audit/clients/${clientIdOf(DUDLEY)}/activity?from=${from}&to=${to}&limit=500`, {
      party: auditor,
      roles: ['dpo'],
    });
    expect(res.status).toBe(200);
    type Entry = { action: string; purpose: string; subjectRefs: string[] };
    return (res.body.entries as Entry[])
      .filter((e) => e.purpose === 'research-evaluation')
      .map((e) => `${e.action} ${e.purpose} ${e.subjectRefs.length}`);
  };

  beforeAll(async () => {
    t = await startTestHost();
    from = new Date(Date.now() - 1000).toISOString();
    for (const [n, person] of people.entries()) {
      await insertRecord(t.host.services, dudleyParticipant(person, `07700 90020${n}`));
      const recorded = await callApi(t, '/v1/consents', {
        party: DUDLEY,
        roles: ['housing-officer'],
        purpose: 'research-evaluation',
        body: { subject: person, evidenceRef: 'HF/CONSENT/11' },
      });
      expect(recorded.status, recorded.text).toBe(201);
    }
    const { SQLITE_PATH, LOCAL_SECRETS_PATH, DEV_ISSUER_KEY_PATH } = t.settings;
    await t.stop();
    t = await startTestHost({
      AGREEMENTS_DIR: agreementsFolderWith([
        { agreement: 'housingFirst', from: '  - id: research-evaluation\n', to: '  - id: research-follow-up\n' },
        {
          agreement: 'housingFirst',
          from: '  - purpose: research-evaluation\n',
          to: '  - purpose: research-follow-up\n',
        },
        // Dudley signs the Keyways DSA too (no DPO role there): its DPO is Kettering's.
        {
          agreement: 'keyways',
          from: '    name: Borough Council of Wellingborough\n    kind: council\n    roles: [housing-officer, senior-officer, dpo]\n',
          to:
            '    name: Borough Council of Wellingborough\n    kind: council\n    roles: [housing-officer, senior-officer, dpo]\n' +
            '  - id: dudley-housing-options\n    name: Dudley Metropolitan Borough Council - Housing Options and Support\n    kind: council\n    roles: [housing-officer]\n',
        },
      ]),
      SQLITE_PATH,
      LOCAL_SECRETS_PATH,
      DEV_ISSUER_KEY_PATH,
    });
    expect(t.host.services.agreements.purpose('research-evaluation')).toBeUndefined();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("are not shown to the DPO of another agreement the party signed (the Keyways DSA's)", async () => {
    expect(await dudleyActivity(KEYWAYS_DPO)).toEqual([]);
  });

  it("are still shown to the research agreement's DPO, each with its person's reference", async () => {
    expect(await dudleyActivity(DUDLEY)).toEqual([
      'consent.record research-evaluation 1',
      'consent.record research-evaluation 1',
    ]);
  });
});
