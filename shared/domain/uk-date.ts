/**
 * The calendar date in the UK at an instant: the date a partner's clock shows, which is what
 * every date lintel is given means. The agreements are signed by English councils, an extract is
 * dated by the day a partner uploaded it, and neither thinks in UTC: from the last Sunday of March
 * to the last Sunday of October the UK's midnight is 23:00 UTC, and an instant's UTC date
 * (`toISOString().slice(0, 10)`) is the day before for the first hour of every UK day.
 *
 * Read through Intl, which follows the zone's rules (Node carries the full time-zone data), so
 * British Summer Time needs nobody to touch anything twice a year.
 */
export const UK_TIME_ZONE = 'Europe/London';

const UK_DATE = new Intl.DateTimeFormat('en-GB', {
  timeZone: UK_TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

// The last minute asked about and its date. Every policy decision asks (two or three a lookup),
// and formatting through Intl costs about 5 µs; the UK's date changes only on a minute's
// boundary (its offset is whole hours), so one minute's answer serves every instant in it.
let cachedMinute = Number.NaN;
let cachedDate = '';

/** The instant's calendar date in the UK, as an ISO date (YYYY-MM-DD). */
export function ukDateOf(instant: Date): string {
  const minute = Math.floor(instant.getTime() / 60_000);
  if (minute === cachedMinute) return cachedDate;
  const parts: Record<string, string> = {};
  for (const p of UK_DATE.formatToParts(instant)) if (p.type !== 'literal') parts[p.type] = p.value;
  cachedDate = `${parts.year!.padStart(4, '0')}-${parts.month!}-${parts.day!}`;
  cachedMinute = minute;
  return cachedDate;
}

const HOUR_MS = 60 * 60 * 1000;

/**
 * The instant the UK's day `date` (YYYY-MM-DD) begins: midnight UTC in winter, 23:00 UTC the day
 * before in British Summer Time. The clocks change at 01:00 UTC, never at midnight, so a day
 * begins on the offset of the one before; its length (23, 24 or 25 hours) is the next day's
 * start less its own.
 */
export function ukDayStart(date: string): Date {
  const utcMidnight = Date.parse(`${date}T00:00:00.000Z`);
  const summerMidnight = new Date(utcMidnight - HOUR_MS);
  return ukDateOf(summerMidnight) === date ? summerMidnight : new Date(utcMidnight);
}

/**
 * The calendar date (YYYY-MM-DD) a duration of the schema's form (`P1Y`, `P6M`, `P2W`, `P30D`)
 * after `date`. A day the month lacks rolls into the next month (29 February plus a year is 1
 * March): the later bound, so a review due date is never warned about for the calendar's sake
 * (cross-check.ts). A day after a date (`P1D`) is the next calendar day.
 */
export function dateAfter(date: string, duration: string): string {
  const [years, months, weeks, days] = ['Y', 'M', 'W', 'D'].map((unit) =>
    Number(new RegExp(`(\\d+)${unit}`).exec(duration)?.[1] ?? 0),
  );
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y + years!, m - 1 + months!, d + 7 * weeks! + days!)).toISOString().slice(0, 10);
}
