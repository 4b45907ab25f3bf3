/**
 * Working hours in a named time zone, and the out-of-hours periods between them, for the watch
 * rule on lookups outside working hours. Hours are wall-clock hours in the zone, so the rule
 * follows British Summer Time without anyone touching it twice a year.
 *
 * A holiday is a day off whatever its weekday: a lookup at 10:00 on Christmas Day or Good Friday
 * is as out of hours to a DPO as one on a Sunday, and the period it falls in runs from the end of
 * the last working day before to the start of the first one after. The partnership's calendar is
 * England and Wales's bank holidays, worked out from their rules here rather than fetched: the
 * rule runs on a timer with no network dependency, and a change to the calendar, like a change to
 * the hours, is a change to what the DPOs agreed to watch, reviewed like code. What the rules
 * cannot know (a day moved or added by royal proclamation) is an explicit list beside them.
 */

/** Days off whatever their weekday, by calendar date in the working hours' zone. */
export interface HolidayCalendar {
  /** The year's holidays: ISO date (YYYY-MM-DD) to name, in date order. */
  holidaysIn(year: number): ReadonlyMap<string, string>;
}

export interface WorkingHours {
  /** IANA zone the hours are read in. */
  readonly timeZone: string;
  /** ISO weekdays that have working hours: 1 = Monday … 7 = Sunday. */
  readonly days: readonly number[];
  /** First working hour (inclusive), 0–23. */
  readonly startHour: number;
  /** Hour working time ends (exclusive), 1–24, after startHour. */
  readonly endHour: number;
  /** Days with no working hours though they fall on one of `days`. */
  readonly holidays: HolidayCalendar;
}

/**
 * A one-off change to the bank holidays the rules give, announced by royal proclamation: a
 * holiday moved (`replaces` names the date the rules give) or one added (no `replaces`).
 */
export interface BankHolidayChange {
  readonly date: string;
  readonly name: string;
  readonly replaces?: string;
}

/**
 * England and Wales's one-off changes from 2020, as published on gov.uk/bank-holidays. The watch
 * rule looks at the last hour, so earlier ones (the 2012 Diamond Jubilee, say) would change
 * nothing it reports. Add a change here when it is proclaimed, usually months ahead: until then
 * the day counts as a working day.
 */
export const ENGLAND_AND_WALES_ONE_OFF_CHANGES: readonly BankHolidayChange[] = [
  { date: '2020-05-08', replaces: '2020-05-04', name: 'Early May bank holiday (VE day)' },
  { date: '2022-06-02', replaces: '2022-05-30', name: 'Spring bank holiday' },
  { date: '2022-06-03', name: 'Platinum Jubilee bank holiday' },
  { date: '2022-09-19', name: 'Bank holiday for the State Funeral of Queen Elizabeth II' },
  { date: '2023-05-08', name: 'Bank holiday for the coronation of King Charles III' },
];

const DAY_MS = 86_400_000;

/** ISO weekday (1 = Monday) of a calendar day given as its UTC midnight. */
function weekdayOfDay(dayMs: number): number {
  const day = new Date(dayMs).getUTCDay();
  return day === 0 ? 7 : day;
}
const isoDate = (dayMs: number) => new Date(dayMs).toISOString().slice(0, 10);

/** Easter Sunday of a Gregorian year, by the anonymous Gregorian algorithm (Meeus/Jones/Butcher). */
function easterSunday(year: number): number {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return Date.UTC(year, month - 1, day);
}

function firstMonday(year: number, monthIndex: number): number {
  const first = Date.UTC(year, monthIndex, 1);
  return first + ((8 - weekdayOfDay(first)) % 7) * DAY_MS;
}

function lastMonday(year: number, monthIndex: number): number {
  const last = Date.UTC(year, monthIndex + 1, 0);
  return last - (weekdayOfDay(last) - 1) * DAY_MS;
}

/**
 * The bank holidays England and Wales keep every year, by their usual rules. New Year's
 * Day, Christmas Day and Boxing Day at a weekend are kept on the first weekday after that is not
 * already a holiday, taken in date order once the weekday ones are placed: so Christmas on a
 * Saturday gives Monday 27 and Tuesday 28, on a Sunday Boxing Day keeps Monday 26 and
 * Christmas's substitute is Tuesday 27, and on a Friday Boxing Day's substitute is Monday 28.
 */
function englandAndWalesByRule(year: number): Map<string, string> {
  const easter = easterSunday(year);
  const days: [number, string][] = [
    [Date.UTC(year, 0, 1), "New Year's Day"],
    [easter - 2 * DAY_MS, 'Good Friday'],
    [easter + DAY_MS, 'Easter Monday'],
    [firstMonday(year, 4), 'Early May bank holiday'],
    [lastMonday(year, 4), 'Spring bank holiday'],
    [lastMonday(year, 7), 'Summer bank holiday'],
    [Date.UTC(year, 11, 25), 'Christmas Day'],
    [Date.UTC(year, 11, 26), 'Boxing Day'],
  ];
  const taken = new Map<number, string>();
  for (const [day, name] of days) if (weekdayOfDay(day) <= 5) taken.set(day, name);
  for (const [day, name] of days) {
    if (weekdayOfDay(day) <= 5) continue;
    let substitute = day + DAY_MS;
    while (weekdayOfDay(substitute) > 5 || taken.has(substitute)) substitute += DAY_MS;
    taken.set(substitute, `${name} (substitute day)`);
  }
  return new Map([...taken].sort(([a], [b]) => a - b).map(([day, name]) => [isoDate(day), name]));
}

const englandAndWalesYears = new Map<number, ReadonlyMap<string, string>>();

