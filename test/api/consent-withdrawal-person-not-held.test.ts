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
 * A consent whose purpose the re-signed agreement dropped is withdrawn under the agreement its
 * person is held in (test/api/consent-withdrawal-purpose-removed.test.ts). Nothing may say where
 * the person is held: the same re-signing can replace the dataset their records are in (the
 * research agreement's participants' contacts, renamed with the purpose for a follow-up study),
 * and a person's records can be gone altogether (a source's snapshot that no longer lists them).
 * The consent is in force all the same, and the store still knows the agreement its purpose was
 * (agreements/remembered-agreements.ts): the party that recorded it must be able to withdraw it there,
 * and the entry is that agreement's, not that of another agreement the party signed (the Keyways
 * DSA here), whose DPO would be given a reference to the person.
 *
 * The re-signing is real: the consents are recorded over HTTP by a host on the agreements as they
 * are, which is stopped; a second host on the same store (and keys) starts on the re-signed files.
 */
describe('withdrawing a consent whose purpose was dropped, for a person no current dataset holds', () => {
  let t: TestHost;
  const DUDLEY = 'dudley-housing-options';
  const DATASET = 'housing-first-participant-contacts';
  const people = namedPeople(['Ida', 'Jem'], 'Unheld', 1981);
  const [ida, jem] = people;
  let ids: Map<string, string>;
  let from: string;

  const withdraw = (person: { givenName: string }, roles: string[]) =>
    withdrawConsent(t, ids.get(person.givenName), { party: DUDLEY, roles });
  const withdrawReasons = () => reasonCodesOf(t, DUDLEY, 'consent.withdraw');
  const inForce = (person: { givenName: string }) => consentInForce(t, ids.get(person.givenName) ?? '');
  const dudleyWithdrawals = (auditor: string) => clientActivityLines(t, DUDLEY, auditor, from, 'consent.withdraw');

  beforeAll(async () => {
    t = await startTestHost();
    from = new Date(Date.now() - 1000).toISOString();
    ids = await dudleyParticipantsConsenting(t, people, '07700 90040', 'HF/CONSENT/14');
    // Jem is no longer in any snapshot Dudley sends: no record holds them.
    const jemsConsent = await t.host.services.consents.find(ids.get('Jem')!);
    await t.host.services.store.db
      .deleteFrom('source_record')
      .where('person_id', '=', jemsConsent!.subjectKey)
      .execute();
    t = await restartTestHost(t, {
      AGREEMENTS_DIR: agreementsFolderWith([
        renamedIn('housingFirst', 'research-evaluation', 'research-follow-up'),
        renamedIn('housingFirst', DATASET, 'housing-first-follow-up-contacts'),
        // Dudley signs the Keyways DSA too (no DPO role there): its DPO is Kettering's.
        keywaysAlsoSignedBy(DUDLEY, ['housing-officer']),
      ]),
    });
    expect(t.host.services.agreements.purpose('research-evaluation')).toBeUndefined();
    expect(t.host.services.agreements.dataset(DATASET)).toBeUndefined();
    expect(await inForce(ida)).toBe(true);
    expect(await inForce(jem)).toBe(true);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('lets the housing officer who took it withdraw it when the dataset holding the person was dropped too', async () => {
    const byOfficer = await withdraw(ida, ['housing-officer']);
    expect(byOfficer.status, `log: ${(await withdrawReasons()).join(', ')}`).toBe(200);
    expect(await inForce(ida)).toBe(false);
  });

  it("lets Dudley's DPO withdraw it when no record holds the person, filed for the research agreement's DPO alone", async () => {
    const byDpo = await withdraw(jem, ['dpo']);
    expect(byDpo.status, `log: ${(await withdrawReasons()).join(', ')}`).toBe(200);
    expect(await inForce(jem)).toBe(false);
    expect((await dudleyWithdrawals(DUDLEY)).at(-1)).toBe('consent.withdraw research-evaluation consent-withdrawn 1');
    expect(await dudleyWithdrawals('kettering-borough-council')).toEqual([]);
  });
});
