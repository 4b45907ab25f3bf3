import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateNiNumber } from '../../../shared/domain/identifiers.js';
import { firstThree, normaliseName } from '../../../shared/domain/normalise.js';
import { Pseudonymiser } from '../../../shared/domain/pseudonymise.js';
import { findPerson } from '../../../shared/people/find-person.js';
import { canonicalQuery, type PersonQuery } from '../../../shared/people/person-query.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';

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
        postcode: null,
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
  }

  const find = (q: PersonQuery, datasets: string[]) => {
    const query = canonicalQuery(q);
    if (!query.ok) throw new Error(query.reason);
    return findPerson(store, [newKey, oldKey], query.query, datasets);
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
