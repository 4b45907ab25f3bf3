import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Field } from '../../../shared/agreements/schema.js';
import { generateUpn } from '../../../shared/domain/identifiers.js';
import { codecFor } from '../../../shared/imports/field-codecs.js';
import { compileRowValidator, rowSchemaFor } from '../../../shared/imports/row-schema.js';

const field = (type: Field['type'], extra: Partial<Field> = {}): Field => ({
  name: 'f',
  type,
  classification: 'display',
  required: false,
  description: 'test field',
  ...(type === 'enum' ? { values: ['Owner', 'Tenant'] } : {}),
  ...extra,
});

const check = (type: Field['type'], raw: string, extra: Partial<Field> = {}) => codecFor(field(type, extra))(raw);

describe('field codecs', () => {
  it.each([
    ['date', '2001-03-04', '2001-03-04'],
    ['date', ' 4/3/2001 ', '2001-03-04'],
    ['flag', 'y', true],
    ['flag', 'No', false],
    ['percentage', '12.5', 12.5],
    ['percentage', '100%', 100],
    ['count', '0', 0],
    ['integer', '-12', -12],
    ['enum', 'tenant', 'Tenant'],
    ['postcode', 'sw1a1aa', 'SW1A 1AA'],
    ['postcode', 'SW1A-1AA', 'SW1A 1AA'],
    ['postcode', 'bfpo 1234', 'BFPO 1234'],
    ['postcode', 'fiqq1zz', 'FIQQ 1ZZ'],
    // The NHS pseudo-postcode of no fixed abode, kept as the source wrote it (matching ignores it).
    ['postcode', 'zz993vz', 'ZZ99 3VZ'],
    ['nhs-number', '943 476 5919', '9434765919'],
    ['ni-number', 'ab 12 34 56 c', 'AB123456C'],
    ['ni-number', 'AB123456', 'AB123456'],
    ['system-id', 'MOS-00123', 'MOS-00123'],
    ['string', '+44 20 7946 0000', '+44 20 7946 0000'],
    ['string', "O'Brien-Smith", "O'Brien-Smith"],
  ] as const)('%s %j is accepted', (type, raw, value) => {
    expect(check(type, raw)).toEqual({ ok: true, value });
  });

  it('accepts a valid UPN, lower case or spaced, as its canonical 13 characters', () => {
    const upn = generateUpn(() => 0.42);
    expect(check('upn', ` ${upn.toLowerCase().slice(0, 6)} ${upn.slice(6)} `)).toEqual({ ok: true, value: upn });
  });

  it.each([
    ['date', '31/02/2001', 'date-calendar'],
    ['date', '03/04/01', 'date-format'],
    ['flag', 'maybe', 'flag-value'],
    ['percentage', '101', 'percentage-range'],
    ['percentage', '-1', 'percentage-format'],
    ['count', '1.5', 'count-format'],
    ['integer', '1e3', 'integer-format'],
    ['enum', 'Lodger', 'enum-value'],
    ['postcode', 'QX1 1AA', 'postcode-format'],
    ['postcode', 'KY1-1001', 'postcode-format'],
    ['postcode', 'ZZ99 3VX', 'postcode-format'],
    ['nhs-number', '9434765918', 'nhs-number-check-digit'],
    ['nhs-number', '0000000000', 'nhs-number-placeholder'],
    ['nhs-number', '94347659', 'nhs-number-format'],
    ['upn', 'B801200012345', 'upn-check-letter'],
    ['ni-number', 'QQ123456C', 'ni-number-prefix'],
    ['system-id', '=cmd', 'system-id-format'],
    ['string', '=HYPERLINK("x")', 'formula-like-value'],
    ['string', '@SUM(A1)', 'formula-like-value'],
    ['string', '+cmd|x', 'formula-like-value'],
    ['string', '-2+3', 'formula-like-value'],
    ['string', 'bell\u0007', 'control-character'],
    ['string', 'x'.repeat(65_537), 'value-too-long'],
  ] as const)('%s %j is refused with %s', (type, raw, reason) => {
    expect(check(type, raw)).toEqual({ ok: false, reason });
  });

  it('treats an empty cell as absent, or missing when the field is required', () => {
    expect(check('string', '  ')).toEqual({ ok: true, value: null });
    expect(check('nhs-number', '', { required: true })).toEqual({ ok: false, reason: 'missing-value' });
  });

  it('never puts the input in a failure', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<Field['type']>(
          'date',
          'flag',
          'percentage',
          'count',
          'integer',
          'postcode',
          'nhs-number',
          'upn',
          'ni-number',
          'system-id',
          'string',
        ),
        fc.string({ minLength: 6 }),
        (type, raw) => {
          const r = check(type, raw);
          if (!r.ok) expect(JSON.stringify(r)).not.toContain(raw.trim());
        },
      ),
    );
  });
});

describe('row schema', () => {
  const fields: Field[] = [
    field('string', { name: 'firstName', required: true }),
    field('date', { name: 'dateOfBirth', required: true }),
    field('flag', { name: 'inRentArrears' }),
    field('nhs-number', { name: 'nhsNumber', classification: 'matching-only' }),
    field('percentage', { name: 'absence' }),
  ];

  it('is a zod schema that parses a row to canonical values and names each bad column with a code', () => {
    const schema = rowSchemaFor(fields);
    expect(
      schema.parse({ firstName: 'Ann', dateOfBirth: '01/02/2003', inRentArrears: 'Y', nhsNumber: '', absence: '7' }),
    ).toEqual({
      firstName: 'Ann',
      dateOfBirth: '2003-02-01',
      inRentArrears: true,
      nhsNumber: null,
      absence: 7,
    });
    const bad = schema.safeParse({
      firstName: '',
      dateOfBirth: 'soon',
      inRentArrears: 'Y',
      nhsNumber: '9434765918',
      absence: '7',
    });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['firstName', 'missing-value'],
      ['dateOfBirth', 'date-format'],
      ['nhsNumber', 'nhs-number-check-digit'],
    ]);
    expect(JSON.stringify(bad.error)).not.toContain('9434765918');
  });

  it('compiles to a validator that agrees with the zod schema on every row', () => {
    const schema = rowSchemaFor(fields, ['dateOfBirth', 'firstName', 'nhsNumber']);
    const validator = compileRowValidator(schema);
    expect(validator.columns).toEqual(['dateOfBirth', 'firstName', 'nhsNumber']);
    const cell = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom('', '2001-02-03', '9434765919', '=1+1', 'Ann', '31/02/2001'),
    );
    fc.assert(
      fc.property(fc.tuple(cell, cell, cell), (cells) => {
        const out: unknown[] = [null, null, null];
        const issues = validator.validate(cells, out as never);
        const zod = schema.safeParse(Object.fromEntries(validator.columns.map((c, i) => [c, cells[i]])));
        if (zod.success) {
          expect(issues).toEqual([]);
          expect(out).toEqual(validator.columns.map((c) => (zod.data as Record<string, unknown>)[c]));
        } else {
          expect(issues.map((i) => [validator.columns[i.index], i.reason])).toEqual(
            zod.error.issues.map((i) => [i.path[0], i.message]),
          );
        }
      }),
      { numRuns: 1000 },
    );
  });
});
