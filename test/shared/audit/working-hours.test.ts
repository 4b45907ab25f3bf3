import { describe, expect, it } from 'vitest';
import {
  ENGLAND_AND_WALES_BANK_HOLIDAYS,
  ENGLAND_AND_WALES_ONE_OFF_CHANGES,
  isWorkingTime,
  outOfHoursPeriods,
} from '../../../shared/audit/working-hours.js';

/**
 * The bank holidays of England and Wales, 2020–2027, as published (gov.uk/bank-holidays): the
 * rules must give these exactly, substitute days and one-off changes included. A lookup at
 * 10:00 on any of them is as out of hours to a DPO as one on a Sunday.
 */
const PUBLISHED: Record<number, string[]> = {
  // Early May moved from Monday 4 May to Friday 8 May (75th anniversary of VE Day).
  2020: ['01-01', '04-10', '04-13', '05-08', '05-25', '08-31', '12-25', '12-28'],
  // Christmas on a Saturday: Monday 27 and Tuesday 28.
  2021: ['01-01', '04-02', '04-05', '05-03', '05-31', '08-30', '12-27', '12-28'],
  // New Year's Day on a Saturday; spring moved to Thursday 2 June beside the Platinum Jubilee on
  // Friday 3 June; the state funeral on 19 September; Christmas on a Sunday: 26 and 27.
  2022: ['01-03', '04-15', '04-18', '05-02', '06-02', '06-03', '08-29', '09-19', '12-26', '12-27'],
  // New Year's Day on a Sunday; the coronation on Monday 8 May.
  2023: ['01-02', '04-07', '04-10', '05-01', '05-08', '05-29', '08-28', '12-25', '12-26'],
  // Good Friday in March.
  2024: ['01-01', '03-29', '04-01', '05-06', '05-27', '08-26', '12-25', '12-26'],
  2025: ['01-01', '04-18', '04-21', '05-05', '05-26', '08-25', '12-25', '12-26'],
  // Christmas on a Friday: Boxing Day's substitute is Monday 28.
  2026: ['01-01', '04-03', '04-06', '05-04', '05-25', '08-31', '12-25', '12-28'],
  // Christmas on a Saturday again.
  2027: ['01-01', '03-26', '03-29', '05-03', '05-31', '08-30', '12-27', '12-28'],
};

const span = (periods: { start: Date; end: Date }[]) =>
  periods.map((p) => [p.start.toISOString(), p.end.toISOString()]);

describe('England and Wales bank holidays', () => {
  it.each(Object.entries(PUBLISHED))('gives the published bank holidays of %s', (year, dates) => {
    expect([...ENGLAND_AND_WALES_BANK_HOLIDAYS.holidaysIn(Number(year)).keys()]).toEqual(
      dates.map((d) => `${year}-${d}`),
    );
  });

  it('finds Easter by the Gregorian computus, at its earliest and latest too', () => {
    // Good Friday is two days before Easter Sunday, Easter Monday the day after.
    const easterOf = (year: number) =>
      [...ENGLAND_AND_WALES_BANK_HOLIDAYS.holidaysIn(year)]
        .filter(([, name]) => name === 'Good Friday' || name === 'Easter Monday')
        .map(([date]) => date);
    expect(easterOf(2008)).toEqual(['2008-03-21', '2008-03-24']); // Easter 23 March
    expect(easterOf(2011)).toEqual(['2011-04-22', '2011-04-25']); // Easter 24 April
    expect(easterOf(2038)).toEqual(['2038-04-23', '2038-04-26']); // Easter 25 April, the latest it falls
    expect(easterOf(2285)).toEqual(['2285-03-20', '2285-03-23']); // Easter 22 March, the earliest
  });

  it('applies every one-off change to a date the rules give, and only in its year', () => {
    // A change that names a date the rules do not give is a typo in the reviewed list: computing
    // that year refuses rather than keep both days as holidays.
    for (const change of ENGLAND_AND_WALES_ONE_OFF_CHANGES) {
      const year = Number(change.date.slice(0, 4));
      const holidays = ENGLAND_AND_WALES_BANK_HOLIDAYS.holidaysIn(year);
      expect(holidays.get(change.date)).toBe(change.name);
      if (change.replaces) expect(holidays.has(change.replaces)).toBe(false);
    }
    // 2021's early May bank holiday is on its Monday, whatever 2020's did.
    expect(ENGLAND_AND_WALES_BANK_HOLIDAYS.holidaysIn(2021).has('2021-05-03')).toBe(true);
  });
});

