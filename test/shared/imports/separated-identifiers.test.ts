import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Pseudonymiser } from '../../../shared/domain/pseudonymise.js';
import { findPerson } from '../../../shared/people/find-person.js';
import { identifierUseOf } from '../../../shared/people/lookup-identifiers.js';
import { canonicalQuery } from '../../../shared/people/person-query.js';
import { loadAgreements } from '../../../shared/agreements/load.js';
import {
  AGREEMENTS_DIR,
  createImportHarness,
  storedIdentifiers,
  storedRecords,
  type ImportHarness,
} from './import-harness.js';

/**
 * NI numbers are printed in pairs ("QQ 12 34 56 C") and case systems export them with hyphens as
 * often as with spaces. NHS numbers written either way loaded; an NI number with hyphens was
 * refused as `ni-number-format` (found by a review), so the row, and with it the person's link to
 * the other councils' records, was lost.
 */
const KEYWAYS = 'keyways-housing-register';
const HEADER = 'firstName,lastName,dateOfBirth,nationalInsuranceNumber,address,telephoneNumber';

describe('an NI number written with separators', () => {
  let h: ImportHarness;
  beforeEach(async () => {
    h = await createImportHarness();
  });
  afterEach(async () => {
    await h?.close();
  });

  it('loads with hyphens or spaces, is stored as the bare form, links and is found by a hyphenated search', async () => {
    const kettering = [
      HEADER,
      'Araminta,Quillfeather,01/01/1950,ZN-98-48-51-D,"10 Marigold Crescent, Kettering",01536 600100',
      'Bartholomew,Underhay,06/02/1957,EJ 80 96 62 B,"11 Larkspur Row, Kettering",01536 600101',
    ].join('\n');
    const corby = [
      HEADER,
      'Araminta,Quillfeather,01/01/1950,ZN984851D,"10 Marigold Crescent, Corby",01536 600102',
    ].join('\n');
    const loaded = await h.importFile(`kettering-borough-council/${KEYWAYS}/k.csv`, kettering);
    expect(loaded, JSON.stringify(loaded)).toMatchObject({ outcome: 'loaded', loaded: 2, rejected: 0 });
    await h.importAndLink(`corby-borough-council/${KEYWAYS}/c.csv`, corby);

    const shown = await storedRecords(h.store, 'kettering-borough-council', KEYWAYS);
    expect(shown.map((r) => r.attributes.nationalInsuranceNumber)).toEqual(['ZN984851D', 'EJ809662B']);
    const secret = await h.secrets.get('pseudonymisation-key');
    const key = new Pseudonymiser({ keyVersion: secret.version, key: Buffer.from(secret.value, 'base64') });
    const hashes = (await storedIdentifiers(h.store, 'kettering-borough-council', KEYWAYS)).map((i) => i.hash);
    expect(hashes).toEqual([key.hash('ni', 'ZN984851'), key.hash('ni', 'EJ809662')]);

    // The hyphenated record links to the other council's unseparated one.
    const personOf = async (party: string) =>
      (
        await h.store.db
          .selectFrom('source_record')
          .select('person_id')
          .where('party_id', '=', party)
          .where('row_number', '=', 2)
          .executeTakeFirstOrThrow()
      ).person_id;
    const person = await personOf('corby-borough-council');
    expect(person).not.toBeNull();
    expect(await personOf('kettering-borough-council')).toBe(person);

    // An officer searching with the number as written on a letter finds that person.
    const identifiers = identifierUseOf(loadAgreements(AGREEMENTS_DIR));
    for (const niNumber of ['ZN-98-48-51-D', 'zn 98 48 51 d', 'ZN984851']) {
      const query = canonicalQuery({ niNumber }, new Date());
      expect(query, niNumber).toMatchObject({ ok: true });
      if (!query.ok) continue;
      expect(await findPerson(h.store, [key], query.query, [KEYWAYS], identifiers), niNumber).toEqual({
        found: true,
        personId: person,
        tier: 1,
      });
    }
  });
});
