import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Field } from '../../../shared/agreements/schema.js';
import {
  ALL_PEOPLE,
  FLAGGED_YES,
  IndicatorTally,
  NOT_RECORDED,
  OTHER_VALUES,
  personValues,
  type CountedField,
  type IndicatorCount,
} from '../../../shared/curated/indicator-counts.js';

const field = (name: string, type: Field['type'], values?: string[]): CountedField => ({
  field: { name, type, classification: 'display', required: false, description: name, ...(values ? { values } : {}) },
  specialCategory: false,
});

const FLAG_A = field('flagA', 'flag');
const FLAG_B = field('flagB', 'flag');
const GENDER = field('gender', 'string');
const ABSENCE = field('absence', 'percentage');
const EXCLUSIONS = field('exclusions', 'count');

function tallyOf(fields: CountedField[], people: Record<string, string | number | boolean | null>[]) {
  const tally = new IndicatorTally(fields);
  for (const person of people) tally.add(new Map(Object.entries(person)));
  return tally;
}

function cellsOf(lines: IndicatorCount[], measure: string): Record<string, number | null> {
  return Object.fromEntries(lines.filter((l) => l.measure === measure).map((l) => [l.category, l.people]));
}

const repeat = <T>(n: number, value: T): T[] => Array.from({ length: n }, () => value);

describe('planning counts: small numbers never published', () => {
  it('suppresses a count under the minimum, and the next smallest so it cannot be had by subtraction', () => {
    const people = [...repeat(30, { flagA: true }), ...repeat(4, { flagA: false }), ...repeat(16, { flagA: null })];
    const lines = tallyOf([FLAG_A], people).publish(10);
    expect(cellsOf(lines, ALL_PEOPLE)).toEqual({ all: 50 });
    // N (4) is small; "not recorded" (16), the next smallest, goes with it. Y is rounded to 5.
    expect(cellsOf(lines, 'flagA')).toEqual({ Y: 30, N: null, [NOT_RECORDED]: null });
  });

  it('rounds published counts to the nearest 5, and leaves zeros as zeros', () => {
    const people = [...repeat(23, { flagA: true }), ...repeat(12, { flagA: false })];
    expect(cellsOf(tallyOf([FLAG_A], people).publish(10), 'flagA')).toEqual({ Y: 25, N: 10, [NOT_RECORDED]: 0 });
  });

  it('withholds every cell when fewer people than the minimum are counted at all', () => {
    const lines = tallyOf([FLAG_A], repeat(9, { flagA: true })).publish(10);
    expect(lines.every((l) => l.people === null && l.suppressed)).toBe(true);
  });

  it('never names a free-text value fewer than the minimum hold: they are counted as other values', () => {
    const people = [
      ...repeat(25, { gender: 'Female' }),
      ...repeat(20, { gender: 'Male' }),
      ...repeat(2, { gender: 'Agender' }),
      ...repeat(3, { gender: 'Non-binary' }),
    ];
    const lines = tallyOf([GENDER], people).publish(10);
    expect(lines.map((l) => l.category)).not.toContain('Agender');
    expect(lines.map((l) => l.category)).not.toContain('Non-binary');
    // Other values (5) suppressed, then Male (20), the smallest cell left, with it.
    expect(cellsOf(lines, 'gender')).toEqual({ Female: 25, Male: null, [OTHER_VALUES]: null, [NOT_RECORDED]: 0 });
  });

  it('counts percentages in the DfE bands and counts in 0, 1, 2, 3 or more', () => {
    const people = [
      ...repeat(10, { absence: 4.5, exclusions: 0 }),
      ...repeat(10, { absence: 10, exclusions: 1 }),
      ...repeat(10, { absence: 49.9, exclusions: 2 }),
      ...repeat(10, { absence: 50, exclusions: 7 }),
    ];
    const lines = tallyOf([ABSENCE, EXCLUSIONS], people).publish(10);
    expect(cellsOf(lines, 'absence')).toEqual({
      'under 10%': 10,
      '10% to under 50%': 20,
      '50% or more': 10,
      [NOT_RECORDED]: 0,
    });
    expect(cellsOf(lines, 'exclusions')).toEqual({ '0': 10, '1': 10, '2': 10, '3 or more': 10, [NOT_RECORDED]: 0 });
  });

  it('counts how many indicators each person has flagged Y', () => {
    const people = [
      ...repeat(10, { flagA: true, flagB: true }),
      ...repeat(15, { flagA: true, flagB: false }),
      ...repeat(20, { flagA: false, flagB: null }),
    ];
    expect(cellsOf(tallyOf([FLAG_A, FLAG_B], people).publish(10), FLAGGED_YES)).toEqual({
      '0': 20,
      '1': 15,
      '2': 10,
      '3': 0,
      '4 or more': 0,
    });
  });

  it('whatever the counts: no published figure under the minimum, and never one suppressed cell alone', () => {
    const person = fc.record({
      flagA: fc.constantFrom(true, false, null),
      gender: fc.constantFrom('F', 'M', 'X', 'Y', null),
      exclusions: fc.option(fc.nat(5)),
    });
    fc.assert(
      fc.property(fc.array(person, { maxLength: 120 }), fc.integer({ min: 3, max: 20 }), (people, minCell) => {
        const lines = tallyOf([FLAG_A, GENDER, EXCLUSIONS], people).publish(minCell);
        for (const line of lines) {
          expect(line.people === null || line.people === 0 || line.people >= minCell - 2).toBe(true);
          expect(line.suppressed).toBe(line.people === null);
        }
        for (const measure of new Set(lines.map((l) => l.measure))) {
          const cells = lines.filter((l) => l.measure === measure);
          const suppressed = cells.filter((l) => l.suppressed).length;
          if (cells.length > 1) expect(suppressed).not.toBe(1);
        }
        const named = lines.filter((l) => l.measure === 'gender').map((l) => l.category);
        for (const value of ['F', 'M', 'X', 'Y']) {
          const held = people.filter((p) => p.gender === value).length;
          if (held < minCell) expect(named).not.toContain(value);
        }
      }),
    );
  });
});

describe("planning counts: one person's values from their records", () => {
  const records = [
    { asOf: '2026-10-01', attributes: { flagA: false, gender: 'Female', exclusions: 1 } },
    { asOf: '2026-11-01', attributes: { flagA: true, exclusions: 3 } },
    { asOf: '2026-09-01', attributes: { flagA: false, gender: 'F' } },
  ];

  it('takes Y where any record says Y, and otherwise the newest extract that holds a value', () => {
    const values = personValues([FLAG_A, GENDER, EXCLUSIONS, ABSENCE], records);
    expect(Object.fromEntries(values)).toEqual({ flagA: true, gender: 'Female', exclusions: 3, absence: null });
  });

  it('takes N only where no record says Y', () => {
    const values = personValues([FLAG_A], [records[0]!, records[2]!]);
    expect(values.get('flagA')).toBe(false);
  });
});
