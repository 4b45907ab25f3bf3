import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeDroppedDataset } from '../../shared/retention/dropped-datasets.js';
import {
  agreementsFolderWith,
  KEYWAYS_FRAUD_CHECK_OPT_OUT_APPLIES,
  keywaysAlsoSignedBy,
  renamedIn,
} from '../shared/agreements/agreement-files.js';
import { robinOptedOutByLaHousing } from '../support/records.js';
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
 * As consent-withdrawal-opt-out-dataset-dropped.test.ts, and then an operator purges the dropped
 * dataset (`npm run purge-dataset`). The purge deletes the opted-out person's records, and with
 * them the keys kept for them — or, where a snapshot had dropped the person before the re-signing,
 * the keys that load kept, all that was left of them. Either way no record and no kept key says
 * any more which agreement the person was held in. The opt-out stays in force, and its withdrawal
 * is still the agreement's it was recorded under: a DPO of another agreement the party signed must
 * not end it under that agreement's purpose, nor its DPOs be given a reference to the person.
 */
describe.each([
  { held: 'its records, purged', departed: false },
  { held: 'only keys a load kept after a snapshot dropped them, purged', departed: true },
])('withdrawing an opt-out whose person a dataset a re-signing dropped held by $held', ({ departed }) => {
  let t: TestHost;
  const LA_HOUSING = 'la-housing';
  const DROPPED = 'multiple-disadvantage-indicators';
  let from: string;
  let optOutId: string;

  // The ISA's housing service signs the Keyways DSA too, as its DPO, and the Keyways fraud check
  // is taken to be one the national data opt-out applies to: its DPO may write opt-outs under either.
  const bothAgreements = [keywaysAlsoSignedBy(LA_HOUSING, ['dpo']), KEYWAYS_FRAUD_CHECK_OPT_OUT_APPLIES];

  const withdraw = (purpose: string, roles = ['dpo']) =>
    withdrawConsent(t, optOutId, { party: LA_HOUSING, roles, purpose });
  const withdrawReasons = () => reasonCodesOf(t, LA_HOUSING, 'consent.withdraw');
  const inForce = () => consentInForce(t, optOutId);
  const withdrawalsSeenBy = (auditor: string) => clientActivityLines(t, LA_HOUSING, auditor, from, 'consent.withdraw');

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off', AGREEMENTS_DIR: agreementsFolderWith(bothAgreements) });
    from = new Date(Date.now() - 1000).toISOString();
    const optedOut = await robinOptedOutByLaHousing(t, 'DPO/OPTOUT/9');
    const { robin } = optedOut;
    optOutId = optedOut.optOutId;
    if (departed) {
      // As a load leaves it when the sources' next snapshots no longer hold the opted-out person
      // (opt-out-kept-keys.ts): their records gone, their keys kept for the dataset.
      const { db } = t.host.services.store;
      await db
        .insertInto('opt_out_kept_record')
        .values({
          record_id: robin.recordId,
          person_id: robin.personId,
          dataset_id: DROPPED,
          date_of_birth: null,
          given_name: null,
          family_name: null,
          first3: null,
          postcode: null,
          kept_at: new Date().toISOString(),
        })
        .execute();
      await db.deleteFrom('record_identifier').where('record_id', '=', robin.recordId).execute();
      await db.deleteFrom('source_record').where('person_id', '=', robin.personId).execute();
    }

    t = await restartTestHost(t, {
      LINTEL_DEMO_SEED: 'off',
      AGREEMENTS_DIR: agreementsFolderWith([...bothAgreements, renamedIn('isa', DROPPED, `${DROPPED}-2027`)]),
    });
    expect(t.host.services.agreements.dataset(DROPPED)).toBeUndefined();
    expect(t.host.services.agreements.formerAgreementOfDataset(DROPPED)).toBe('social-care-education-housing');
    const { store, agreements, accessLog, logger } = t.host.services;
    const purged = await purgeDroppedDataset({ store, agreements, accessLog, logger }, DROPPED);
    expect(purged).toMatchObject(
      departed ? { peopleDeleted: 0, optedOutKeysDeleted: 1 } : { peopleDeleted: 1, recordsDeleted: 1 },
    );
    expect(await inForce()).toBe(true);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("refuses it under another agreement's purpose, filed for the ISA's DPOs with the person and for no other", async () => {
    const underKeyways = await withdraw('fraud-prevention');
    expect(underKeyways.status, `log: ${(await withdrawReasons()).join(', ')}`).toBe(404);
    expect(underKeyways.body.type).toBe('urn:lintel:problem:consent-unknown');
    expect(await inForce()).toBe(true);
    // With no dataset left to file it by, the refusal goes by the purpose the opt-out was
    // recorded under: by the X-Purpose sent it would be the Keyways DSA's, with the person named.
    const filedBy = departed ? 'service-planning' : 'fraud-prevention';
    expect(await withdrawalsSeenBy('la-childrens-social-care')).toEqual([
      `consent.withdraw ${filedBy} purpose-not-permitted 1`,
    ]);
    expect(await withdrawalsSeenBy('kettering-borough-council')).toEqual([]);
  });

  it('refuses it to a role of the party that is not its DPO there', async () => {
    const asAnalyst = await withdraw('service-planning', ['analyst']);
    expect(asAnalyst.status).toBe(404);
    expect(await inForce()).toBe(true);
  });

  it("lets the party's DPO withdraw it under the ISA's purpose, filed for the ISA's DPOs", async () => {
    const underIsa = await withdraw('service-planning');
    expect(underIsa.status, `log: ${(await withdrawReasons()).join(', ')}`).toBe(200);
    expect(await inForce()).toBe(false);
    expect((await withdrawalsSeenBy('la-childrens-social-care')).at(-1)).toBe(
      'consent.withdraw service-planning opt-out-withdrawn 1',
    );
    expect(await withdrawalsSeenBy('kettering-borough-council')).toEqual([]);
  });
});