/**
 * England and Wales's bank holidays: the rules, then the one-off changes of the year. A change
 * that replaces a date the rules do not give is a mistake in the reviewed list, refused rather
 * than left to make two days holidays (the tests compute every year the list names).
 */
export const ENGLAND_AND_WALES_BANK_HOLIDAYS: HolidayCalendar = {
  holidaysIn(year) {
    const known = englandAndWalesYears.get(year);
    if (known) return known;
    const holidays = englandAndWalesByRule(year);
    for (const change of ENGLAND_AND_WALES_ONE_OFF_CHANGES) {
      if (!change.date.startsWith(`${year}-`)) continue;
      if (change.replaces !== undefined && !holidays.delete(change.replaces))
        throw new RangeError(
          `bank holiday change ${change.date} replaces ${change.replaces}, which the rules do not give`,
        );
      holidays.set(change.date, change.name);
    }
    const sorted: ReadonlyMap<string, string> = new Map([...holidays].sort(([a], [b]) => a.localeCompare(b)));
    englandAndWalesYears.set(year, sorted);
    return sorted;
  },
};

/**
 * The partnership's offices: weekdays 07:00–19:00 UK time, but for England and Wales's bank
 * holidays (all the partners are English councils). A constant rather than a setting on purpose:
 * the hours are part of what the DPOs agreed to watch, and a change should be reviewed like any
 * other change to the rules.
 */
export const UK_OFFICE_HOURS: WorkingHours = {
  timeZone: 'Europe/London',
  days: [1, 2, 3, 4, 5],
  startHour: 7,
  endHour: 19,
  holidays: ENGLAND_AND_WALES_BANK_HOLIDAYS,
};

export interface Period {
  readonly start: Date;
  readonly end: Date;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * The zone's wall-clock reading of an instant, as if it were UTC (for offset arithmetic): less the
 * instant, the zone's offset then. Throws a RangeError for a zone the runtime does not know.
 */
export function wallClockAsUtc(instantMs: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatterFor(timeZone).formatToParts(instantMs))
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
}

/**
 * The instant at which the zone's clocks read `hour`:00 on the given calendar day. Two passes
 * settle the offset; the hours used here (07:00, 19:00) are never inside a DST transition in
 * Europe/London, which changes at 01:00 UTC.
 */
function zonedInstant(year: number, monthIndex: number, day: number, hour: number, timeZone: string): number {
  const wall = Date.UTC(year, monthIndex, day, hour);
  let instant = wall;
  for (let i = 0; i < 2; i++) instant = wall - (wallClockAsUtc(instant, timeZone) - instant);
  return instant;
}

/** The calendar day (its midnight, as UTC) an instant falls on in the zone. */
function dayOf(instantMs: number, timeZone: string): number {
  const wall = wallClockAsUtc(instantMs, timeZone);
  return wall - (((wall % DAY_MS) + DAY_MS) % DAY_MS);
}

/** The working hours of a calendar day (its midnight, as UTC), or null on a day off. */
function workingDay(dayMs: number, hours: WorkingHours): Period | null {
  const day = new Date(dayMs);
  const year = day.getUTCFullYear();
  if (!hours.days.includes(weekdayOfDay(dayMs)) || hours.holidays.holidaysIn(year).has(isoDate(dayMs))) return null;
  const [month, date] = [day.getUTCMonth(), day.getUTCDate()];
  return {
    start: new Date(zonedInstant(year, month, date, hours.startHour, hours.timeZone)),
    end: new Date(zonedInstant(year, month, date, hours.endHour, hours.timeZone)),
  };
}

/** Further than any run of days off a calendar could mean: past it the hours are a mistake. */
const MAX_DAYS_OFF = 366;

/** The nearest working day strictly before (step -1) or after (step 1) a calendar day. */
function nearestWorkingDay(dayMs: number, step: -1 | 1, hours: WorkingHours): number {
  for (let n = 1; n <= MAX_DAYS_OFF; n++) {
    const day = dayMs + step * n * DAY_MS;
    if (workingDay(day, hours)) return day;
  }
  throw new RangeError(`working hours have no working day within ${MAX_DAYS_OFF} days of ${isoDate(dayMs)}`);
}

export function isWorkingTime(at: Date, hours: WorkingHours = UK_OFFICE_HOURS): boolean {
  const today = workingDay(dayOf(at.getTime(), hours.timeZone), hours);
  return today !== null && at >= today.start && at < today.end;
}

/**
 * The whole out-of-hours periods (from the end of one working day to the start of the next,
 * weekends and holidays included) that overlap [from, to). Periods are returned whole, not
 * clipped, so the same period has the same start whenever it is asked for — the rule keys its
 * alerts on it.
 */
export function outOfHoursPeriods(from: Date, to: Date, hours: WorkingHours = UK_OFFICE_HOURS): Period[] {
  if (hours.days.length === 0) throw new RangeError('working hours need at least one working day');
  // The working days either side of the dates asked about bound every period that overlaps them,
  // however many days off (a weekend and two bank holidays at Christmas) lie between.
  const first = nearestWorkingDay(dayOf(from.getTime(), hours.timeZone), -1, hours);
  const last = nearestWorkingDay(dayOf(to.getTime(), hours.timeZone), 1, hours);
  const working: Period[] = [];
  for (let day = first; day <= last; day += DAY_MS) {
    const hoursOfDay = workingDay(day, hours);
    if (hoursOfDay) working.push(hoursOfDay);
  }
  const periods: Period[] = [];
  for (let i = 0; i + 1 < working.length; i++) {
    const gap = { start: working[i]!.end, end: working[i + 1]!.start };
    if (gap.start < to && gap.end > from) periods.push(gap);
  }
  return periods;
}
