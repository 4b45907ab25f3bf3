import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeDroppedDataset } from '../../shared/retention/dropped-datasets.js';
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
 * As consent-withdrawal-person-not-held.test.ts, and then an operator purges the dropped dataset
 * (`npm run purge-dataset`): no record holds the participants any more. A consent names its
 * purpose, and its withdrawal is decided under that purpose's agreement (the one the store
 * remembers), whatever X-Purpose the caller sends: one of the Keyways DSA, which Dudley signs too,
 * neither lets a role Dudley holds only there withdraw it nor files the entry, with a reference to
 * the person, for the Keyways DPO.
 */
describe('withdrawing a consent whose purpose and dataset were dropped, after an operator purged the dataset', () => {
  let t: TestHost;
  const DUDLEY = 'dudley-housing-options';
  const DATASET = 'housing-first-participant-contacts';
  const people = namedPeople(['Ida', 'Jem'], 'Unheld', 1981);
  const [ida, jem] = people;
  let ids: Map<string, string>;
  let from: string;

  const withdraw = (person: { givenName: string }, roles: string[], purpose = 'housing-allocation') =>
    withdrawConsent(t, ids.get(person.givenName), { party: DUDLEY, roles, purpose });
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
    const { store, agreements, accessLog, logger } = t.host.services;
    const purged = await purgeDroppedDataset({ store, agreements, accessLog, logger }, DATASET);
    expect(purged.peopleDeleted).toBe(1);
    expect(await inForce(ida)).toBe(true);
    expect(await inForce(jem)).toBe(true);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("refuses it under another agreement's purpose to a role the party holds only there, filed for the research agreement's DPO alone", async () => {
    const asSenior = await withdraw(ida, ['senior-officer']);
    expect(asSenior.status, `log: ${(await withdrawReasons()).join(', ')}`).toBe(404);
    expect(await inForce(ida)).toBe(true);
    expect(await dudleyWithdrawals('kettering-borough-council')).toEqual([]);
    expect((await dudleyWithdrawals(DUDLEY)).length).toBe(1);
  });

  it("lets the housing officer who took it withdraw it under another agreement's purpose, filed for the research agreement's DPO alone", async () => {
    const byOfficer = await withdraw(ida, ['housing-officer']);
    expect(byOfficer.status, `log: ${(await withdrawReasons()).join(', ')}`).toBe(200);
    expect(await inForce(ida)).toBe(false);
    expect((await dudleyWithdrawals(DUDLEY)).at(-1)).toBe('consent.withdraw research-evaluation consent-withdrawn 1');
    expect(await dudleyWithdrawals('kettering-borough-council')).toEqual([]);
  });
});
