/**
 * Working hours in a named time zone, and the out-of-hours periods between them, for the watch
 * rule on lookups outside working hours. Hours are wall-clock hours in the zone, so the rule
 * follows British Summer Time without anyone touching it twice a year.
 */
export interface WorkingHours {
  /** IANA zone the hours are read in. */
  readonly timeZone: string;
  /** ISO weekdays that have working hours: 1 = Monday … 7 = Sunday. */
  readonly days: readonly number[];
  /** First working hour (inclusive), 0–23. */
  readonly startHour: number;
  /** Hour working time ends (exclusive), 1–24, after startHour. */
  readonly endHour: number;
}

/**
 * The partnership's offices: weekdays 07:00–19:00 UK time. A constant rather than a setting on
 * purpose: the hours are part of what the DPOs agreed to watch, and a change should be reviewed
 * like any other change to the rules. Bank holidays count as working days (no calendar here).
 */
export const UK_OFFICE_HOURS: WorkingHours = {
  timeZone: 'Europe/London',
  days: [1, 2, 3, 4, 5],
  startHour: 7,
  endHour: 19,
};

export interface Period {
  readonly start: Date;
  readonly end: Date;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

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

/** The zone's wall-clock reading of an instant, as if it were UTC (for offset arithmetic). */
function wallClockAsUtc(instantMs: number, timeZone: string): number {
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

/** ISO weekday (1 = Monday) of an instant, in the zone. */
function isoWeekday(instantMs: number, timeZone: string): number {
  const day = new Date(wallClockAsUtc(instantMs, timeZone)).getUTCDay();
  return day === 0 ? 7 : day;
}

export function isWorkingTime(at: Date, hours: WorkingHours = UK_OFFICE_HOURS): boolean {
  const wall = new Date(wallClockAsUtc(at.getTime(), hours.timeZone));
  const weekday = wall.getUTCDay() === 0 ? 7 : wall.getUTCDay();
  const hour = wall.getUTCHours();
  return hours.days.includes(weekday) && hour >= hours.startHour && hour < hours.endHour;
}

/**
 * The whole out-of-hours periods (from the end of one working day to the start of the next,
 * weekends included) that overlap [from, to). Periods are returned whole, not clipped, so the
 * same period has the same start whenever it is asked for — the rule keys its alerts on it.
 */
export function outOfHoursPeriods(from: Date, to: Date, hours: WorkingHours = UK_OFFICE_HOURS): Period[] {
  if (hours.days.length === 0) throw new RangeError('working hours need at least one working day');
  // A week either side always reaches a working day, whichever days those are.
  const first = new Date(wallClockAsUtc(from.getTime() - 8 * DAY_MS, hours.timeZone));
  const lastMs = to.getTime() + 8 * DAY_MS;
  const working: Period[] = [];
  for (let d = 0; ; d++) {
    const y = first.getUTCFullYear();
    const m = first.getUTCMonth();
    const day = first.getUTCDate() + d;
    const start = zonedInstant(y, m, day, hours.startHour, hours.timeZone);
    if (start > lastMs) break;
    if (!hours.days.includes(isoWeekday(start, hours.timeZone))) continue;
    working.push({ start: new Date(start), end: new Date(zonedInstant(y, m, day, hours.endHour, hours.timeZone)) });
  }
  const periods: Period[] = [];
  for (let i = 0; i + 1 < working.length; i++) {
    const gap = { start: working[i]!.end, end: working[i + 1]!.start };
    if (gap.start < to && gap.end > from) periods.push(gap);
  }
  return periods;
}
