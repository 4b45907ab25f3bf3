import { describe, expect, it } from 'vitest';
import { ukDateOf, ukDayStart } from '../../../shared/domain/uk-date.js';

describe('ukDateOf', () => {
  it("gives the UK's date: the next day from 23:00 UTC in summer, from midnight UTC in winter", () => {
    expect(ukDateOf(new Date('2026-07-01T22:59:59.999Z'))).toBe('2026-07-01');
    expect(ukDateOf(new Date('2026-07-01T23:00:00.000Z'))).toBe('2026-07-02');
    expect(ukDateOf(new Date('2026-12-01T23:59:59.999Z'))).toBe('2026-12-01');
    expect(ukDateOf(new Date('2026-12-02T00:00:00.000Z'))).toBe('2026-12-02');
  });

  it('answers each instant by its own minute, asked in any order, across the nights the clocks change', () => {
    // Asked one after another, as a stream of lookups asks: an answer kept from the instant
    // before must never stand for the next minute's.
    const instants: Array<[string, string]> = [
      ['2026-03-28T23:59:30Z', '2026-03-28'],
      ['2026-03-29T00:00:00Z', '2026-03-29'], // GMT still: midnight UTC is midnight in the UK
      ['2026-03-29T00:59:59Z', '2026-03-29'],
      ['2026-03-29T22:59:59Z', '2026-03-29'],
      ['2026-03-29T23:00:00Z', '2026-03-30'], // BST from 01:00 on the 29th
      ['2026-10-24T22:59:59Z', '2026-10-24'],
      ['2026-10-24T23:00:00Z', '2026-10-25'],
      ['2026-10-25T23:59:59Z', '2026-10-25'], // GMT again from 02:00 BST on the 25th
      ['2026-10-26T00:00:00Z', '2026-10-26'],
      ['2026-10-24T23:00:30Z', '2026-10-25'],
      ['2026-10-24T23:00:00Z', '2026-10-25'],
      ['2026-10-24T22:59:00Z', '2026-10-24'],
    ];
    for (const [instant, date] of instants) expect(ukDateOf(new Date(instant)), instant).toBe(date);
  });
});

describe('ukDayStart', () => {
  // The curated releases' day (storeRelease) runs from one UK midnight to the next.
  it('gives the instant the UK day begins, on the days the clocks change as on any other', () => {
    const starts: Array<[string, string]> = [
      ['2026-03-29', '2026-03-29T00:00:00.000Z'], // GMT at midnight; a 23-hour day
      ['2026-03-30', '2026-03-29T23:00:00.000Z'],
      ['2026-07-02', '2026-07-01T23:00:00.000Z'],
      ['2026-10-25', '2026-10-24T23:00:00.000Z'], // BST at midnight; a 25-hour day
      ['2026-10-26', '2026-10-26T00:00:00.000Z'],
      ['2026-12-02', '2026-12-02T00:00:00.000Z'],
    ];
    for (const [date, instant] of starts) expect(ukDayStart(date).toISOString(), date).toBe(instant);
  });
});
