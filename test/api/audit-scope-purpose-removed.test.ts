import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith, keywaysAlsoSignedBy, renamedIn } from '../shared/agreements/agreement-files.js';
import { dudleyParticipantsConsenting, namedPeople } from '../support/records.js';
import { clientActivity, restartTestHost, startTestHost, type TestHost } from '../support/test-host.js';

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
  const people = namedPeople(['Ivo', 'Jan'], 'Refiled', 1981);
  let from: string;

  const dudleyActivity = async (auditor: string) =>
    (await clientActivity(t, DUDLEY, auditor, from))
      .filter((e) => e.purpose === 'research-evaluation')
      .map((e) => `${e.action} ${e.purpose} ${e.subjectRefs?.length}`);

  beforeAll(async () => {
    t = await startTestHost();
    from = new Date(Date.now() - 1000).toISOString();
    await dudleyParticipantsConsenting(t, people, '07700 90020', 'HF/CONSENT/11');
    t = await restartTestHost(t, {
      AGREEMENTS_DIR: agreementsFolderWith([
        renamedIn('housingFirst', 'research-evaluation', 'research-follow-up'),
        // Dudley signs the Keyways DSA too (no DPO role there): its DPO is Kettering's.
        keywaysAlsoSignedBy(DUDLEY, ['housing-officer']),
      ]),
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
