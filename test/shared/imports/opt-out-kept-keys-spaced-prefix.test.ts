import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import { nhs, personOf } from '../../support/linked-people.js';
import { createImportHarness, type ImportHarness } from './import-harness.js';

const DATASET = 'multiple-disadvantage-indicators';
const HEADER = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber';
const dpo = { partyId: 'la-housing', clientId: 'dpo-client' };

/**
 * The keys kept of an opted-out person whose last record a load removed reach an arrival by date
 * of birth and family name (opt-out-kept-keys.ts, opt-out-successors.ts RESEMBLES). The family
 * name is compared as the linking rules compare it (familyNameKey): another party's "O Brien" is
 * Housing's "O'Brien", so the national data opt-out follows her there.
 */
describe("an opted-out O'Brien who leaves Housing and arrives at social care as O Brien", () => {
  let h: ImportHarness;
  let consents: StoreConsentRegister;
  beforeAll(async () => {
    h = await createImportHarness();
    consents = new StoreConsentRegister(h.store);
  });
  afterAll(async () => h.close());

  const send = (party: string, name: string, lines: string[]) =>
    h.importAndLink(`${party}/${DATASET}/${name}`, [HEADER, ...lines].join('\n'));

  it('reaches her, with no identifier and her given name spelled out, by date of birth and family name', async () => {
    await send('la-housing', 'a.csv', [`Mary,O'Brien,1980-05-06,ME15 2YY,${nhs(6801)}`]);
    const maryId = await personOf(h, 'la-housing', 'MARY');
    await consents.record({
      subjectKey: maryId,
      kind: 'opt-out',
      purposeId: null,
      evidenceRef: 'evidence',
      by: dpo,
      at: new Date(),
    });
    await send('la-housing', 'b.csv', ['Susan,White,1960-09-10,ME18 5BB,']);
    await send('la-childrens-social-care', 'a.csv', [
      'Marianne,O Brien,1980-05-06,ME20 6DD,',
      'Ann,Jones,1990-01-02,,',
    ]);
    const arrival = await personOf(h, 'la-childrens-social-care', 'MARIANNE');
    expect(await consents.isOptedOut(arrival, new Date())).toBe(true);
    expect(await consents.isOptedOut(await personOf(h, 'la-childrens-social-care', 'ANN'), new Date())).toBe(false);
  });
});
