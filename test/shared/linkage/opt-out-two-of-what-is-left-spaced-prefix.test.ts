import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { personOf } from '../../support/linked-people.js';

const DATASET = 'multiple-disadvantage-indicators';
const HEADER = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber';
const dpo = { partyId: 'la-housing', clientId: 'dpo-client' };

/**
 * The very last way an opt-out follows a record within a snapshot (opt-out-successors.ts
 * twoOfWhatIsLeft): a newcomer holding two of the noted record's date of birth, names and postcode.
 * Its pairs with the family name compare it as the other ways and the linking rules do
 * (familyNameKey): a record sent again with its date of birth corrected and its family name
 * written "O Brien" for "O'Brien" (or "Mc Donald" for "McDonald") is still the opted-out person's,
 * and keeps the national data opt-out. The bystander sent beside it is not opted out.
 */
describe('an opted-out person whose next snapshot corrects the date of birth and spaces the family name', () => {
  let h: ImportHarness;
  let consents: StoreConsentRegister;
  beforeEach(async () => {
    h = await createImportHarness();
    consents = new StoreConsentRegister(h.store);
  });
  afterEach(async () => h.close());

  const send = (name: string, lines: string[]) =>
    h.importAndLink(`la-housing/${DATASET}/${name}`, [HEADER, ...lines].join('\n'));

  it.each([
    // Given name and family name left: the postcode changed too.
    ['its postcode', "Mary,O'Brien,1990-04-12,ME15 2YY,", 'MARY', 'Mary,O Brien,1991-04-12,ME16 3ZZ,', 'MARY'],
    // Postcode and family name left: the given name changed too (first three letters and all).
    [
      'its given name',
      'Margaret,McDonald,1990-04-12,ME15 2YY,',
      'MARGARET',
      'Peggy,Mc Donald,1991-04-12,ME15 2YY,',
      'PEGGY',
    ],
  ])('keeps the opt-out when %s changes as well', async (_what, before, givenBefore, after, givenAfter) => {
    const peter = 'Peter,Brown,1975-07-08,ME17 4AA,';
    await send('a.csv', [before, peter]);
    await consents.record({
      subjectKey: await personOf(h, 'la-housing', givenBefore),
      kind: 'opt-out',
      purposeId: null,
      evidenceRef: 'nddo',
      by: dpo,
      at: new Date(),
    });
    await send('b.csv', [after, peter]);
    expect(await consents.isOptedOut(await personOf(h, 'la-housing', givenAfter), new Date())).toBe(true);
    expect(await consents.isOptedOut(await personOf(h, 'la-housing', 'PETER'), new Date())).toBe(false);
  });
});