describe('working hours on bank holidays (UK office hours)', () => {
  it('is out of hours all day on a bank holiday, as on a Sunday', () => {
    expect(isWorkingTime(new Date('2026-12-25T10:00:00Z'))).toBe(false); // Christmas Day, 10:00 GMT
    expect(isWorkingTime(new Date('2026-04-03T09:00:00Z'))).toBe(false); // Good Friday, 10:00 BST
    expect(isWorkingTime(new Date('2026-12-28T10:00:00Z'))).toBe(false); // Boxing Day's substitute
    expect(isWorkingTime(new Date('2026-12-29T10:00:00Z'))).toBe(true); // the Tuesday after
    // 2020's early May bank holiday was the Friday; its Monday was a working day.
    expect(isWorkingTime(new Date('2020-05-04T09:00:00Z'))).toBe(true);
    expect(isWorkingTime(new Date('2020-05-08T09:00:00Z'))).toBe(false);
  });

  it('makes a bank holiday part of one out-of-hours period with the nights either side', () => {
    // Monday 4 May 2026: from Friday 19:00 BST to Tuesday 07:00 BST.
    expect(span(outOfHoursPeriods(new Date('2026-05-04T09:00:00Z'), new Date('2026-05-04T10:00:00Z')))).toEqual([
      ['2026-05-01T18:00:00.000Z', '2026-05-05T06:00:00.000Z'],
    ]);
    // Christmas 2026 to the new year: the period that holds a holiday is the same one whenever
    // in it the rule asks, and the new year's holiday joins its weekend across the year end.
    const christmas = ['2026-12-24T19:00:00.000Z', '2026-12-29T07:00:00.000Z'];
    expect(span(outOfHoursPeriods(new Date('2026-12-25T10:00:00Z'), new Date('2026-12-25T11:00:00Z')))).toEqual([
      christmas,
    ]);
    expect(span(outOfHoursPeriods(new Date('2026-12-28T23:00:00Z'), new Date('2026-12-29T00:00:00Z')))).toEqual([
      christmas,
    ]);
    expect(span(outOfHoursPeriods(new Date('2026-12-24T12:00:00Z'), new Date('2027-01-05T12:00:00Z')))).toEqual([
      christmas,
      ['2026-12-29T19:00:00.000Z', '2026-12-30T07:00:00.000Z'],
      ['2026-12-30T19:00:00.000Z', '2026-12-31T07:00:00.000Z'],
      ['2026-12-31T19:00:00.000Z', '2027-01-04T07:00:00.000Z'],
      ['2027-01-04T19:00:00.000Z', '2027-01-05T07:00:00.000Z'],
    ]);
  });

  it('keeps Easter one period when the clocks go forward inside it', () => {
    // Easter 2027: Good Friday 26 March, clocks forward on Sunday 28 March, Easter Monday 29
    // March. Thursday 19:00 GMT to Tuesday 07:00 BST.
    expect(span(outOfHoursPeriods(new Date('2027-03-28T12:00:00Z'), new Date('2027-03-28T13:00:00Z')))).toEqual([
      ['2027-03-25T19:00:00.000Z', '2027-03-30T06:00:00.000Z'],
    ]);
  });

  it('joins Christmas and the new year to their weekends when both fall on a Saturday', () => {
    // Christmas 2027 falls on a Saturday: Friday 24 to Wednesday 29 December is one period, and
    // the new year (Saturday 1 January 2028, substitute Monday 3) makes another four days.
    expect(span(outOfHoursPeriods(new Date('2027-12-27T10:00:00Z'), new Date('2028-01-03T10:00:00Z')))).toEqual([
      ['2027-12-24T19:00:00.000Z', '2027-12-29T07:00:00.000Z'],
      ['2027-12-29T19:00:00.000Z', '2027-12-30T07:00:00.000Z'],
      ['2027-12-30T19:00:00.000Z', '2027-12-31T07:00:00.000Z'],
      ['2027-12-31T19:00:00.000Z', '2028-01-04T07:00:00.000Z'],
    ]);
  });
});
