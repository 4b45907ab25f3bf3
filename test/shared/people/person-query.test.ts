import { describe, expect, it } from 'vitest';
import { generateUpn } from '../../../shared/domain/identifiers.js';
import { canonicalQuery } from '../../../shared/people/person-query.js';

describe('canonicalQuery', () => {
  const john = { givenName: 'John', familyName: 'Smith' };
  const NOW = new Date('2026-03-01T12:00:00Z');

  it('finds no one by an NHS pseudo-postcode: it is dropped, and the rest of the query still searches', () => {
    expect(canonicalQuery({ ...john, dateOfBirth: '1975-06-01', postcode: 'zz99 3vz' }, NOW)).toEqual({
      ok: true,
      query: { identifiers: [], familyName: 'SMITH', first3: 'JOH', dateOfBirth: '1975-06-01' },
    });
    expect(canonicalQuery({ ...john, postcode: 'ME14 1XX' }, NOW)).toMatchObject({
      ok: true,
      query: { postcode: 'ME14 1XX' },
    });
  });

  it('refuses names and a pseudo-postcode alone, saying the postcode is why', () => {
    expect(canonicalQuery({ ...john, postcode: 'ZZ99 3VZ' }, NOW)).toEqual({
      ok: false,
      field: 'postcode',
      reason: 'postcode-pseudo',
    });
  });

  it('finds no one by a temporary UPN, reissued to other children: dropped, or refused when nothing else is given', () => {
    const temporary = generateUpn(() => 0.37, { laNumber: '886', temporary: true });
    expect(canonicalQuery({ upn: temporary }, NOW)).toEqual({ ok: false, field: 'upn', reason: 'upn-temporary' });
    expect(canonicalQuery({ ...john, dateOfBirth: '2015-03-04', upn: temporary }, NOW)).toEqual({
      ok: true,
      query: { identifiers: [], familyName: 'SMITH', first3: 'JOH', dateOfBirth: '2015-03-04' },
    });
    expect(canonicalQuery({ upn: 'A000000000000' }, NOW)).toEqual({
      ok: false,
      field: 'upn',
      reason: 'upn-placeholder',
    });
    const permanent = generateUpn(() => 0.37, { laNumber: '886' });
    expect(canonicalQuery({ upn: permanent }, NOW)).toEqual({
      ok: true,
      query: { identifiers: [{ kind: 'upn', value: permanent }] },
    });
  });

  it('finds no one by a forces postcode, shared by a whole unit: dropped, or refused with names alone', () => {
    for (const postcode of ['BFPO 61', 'bf1 4fb']) {
      expect(canonicalQuery({ ...john, postcode }, NOW)).toEqual({
        ok: false,
        field: 'postcode',
        reason: 'postcode-forces',
      });
      expect(canonicalQuery({ ...john, dateOfBirth: '1975-06-01', postcode }, NOW)).toEqual({
        ok: true,
        query: { identifiers: [], familyName: 'SMITH', first3: 'JOH', dateOfBirth: '1975-06-01' },
      });
    }
  });

  it('finds no one by a placeholder given name ("Baby", "Unknown"): dropped, or refused when names are all there is', () => {
    for (const givenName of ['Baby', 'baby of Jane', 'Unknown', 'Not known', 'TBC', 'Male']) {
      expect(canonicalQuery({ givenName, familyName: 'Smith', dateOfBirth: '2025-11-20' }, NOW)).toEqual({
        ok: false,
        field: 'givenName',
        reason: 'given-name-placeholder',
      });
    }
    expect(
      canonicalQuery({ givenName: 'Baby', familyName: 'Smith', systemId: { system: 'mosaic', id: 'M1' } }, NOW),
    ).toEqual({
      ok: true,
      query: { identifiers: [{ kind: 'system-id:mosaic', value: 'M1' }], familyName: 'SMITH' },
    });
    // A real name that starts the same is still searched on.
    expect(canonicalQuery({ givenName: 'Babette', familyName: 'Smith', dateOfBirth: '2025-11-20' }, NOW)).toMatchObject(
      {
        ok: true,
        query: { first3: 'BAB' },
      },
    );
  });

  it("refuses a date of birth no one can have by the import's reasons, the day taken from now", () => {
    const reason = (dateOfBirth: string) => canonicalQuery({ ...john, dateOfBirth }, NOW);
    expect(reason('01/01/1900')).toEqual({ ok: false, field: 'dateOfBirth', reason: 'date-of-birth-placeholder' });
    expect(reason('2026-03-02')).toMatchObject({ ok: false, reason: 'date-of-birth-future' });
    expect(reason('1901-02-28')).toMatchObject({ ok: false, reason: 'date-of-birth-too-early' });
    expect(reason('2026-03-01')).toMatchObject({ ok: true });
    expect(reason('1901-03-01')).toMatchObject({ ok: true });
  });
});
