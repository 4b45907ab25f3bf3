import { describe, expect, it } from 'vitest';
import { canonicalQuery } from '../../../shared/people/person-query.js';

describe('canonicalQuery', () => {
  const john = { givenName: 'John', familyName: 'Smith' };

  it('finds no one by an NHS pseudo-postcode: it is dropped, and the rest of the query still searches', () => {
    expect(canonicalQuery({ ...john, dateOfBirth: '1975-06-01', postcode: 'zz99 3vz' })).toEqual({
      ok: true,
      query: { identifiers: [], familyName: 'SMITH', first3: 'JOH', dateOfBirth: '1975-06-01' },
    });
    expect(canonicalQuery({ ...john, postcode: 'ME14 1XX' })).toMatchObject({
      ok: true,
      query: { postcode: 'ME14 1XX' },
    });
  });

  it('refuses names and a pseudo-postcode alone, saying the postcode is why', () => {
    expect(canonicalQuery({ ...john, postcode: 'ZZ99 3VZ' })).toEqual({
      ok: false,
      field: 'postcode',
      reason: 'postcode-pseudo',
    });
  });
});
