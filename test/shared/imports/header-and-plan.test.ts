import { describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { headerKey, planColumns } from '../../../shared/imports/header.js';
import { matchingColumnsOf, storagePlanFor, systemOfField } from '../../../shared/imports/storage-plan.js';
import { AGREEMENTS_DIR } from './import-harness.js';

const agreements = loadAgreements(AGREEMENTS_DIR);
const mdi = agreements.dataset('multiple-disadvantage-indicators')!;
const plan = (header: string[], party = 'la-housing') => planColumns(header, mdi, party, agreements);

describe('header matching', () => {
  it('matches field names ignoring case, surrounding space and separators, and nothing looser', () => {
    expect(
      ['Date of Birth', 'date_of_birth', ' DATEOFBIRTH ', 'date-of-birth', 'Date.Of.Birth'].map(headerKey),
    ).toEqual(Array(5).fill('dateofbirth'));
    expect(plan(['First Name', 'LAST_NAME', 'date of birth'])).toEqual({
      ok: true,
      columns: ['firstName', 'lastName', 'dateOfBirth'],
      unnamedLeading: 0,
      unnamedTrailing: 0,
    });
    // Empty cells after the last name: a spreadsheet's trailing delimiter, not a column.
    expect(plan(['First Name', 'LAST_NAME', 'date of birth', '', ' '])).toEqual({
      ok: true,
      columns: ['firstName', 'lastName', 'dateOfBirth'],
      unnamedLeading: 0,
      unnamedTrailing: 2,
    });
    // And before the first: an empty column A, or a leading delimiter on every line.
    expect(plan(['', ' ', 'First Name', 'LAST_NAME', 'date of birth', ''])).toEqual({
      ok: true,
      columns: ['firstName', 'lastName', 'dateOfBirth'],
      unnamedLeading: 2,
      unnamedTrailing: 1,
    });
    expect(plan(['forename', 'lastName', 'dateOfBirth'])).toMatchObject({
      ok: false,
      errors: [
        { reason: 'column-not-in-agreement', columnIndex: 1 },
        { reason: 'missing-required-column', column: 'firstName' },
      ],
    });
  });

  it('refuses columns the party may not supply, duplicates, blanks and a wrong delimiter', () => {
    expect(plan(['firstName', 'lastName', 'dateOfBirth', 'ehcp'])).toMatchObject({
      ok: false,
      errors: [{ reason: 'column-not-supplied-by-party', column: 'ehcp' }],
    });
    expect(plan(['firstName', 'lastName', 'dateOfBirth', 'ehcp'], 'la-education')).toMatchObject({ ok: true });
    expect(plan(['firstName', 'lastName', 'Last Name', 'dateOfBirth'])).toMatchObject({
      ok: false,
      errors: [{ reason: 'duplicate-column', column: 'lastName' }],
    });
    expect(plan(['firstName', '', 'lastName', 'dateOfBirth'])).toMatchObject({
      ok: false,
      errors: [{ reason: 'empty-column-name', columnIndex: 2 }],
    });
    expect(plan(['firstName;lastName;dateOfBirth'])).toEqual({ ok: false, errors: [{ reason: 'wrong-delimiter' }] });
    // A trailing delimiter does not hide a wrong one; a trailing cell of separators is a name.
    expect(plan(['firstName;lastName;dateOfBirth', ''])).toEqual({
      ok: false,
      errors: [{ reason: 'wrong-delimiter' }],
    });
    // Nor does a leading one; a gap after it is still a column without a name, named by its place.
    expect(plan(['', 'firstName;lastName;dateOfBirth'])).toEqual({
      ok: false,
      errors: [{ reason: 'wrong-delimiter' }],
    });
    expect(plan(['', 'firstName', '', 'lastName', 'dateOfBirth'])).toMatchObject({
      ok: false,
      errors: [{ reason: 'empty-column-name', columnIndex: 3 }],
    });
    expect(plan(['firstName', 'lastName', 'dateOfBirth', '-'])).toMatchObject({
      ok: false,
      errors: [{ reason: 'empty-column-name', columnIndex: 4 }],
    });
  });
});

describe('storage plan', () => {
  it('takes the matching columns from the agreement\u2019s matching tiers', () => {
    expect(storagePlanFor(mdi.dataset, agreements.agreement(mdi.agreementId)!.agreement.matching)).toMatchObject({
      givenName: 'firstName',
      familyName: 'lastName',
      dateOfBirth: 'dateOfBirth',
      postcode: 'homePostcode',
      address: 'homeAddress',
      identifiers: [
        { field: 'nationalInsuranceNumber', kind: 'ni' },
        { field: 'nhsNumber', kind: 'nhs' },
        { field: 'uniquePupilNumber', kind: 'upn' },
        { field: 'socialCareSystemId', kind: 'system-id:social-care' },
        { field: 'educationSystemId', kind: 'system-id:education' },
      ],
    });
  });

  it('gives a row at an NHS pseudo-postcode no matching postcode, from the postcode field or the address', () => {
    const matchingPostcode = (dataset: string, row: Record<string, string>) => {
      const { dataset: d, agreementId } = agreements.dataset(dataset)!;
      const columns = matchingColumnsOf(
        storagePlanFor(d, agreements.agreement(agreementId)!.agreement.matching),
        (field) => (field === undefined ? null : (row[field] ?? null)),
      );
      return columns.ok ? columns.columns.postcode : columns.reason;
    };
    const john = { firstName: 'John', lastName: 'Smith', dateOfBirth: '1975-06-01' };
    expect(matchingPostcode('multiple-disadvantage-indicators', { ...john, homePostcode: 'ZZ99 3VZ' })).toBeNull();
    expect(matchingPostcode('multiple-disadvantage-indicators', { ...john, homePostcode: 'ME14 1XX' })).toBe(
      'ME14 1XX',
    );
    // Housing First's contacts have no postcode field: the address's own ending stands in.
    const sam = { name: 'Sam Taylor', dateOfBirth: '1985-01-02' };
    expect(
      matchingPostcode('housing-first-participant-contacts', { ...sam, address: 'No fixed abode ZZ99 3VZ' }),
    ).toBeNull();
    expect(matchingPostcode('housing-first-participant-contacts', { ...sam, address: '2 Low Road, DY1 1AA' })).toBe(
      'DY1 1AA',
    );
  });

  it('never puts a matching-only field in the attributes', () => {
    for (const { agreement } of agreements.all()) {
      for (const dataset of agreement.datasets) {
        const attributes = storagePlanFor(dataset, agreement.matching).attributes;
        const matchingOnly = dataset.fields.filter((f) => f.classification === 'matching-only').map((f) => f.name);
        expect(attributes.filter((a) => matchingOnly.includes(a))).toEqual([]);
      }
    }
  });

  it('names a system after its field', () => {
    expect(['socialCareSystemId', 'educationSystemId', 'caseReference'].map(systemOfField)).toEqual([
      'social-care',
      'education',
      'case-reference',
    ]);
  });
});
