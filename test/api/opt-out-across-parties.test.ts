import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalSecretSource } from '../../shared/secrets/local-secret-source.js';
import { linkAfterImport } from '../../shared/linkage/pending-links.js';
import { agreementsFolderWith } from '../shared/agreements/agreement-files.js';
import { hostExtracts, type HostExtracts } from '../support/host-extracts.js';
import { nhs } from '../support/linked-people.js';
import { callApi, reasonCodesOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A housing association's tenant, with an NHS number and a postcode, has a national data opt-out
 * on record. The association's next extract no longer holds them (evicted), and is loaded and
 * linked; then the council's Housing extract holds them in temporary accommodation. The opt-out
 * must follow them there: a planning lookup (the purpose the opt-out applies to) must refuse
 * them as it refuses anyone opted out, not share them as someone new.
 */
describe('an opt-out across a move from one party’s dataset to another’s', () => {
  let t: TestHost;
  const dataset = 'multiple-disadvantage-indicators';
  const provider = 'social-housing-providers';
  const providerHeader = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears';
  const housingHeader = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inTemporaryAccommodation';

  let extracts: HostExtracts;
  async function loadAndLink(party: string, fileName: string, lines: string[]): Promise<void> {
    await linkAfterImport(extracts.linkDeps(), await extracts.load(party, dataset, fileName, lines));
  }

  const planningLookup = (nhsNumber: string) =>
    callApi(t, '/v1/people/search', {
      party: 'la-housing',
      roles: ['analyst'],
      purpose: 'service-planning',
      body: { nhsNumber },
    });
  const optOut = (nhsNumber: string) =>
    callApi(t, '/v1/consents', {
      party: 'la-housing',
      roles: ['dpo'],
      purpose: 'service-planning',
      body: { kind: 'opt-out', subject: { nhsNumber }, evidenceRef: 'DPO/NDOO/1' },
    });
  const lookupReasons = () => reasonCodesOf(t, 'la-housing', 'person.search');

  beforeAll(async () => {
    // The ISA as it is, but with planning lookups granted to la-housing's analysts.
    const planningLookups = agreementsFolderWith([
      {
        agreement: 'isa',
        from: '    actions: [export]\n    source: What security measures will be put in place\n',
        to: '    actions: [export, lookup]\n    source: What security measures will be put in place\n',
      },
    ]);
    t = await startTestHost({ AGREEMENTS_DIR: planningLookups });
    extracts = await hostExtracts(t);
  });
  afterAll(async () => {
    await extracts?.remove();
    await t?.stop();
  });

  /** How many records' keys are kept for opted-out people no record holds any more. */
  const keptRecords = async () =>
    Number(
      (
        await t.host.services.store.db
          .selectFrom('opt_out_kept_record')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('refuses a planning lookup of the person once they arrive in the second party’s dataset', async () => {
    const dana = nhs(4101);
    const owen = nhs(4201);
    await loadAndLink(provider, 'rp-1.csv', [
      providerHeader,
      `Dana,Price,1988-02-03,ME14 2AB,${dana},Y`,
      `Owen,Hart,1970-06-07,ME15 3DE,${owen},N`,
    ]);
    expect((await optOut(dana)).status).toBe(201);

    // Dana leaves the association's extract; that snapshot is loaded and linked first.
    await loadAndLink(provider, 'rp-2.csv', [providerHeader, `Owen,Hart,1970-06-07,ME15 3DE,${owen},N`]);
    // Then she arrives in Housing's, in temporary accommodation at another address.
    const ruth = nhs(4301);
    await loadAndLink('la-housing', 'ta-1.csv', [
      housingHeader,
      `Dana,Price,1988-02-03,ME1 4XY,${dana},Y`,
      `Ruth,Lane,1992-09-10,ME2 5ZZ,${ruth},Y`,
    ]);

    const refused = await planningLookup(dana);
    expect(refused.status).toBe(404);
    expect(refused.text).not.toContain('Dana');
    expect((await lookupReasons()).slice(-1)).toEqual(['opted-out']);
    // Someone else of the same extract is shared as before.
    expect((await planningLookup(ruth)).status).toBe(200);
  });

  it('refuses the person after a key rotation when they arrive under a new surname and a corrected date of birth', async () => {
    const cara = nhs(4401);
    const owen = nhs(4501);
    await loadAndLink(provider, 'rp-5.csv', [
      providerHeader,
      `Cara,Price,1988-02-03,ME14 2AB,${cara},Y`,
      `Owen,Hart,1970-06-07,ME15 3DE,${owen},N`,
    ]);
    expect((await optOut(cara)).status).toBe(201);
    await loadAndLink(provider, 'rp-6.csv', [providerHeader, `Owen,Hart,1970-06-07,ME15 3DE,${owen},N`]);
    // Her keys were kept under the key of that day; the operator then rotates it.
    const secrets = t.host.services.secrets;
    expect(secrets).toBeInstanceOf(LocalSecretSource);
    (secrets as LocalSecretSource).rotate('pseudonymisation-key');
    // Housing has her by the same NHS number, married (another surname), her date of birth
    // corrected and at another address: only the NHS number is left to know her by.
    const ruth = nhs(4601);
    await loadAndLink('la-housing', 'ta-3.csv', [
      housingHeader,
      `Cara,Clarke,1988-02-13,ME1 4XY,${cara},Y`,
      `Ruth,Lane,1992-09-10,ME2 5ZZ,${ruth},Y`,
    ]);

    const refused = await planningLookup(cara);
    expect(refused.status).toBe(404);
    expect(refused.text).not.toContain('Cara');
    expect((await lookupReasons()).slice(-1)).toEqual(['opted-out']);
    // Someone else of the same extract, hashed under the new key, is shared as before.
    expect((await planningLookup(ruth)).status).toBe(200);
  });

  it('keeps no key of the person once the opt-out is withdrawn, and shares them when they arrive', async () => {
    const lena = nhs(5101);
    const hugh = nhs(5201);
    const before = await keptRecords();
    await loadAndLink(provider, 'rp-3.csv', [
      providerHeader,
      `Lena,Marsh,1979-11-12,ME16 7EF,${lena},N`,
      `Hugh,Bell,1965-01-02,ME17 8GH,${hugh},N`,
    ]);
    const recorded = await optOut(lena);
    expect(recorded.status).toBe(201);
    await loadAndLink(provider, 'rp-4.csv', [providerHeader, `Hugh,Bell,1965-01-02,ME17 8GH,${hugh},N`]);
    expect(await keptRecords()).toBe(before + 1);

    const withdrawn = await callApi(t, `/v1/consents/${recorded.body.consentId as string}`, {
      party: 'la-housing',
      roles: ['dpo'],
      purpose: 'service-planning',
      method: 'DELETE',
    });
    expect(withdrawn.status).toBe(200);
    expect(await keptRecords()).toBe(before);

    await loadAndLink('la-housing', 'ta-2.csv', [housingHeader, `Lena,Marsh,1979-11-12,ME1 4XY,${lena},Y`]);
    expect((await planningLookup(lena)).status).toBe(200);
    expect((await lookupReasons()).slice(-1)).toEqual(['granted']);
  });
});
