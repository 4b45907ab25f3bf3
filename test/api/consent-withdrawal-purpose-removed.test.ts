import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith, keywaysAlsoSignedBy, renamedIn } from '../shared/agreements/agreement-files.js';
import { dudleyParticipantsConsenting, namedPeople } from '../support/records.js';
import {
  clientActivityLines,
  consentInForce,
  reasonCodesOf,
  restartTestHost,
  startTestHost,
  type TestHost,
  withdrawConsent,
} from '../support/test-host.js';

/**
 * A consent outlives the purpose it was given for: the research agreement is re-signed and the
 * evaluation's purpose is no longer in it (here renamed, as a follow-up study would be, whose
 * consents are taken afresh). The consents Dudley took for the old purpose stay in force in the
 * register: a retention pass holds their people whole for them, and were the purpose written back
 * they would release contact details again. The person asks Dudley to withdraw: its DPO, or the
 * officer who took it, must be able to, as for any consent Dudley recorded; to anyone else it
 * stays an unknown id. The withdrawal's access-log entry is the research agreement's, for its DPO
 * to read in the client's activity, and not that of another agreement Dudley signed (the Keyways
 * DSA here), whose DPO would otherwise be given a reference to the person.
 *
 * The re-signing is real: the consent is recorded over HTTP by a host on the agreements as they
 * are, which is stopped; a second host on the same store (and keys) starts on the re-signed files.
 */
describe('withdrawing a consent whose purpose the re-signed agreement no longer defines', () => {
  let t: TestHost;
  const DUDLEY = 'dudley-housing-options';
  const people = namedPeople(['Fay', 'Gus', 'Hal'], 'Outlives', 1979);
  const [fay, gus, hal] = people;
  let ids: Map<string, string>;
  let from: string;

  const withdraw = (person: { givenName: string }, party: string, roles: string[]) =>
    withdrawConsent(t, ids.get(person.givenName), { party, roles });
  const withdrawReasons = (party: string) => reasonCodesOf(t, party, 'consent.withdraw');
  const inForce = (person: { givenName: string }) => consentInForce(t, ids.get(person.givenName) ?? '');
  const dudleyActivity = (auditor = DUDLEY) => clientActivityLines(t, DUDLEY, auditor, from);

  beforeAll(async () => {
    t = await startTestHost();
    from = new Date(Date.now() - 1000).toISOString();
    ids = await dudleyParticipantsConsenting(t, people, '07700 90010', 'HF/CONSENT/9');
    t = await restartTestHost(t, {
      AGREEMENTS_DIR: agreementsFolderWith([
        renamedIn('housingFirst', 'research-evaluation', 'research-follow-up'),
        // Dudley signs the Keyways DSA too (no DPO role there): its DPO is Kettering's.
        keywaysAlsoSignedBy(DUDLEY, ['housing-officer']),
      ]),
    });
    expect(t.host.services.agreements.purpose('research-evaluation')).toBeUndefined();
    expect(await inForce(fay)).toBe(true);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("lets Dudley's DPO withdraw it, filed for the research agreement's DPO", async () => {
    const before = await withdrawReasons(DUDLEY);
    const byDpo = await withdraw(fay, DUDLEY, ['dpo']);
    expect(byDpo.status, `log: ${(await withdrawReasons(DUDLEY)).join(', ')}`).toBe(200);
    expect(byDpo.body).toMatchObject({
      consentId: ids.get('Fay'),
      purpose: 'research-evaluation',
      withdrawnAt: expect.any(String),
    });
    expect(await withdrawReasons(DUDLEY)).toEqual([...before, 'consent-withdrawn']);
    expect(await inForce(fay)).toBe(false);
    expect((await dudleyActivity()).at(-1)).toBe('consent.withdraw research-evaluation consent-withdrawn 1');
    // Not the Keyways DSA's business, though Dudley signed it too: its DPO gets no reference to
    // Fay from it, nor from the consents' recording entries, filed by the agreement that defined
    // their purpose (agreements/remembered-agreements.ts; test/api/audit-scope-purpose-removed.test.ts).
    const keywaysDpoReads = await dudleyActivity('kettering-borough-council');
    expect(keywaysDpoReads.filter((entry) => entry.includes(' research-evaluation '))).toEqual([]);
  });

  it('lets the housing officer who took it withdraw it', async () => {
    const byOfficer = await withdraw(gus, DUDLEY, ['housing-officer']);
    expect(byOfficer.status, `log: ${(await withdrawReasons(DUDLEY)).join(', ')}`).toBe(200);
    expect(await inForce(gus)).toBe(false);
  });

  it('answers any other party that the id is unknown, and leaves the consent in force', async () => {
    const before = await withdrawReasons('icf-research');
    const byIcf = await withdraw(hal, 'icf-research', ['researcher']);
    expect(byIcf.status).toBe(404);
    expect(byIcf.body.type).toBe('urn:lintel:problem:consent-unknown');
    expect(await withdrawReasons('icf-research')).toEqual([...before, 'consent-unknown']);
    expect(await inForce(hal)).toBe(true);
  });
});
