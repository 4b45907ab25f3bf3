import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { validateNiNumber } from '../../../shared/domain/identifiers.js';
import { firstThree, normaliseName } from '../../../shared/domain/normalise.js';
import { Pseudonymiser } from '../../../shared/domain/pseudonymise.js';
import { findPerson } from '../../../shared/people/find-person.js';
import { identifierUseOf, type IdentifierUse } from '../../../shared/people/lookup-identifiers.js';
import { canonicalQuery, type PersonQuery } from '../../../shared/people/person-query.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';
import { nhs } from '../../support/linked-people.js';
import { agreementsFolderWith } from '../agreements/agreement-files.js';

const oldKey = new Pseudonymiser({ keyVersion: 'v1', key: randomBytes(32) });
const newKey = new Pseudonymiser({ keyVersion: 'v2', key: randomBytes(32) });

describe('findPerson', () => {
  let store: Store;

  async function insert(r: {
    personId: string;
    dataset: string;
    given: string;
    family: string;
    dob: string;
    ni?: string;
    nhs?: string;
    postcode?: string;
    key?: Pseudonymiser;
  }) {
    const id = randomUUID();
    await store.db
      .insertInto('source_record')
      .values({
        id,
        import_run_id: 'test',
        party_id: 'party',
        dataset_id: r.dataset,
        row_number: 1,
        given_name: normaliseName(r.given),
        family_name: normaliseName(r.family),
        first3: firstThree(r.given),
        date_of_birth: r.dob,
        postcode: r.postcode ?? null,
        address: null,
        attributes: '{}',
        as_of: '2026-11-01',
        person_id: r.personId,
      })
      .execute();
    if (r.ni) {
      const key = r.key ?? newKey;
      const ni = validateNiNumber(r.ni);
      if (!ni.ok) throw new Error(ni.reason);
      await store.db
        .insertInto('record_identifier')
        .values({ record_id: id, kind: 'ni', hash: key.hash('ni', ni.value), key_version: key.keyVersion })
        .execute();
    }
    if (r.nhs) {
      await store.db
        .insertInto('record_identifier')
        .values({ record_id: id, kind: 'nhs', hash: newKey.hash('nhs', r.nhs), key_version: newKey.keyVersion })
        .execute();
    }
  }

  const find = (q: PersonQuery, datasets: string[], identifiers: IdentifierUse = () => true) => {
    const query = canonicalQuery(q, new Date());
    if (!query.ok) throw new Error(query.reason);
    return findPerson(store, [newKey, oldKey], query.query, datasets, identifiers);
  };

  beforeAll(async () => {
    store = openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-find-')), 'find.db') });
    await migrateToLatest(store);
    await insert({
      personId: 'aisha',
      dataset: 'housing',
      given: 'Aisha',
      family: "O'Connor",
      dob: '1990-04-12',
      ni: 'JG103759A',
    });
    await insert({
      personId: 'ben',
      dataset: 'housing',
      given: 'Ben',
      family: 'Adams',
      dob: '1985-01-02',
      ni: 'JG103760A',
      key: oldKey,
    });
    await insert({
      personId: 'cara',
      dataset: 'social-care',
      given: 'Cara',
      family: 'Brown',
      dob: '1970-07-07',
      ni: 'JG103761A',
    });
    // Two people who share the tier-3 key: a name and birth date alone cannot tell them apart.
    await insert({ personId: 'dan-1', dataset: 'housing', given: 'Daniel', family: 'Smith', dob: '2000-01-01' });
    await insert({ personId: 'dan-2', dataset: 'housing', given: 'Danny', family: 'Smith', dob: '2000-01-01' });
    // Only one of two twins is known, by NHS number.
    await insert({
      personId: 'oliver',
      dataset: 'housing',
      given: 'Oliver',
      family: 'Hart',
      dob: '2012-03-04',
      nhs: nhs(100),
    });
    // A father known at his address; his son of the same name, born 2012, is not known.
    const reed = { dataset: 'housing', given: 'John', family: 'Reed', postcode: 'ME15 2YY' };
    await insert({ personId: 'john-reed-senior', ...reed, dob: '1980-03-07' });
    // Two of one man's records, one with his NI number mistyped: linked by name and date of birth.
    await insert({
      personId: 'emil',
      dataset: 'housing',
      given: 'Emil',
      family: 'Novak',
      dob: '1975-06-07',
      ni: 'JG103762A',
    });
    await insert({
      personId: 'emil',
      dataset: 'social-care',
      given: 'Emil',
      family: 'Novak',
      dob: '1975-06-07',
      ni: 'JG103763A',
    });
    // One NI number on two people's records: Keyways agrees it as a way to match, the ISA does not.
    await insert({
      personId: 'fay',
      dataset: 'keyways-housing-register',
      given: 'Fay',
      family: 'Lowe',
      dob: '1960-02-03',
      ni: 'JG103764A',
    });
    await insert({
      personId: 'gus',
      dataset: 'multiple-disadvantage-indicators',
      given: 'Gus',
      family: 'Marr',
      dob: '1961-02-03',
      ni: 'JG103764A',
    });
    // Family names whose prefix one feed writes joined (O'Brien, OBrien, McDonald) and another
    // with a space (O Brien, Mc Donald); and a two-word name whose first word is no such prefix.
    await insert({ personId: 'aoife', dataset: 'housing', given: 'Aoife', family: "O'Brien", dob: '2012-05-06' });
    await insert({
      personId: 'sean',
      dataset: 'housing',
      given: 'Sean',
      family: 'Mc Donald',
      dob: '2011-08-09',
      postcode: 'ME16 3ZZ',
    });
    await insert({ personId: 'pieter', dataset: 'housing', given: 'Pieter', family: 'Van Dyke', dob: '1999-10-11' });
  });
  afterAll(async () => {
    await store?.close();
  });

  it('finds a person by NI number at tier 1', async () => {
    expect(await find({ niNumber: 'JG 10 37 59 A' }, ['housing'])).toEqual({ found: true, personId: 'aisha', tier: 1 });
  });

  it('finds a person whose identifier was hashed under the previous key', async () => {
    expect(await find({ niNumber: 'JG103760A' }, ['housing', 'social-care'])).toEqual({
      found: true,
      personId: 'ben',
      tier: 1,
    });
  });

  it('finds a person by date of birth and names at tier 3', async () => {
    expect(await find({ givenName: 'Aisha', familyName: "O'Connor", dateOfBirth: '12/04/1990' }, ['housing'])).toEqual({
      found: true,
      personId: 'aisha',
      tier: 3,
    });
  });

  it('does not find a person known only to a dataset the caller may not see', async () => {
    expect(await find({ niNumber: 'JG103761A' }, ['housing'])).toMatchObject({ found: false, reason: 'no-match' });
    expect(await find({ niNumber: 'JG103761A' }, ['housing', 'social-care'])).toEqual({
      found: true,
      personId: 'cara',
      tier: 1,
    });
  });

  it('shows nobody when a tier points at two people', async () => {
    expect(await find({ givenName: 'Dan', familyName: 'Smith', dateOfBirth: '2000-01-01' }, ['housing'])).toEqual({
      found: false,
      reason: 'ambiguous',
      tier: 3,
    });
  });

  it("does not show a person whose NHS number contradicts the caller's, found by names and date of birth", async () => {
    // The caller asks about Olivia, Oliver's twin, with her own NHS number.
    const twin = { givenName: 'Olivia', familyName: 'Hart', dateOfBirth: '2012-03-04' };
    expect(await find({ nhsNumber: nhs(200), ...twin }, ['housing'])).toEqual({
      found: false,
      reason: 'identifier-conflict',
      tier: 3,
    });
    // With Oliver's own number, or none, the same names and date find him.
    expect(await find({ nhsNumber: nhs(100), ...twin }, ['housing'])).toMatchObject({
      found: true,
      personId: 'oliver',
    });
    expect(await find(twin, ['housing'])).toMatchObject({ found: true, personId: 'oliver', tier: 3 });
  });

  it('does not show a person at the postcode step whose date of birth is clearly not the one given', async () => {
    const son = { givenName: 'John', familyName: 'Reed', postcode: 'ME15 2YY' };
    expect(await find({ ...son, dateOfBirth: '2012-05-06' }, ['housing'])).toEqual({
      found: false,
      reason: 'date-of-birth-conflict',
      tier: 4,
    });
    // A date that could be his mistyped (one digit, or day and month swapped) still finds him, as does none.
    for (const dateOfBirth of ['1980-03-08', '1980-07-03']) {
      expect(await find({ ...son, dateOfBirth }, ['housing'])).toEqual({
        found: true,
        personId: 'john-reed-senior',
        tier: 4,
      });
    }
    expect(await find(son, ['housing'])).toEqual({ found: true, personId: 'john-reed-senior', tier: 4 });
  });

  it('finds a person by an NI number one of their records holds, though another record has it mistyped', async () => {
    expect(await find({ niNumber: 'JG103762A' }, ['housing', 'social-care'])).toEqual({
      found: true,
      personId: 'emil',
      tier: 1,
    });
    const byNames = { givenName: 'Emil', familyName: 'Novak', dateOfBirth: '1975-06-07' };
    expect(await find({ ...byNames, niNumber: 'JG103763A' }, ['housing', 'social-care'])).toMatchObject({
      found: true,
    });
    // An NI number none of his records holds says the caller means someone else.
    expect(await find({ ...byNames, niNumber: 'AB123456C' }, ['housing', 'social-care'])).toEqual({
      found: false,
      reason: 'identifier-conflict',
      tier: 3,
    });
  });

  it("searches each dataset only by the identifiers its agreement's matching names", async () => {
    const agreed = identifierUseOf(loadAgreements('agreements'));
    const isa = 'multiple-disadvantage-indicators';
    const keyways = 'keyways-housing-register';
    // The ISA matches on UPN, NHS number and system ids: its NI numbers find nobody.
    expect(await find({ niNumber: 'JG103764A' }, [isa], agreed)).toEqual({
      found: false,
      reason: 'no-match',
      tier: null,
    });
    expect(await find({ niNumber: 'JG103764A' }, [keyways], agreed)).toEqual({ found: true, personId: 'fay', tier: 1 });
    // Across both, the NI number is searched in Keyways' register alone: one person, not two.
    expect(await find({ niNumber: 'JG103764A' }, [isa, keyways], agreed)).toEqual({
      found: true,
      personId: 'fay',
      tier: 1,
    });
    // The agreed steps still find the ISA's person.
    expect(await find({ givenName: 'Gus', familyName: 'Marr', dateOfBirth: '1961-02-03' }, [isa], agreed)).toEqual({
      found: true,
      personId: 'gus',
      tier: 3,
    });
  });

  it('still finds a person by the NI number where the agreement cuts its NI number key short, a key lintel does not link by', async () => {
    const cut = identifierUseOf(
      loadAgreements(
        agreementsFolderWith([
          {
            agreement: 'keyways',
            from: '- [{ field: nationalInsuranceNumber }]',
            to: '- [{ field: nationalInsuranceNumber, prefix: 6 }]',
          },
        ]),
      ),
    );
    expect(await find({ niNumber: 'JG103764A' }, ['keyways-housing-register'], cut)).toEqual({
      found: true,
      personId: 'fay',
      tier: 1,
    });
  });

  it('finds a person whose family name the caller writes with a space after O or Mc where the record has none, and the other way', async () => {
    expect(await find({ givenName: 'Aoife', familyName: 'O Brien', dateOfBirth: '2012-05-06' }, ['housing'])).toEqual({
      found: true,
      personId: 'aoife',
      tier: 3,
    });
    expect(await find({ givenName: 'Sean', familyName: 'McDonald', dateOfBirth: '2011-08-09' }, ['housing'])).toEqual({
      found: true,
      personId: 'sean',
      tier: 3,
    });
    expect(await find({ givenName: 'Sean', familyName: "Mc'Donald", postcode: 'ME16 3ZZ' }, ['housing'])).toEqual({
      found: true,
      personId: 'sean',
      tier: 4,
    });
  });

  it('does not join the words of a family name whose first word is a name of its own: Vandyke is not Van Dyke', async () => {
    expect(await find({ givenName: 'Pieter', familyName: 'Van Dyke', dateOfBirth: '1999-10-11' }, ['housing'])).toEqual(
      {
        found: true,
        personId: 'pieter',
        tier: 3,
      },
    );
    expect(await find({ givenName: 'Pieter', familyName: 'Vandyke', dateOfBirth: '1999-10-11' }, ['housing'])).toEqual({
      found: false,
      reason: 'no-match',
      tier: null,
    });
  });

  it('answers many different searches at once each with its own person', async () => {
    const results = await Promise.all([
      find({ niNumber: 'JG103759A' }, ['housing']),
      find({ niNumber: 'JG103760A' }, ['housing', 'social-care']),
      find({ niNumber: 'JG103761A' }, ['social-care']),
      find({ givenName: 'Aisha', familyName: "O'Connor", dateOfBirth: '1990-04-12' }, ['housing', 'social-care']),
    ]);
    expect(results.map((r) => (r.found ? r.personId : r.reason))).toEqual(['aisha', 'ben', 'cara', 'aisha']);
  });
});
