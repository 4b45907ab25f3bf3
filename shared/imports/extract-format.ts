import type { DelimiterName } from '../agreements/schema.js';
import { wallClockAsUtc } from '../audit/working-hours.js';
import { normaliseDate } from '../domain/normalise.js';
import { dateAfter, ukDateOf } from '../domain/uk-date.js';

/**
 * How a file is read, decided from its name and the blob's metadata before a byte is parsed:
 *
 * - `.xlsx` → a workbook (one sheet).
 * - `.csv` / `.txt` → comma-delimited text, or what the agreement declares for the uploading
 *   source (the dataset's `delimiters`: SFTP uploads carry no metadata); `.tsv` / `.tab` →
 *   tab-delimited.
 * - The blob metadata `delimiter` (set by the uploader, e.g. `az storage blob upload
 *   --metadata delimiter=semicolon`) overrides the name: `comma`, `semicolon`, `tab`, `pipe`,
 *   or the character itself. Nothing is sniffed: a file delimited otherwise than declared has
 *   a one-column header and is refused as `wrong-delimiter`.
 * - Anything else is refused (`unsupported-file-type`).
 */
export type ExtractFormat = { readonly kind: 'csv'; readonly delimiter: string } | { readonly kind: 'xlsx' };

const DELIMITERS: Readonly<Record<DelimiterName, string>> = { comma: ',', semicolon: ';', tab: '\t', pipe: '|' };

/** What blob metadata may declare: a delimiter's name or the character itself. */
const NAMED_DELIMITERS: Readonly<Record<string, string>> = {
  ...DELIMITERS,
  ',': ',',
  ';': ';',
  '\\t': '\t',
  '\t': '\t',
  '|': '|',
};

export function extractFormatOf(
  fileName: string,
  metadata: Readonly<Record<string, string>>,
  /** What the agreement declares for the uploading source's delimited text, if anything. */
  sourceDelimiter?: DelimiterName,
): ExtractFormat | undefined {
  const extension = /\.([A-Za-z0-9]+)$/.exec(fileName)?.[1]?.toLowerCase();
  if (extension === 'xlsx') return { kind: 'xlsx' };
  let delimiter: string | undefined;
  if (extension === 'csv' || extension === 'txt') delimiter = DELIMITERS[sourceDelimiter ?? 'comma'];
  else if (extension === 'tsv' || extension === 'tab') delimiter = '\t';
  else return undefined;
  const declared = declaredDelimiter(metadataValue(metadata, 'delimiter'));
  if (declared !== undefined) {
    // Own keys only: `constructor` or `__proto__` is no delimiter.
    const named = Object.hasOwn(NAMED_DELIMITERS, declared) ? NAMED_DELIMITERS[declared] : undefined;
    if (named === undefined) return undefined;
    delimiter = named;
  }
  return { kind: 'csv', delimiter };
}

/**
 * The metadata's `delimiter`, lower-cased, without the white space around it — but a tab is a
 * delimiter, not white space: `\t` (alone or between spaces) stays. Undefined when nothing is
 * left, i.e. none was declared.
 */
function declaredDelimiter(raw: string | undefined): string | undefined {
  const declared = raw?.replace(/^[^\S\t]+|[^\S\t]+$/g, '').toLowerCase();
  return declared === undefined || declared === '' ? undefined : declared;
}

/**
 * A blob metadata value by its name in any case: Azure keeps a name in the case it was set in
 * (`AsOf`, `ASOF`), Azurite lower-cases it.
 */
function metadataValue(metadata: Readonly<Record<string, string>>, name: string): string | undefined {
  for (const [key, value] of Object.entries(metadata)) if (key.toLowerCase() === name) return value;
  return undefined;
}

/**
 * The date the extract describes (`source_record.as_of`): blob metadata `asof` (an ISO date,
 * extended or basic, `2025-06-30` or `20250630`, or an ISO date-time, its date and its time
 * each extended or basic, `2025-06-30T23:30Z` or `20250630T2330Z`, or with a space for the `T`,
 * `2025-06-30 23:30Z`, both extended, and one whose time
 * cannot be read no date: with `Z` or an offset it names an instant, dated by its day in the UK as
 * every instant lintel is given is (ukDateOf) — `2025-06-30T23:30Z` is 00:30 BST on 1 July, and
 * its date as written, the UTC one, was taken for it (found by a review); a bracketed zone after
 * the offset, `+01:00[Europe/London]` as Java prints it, checked but not read (dateAtTime);
 * without an offset it is a reading of the partner's own clock, and its date is taken as
 * written; `T24:00`, ISO 8601's end of a day, is the next day's 00:00 either way), else a date in
 * the file name (`…-2025-01-31.csv` or `…_20250131.csv`; the last, should there be several),
 * else the day it was uploaded in the UK: an extract uploaded at 00:30 BST was uploaded that day,
 * not the day before, as its UTC date would have it (found by a review). Undefined when
 * `asof` is given but is no date: the partner said which day the extract describes, and a guess
 * in its place (the upload day, say) could put an older extract over a newer one.
 */
export function asOfDate(
  fileName: string,
  metadata: Readonly<Record<string, string>>,
  uploaded: Date,
): string | undefined {
  const declared = metadataValue(metadata, 'asof')?.trim();
  if (declared !== undefined && declared !== '') {
    const time = DATE_TIME.exec(declared);
    if (time === null) {
      // A date alone; a date-time here has a time that cannot be read, which may carry an offset
      // that moves the day (`T2330Z` is the next day in BST, and its date as written was once
      // taken for it): normaliseDate reads no time, so no day is guessed for it.
      const basic = BASIC_DATE.exec(declared);
      const r = normaliseDate(basic === null ? declared : `${basic[1]}-${basic[2]}-${basic[3]}`);
      return r.ok ? r.value : undefined;
    }
    const { year, month, day, sep, ds, ts, mm } = time.groups!;
    // A space read as `T` only where it reads one way: a date, then a time with its colons.
    if (sep === ' ' && (ds !== '-' || ts !== ':' || mm === undefined)) return undefined;
    const r = normaliseDate(`${year}-${month}-${day}`);
    return r.ok ? dateAtTime(r.value, time.groups!) : undefined;
  }
  // Eight digits standing alone (not the tail of a longer number: `…_100234567_2025-01-31`),
  // the last that is a real date: a name may carry a reference number, or a period `from_to`.
  // Tried at every start (a lookahead), so a reference such as `1234-2025-01-31`, read first as
  // `1234-20-25`, does not use up the year of the date after it; but the digits of a real date
  // are not read again, or `2025-0101-0131` (a period) was dated the year 101 (found by a review).
  let inName: string | undefined;
  let dateEnd = 0;
  for (const m of fileName.matchAll(/(?<!\d)(?=((\d{4})-?(\d{2})-?(\d{2}))(?!\d))/g)) {
    if (m.index < dateEnd) continue;
    const r = normaliseDate(`${m[2]}-${m[3]}-${m[4]}`);
    if (!r.ok) continue;
    inName = r.value;
    dateEnd = m.index + m[1]!.length;
  }
  return inName ?? ukDateOf(uploaded);
}

/**
 * An ISO date in the basic format, `20250630`: the compact form partners' systems emit. A date
 * run together day first (`30062025`) is not one misread: its month would be its year's century.
 */
const BASIC_DATE = /^(\d{4})(\d{2})(\d{2})$/;

/**
 * An ISO date-time: its date, extended (`2025-06-30`) or basic (`20250630`), one or the other
 * throughout (the backreference), then its time of day and its `Z` or offset (`+01:00`,
 * `+0100`, `+01`), if it has one. The time is hours, then minutes, then seconds and a fraction,
 * each optional after the hours, in the extended format (`23:30:00`) or the basic (`233000`),
 * one or the other throughout (the backreference): `23:3000` could be read more than one way.
 * Date and time may differ in format (`2025-06-30T2330Z`, `20250630T23:30Z`), which ISO 8601
 * does not allow but reads one way only. A fraction of an hour or a minute (`T23.5`) is not read.
 * One space may stand for the `T` (RFC 3339 §5.6 NOTE: `2025-06-30 23:30:00Z`, as SQL Server and
 * Excel write a date-time; such a value was refused as unreadable-asof), but only between an
 * extended date and an extended time with its minutes ({@link asOfDate}): `2025-06-30 23` or
 * `20250630 2330` could as well be a date with something else after it.
 *
 * After an offset, one bracketed time zone (RFC 9557, as Java's ZonedDateTime prints it:
 * `+01:00[Europe/London]`), `!` before it if critical. Without an offset before it, the time is
 * a reading of the zone's clock, which no rule here turns into an instant: not read.
 */
const DATE_TIME =
  /^(?<year>\d{4})(?<ds>-?)(?<month>\d{2})\k<ds>(?<day>\d{2})(?<sep>[T ])(?<hh>\d{2})(?:(?<ts>:?)(?<mm>\d{2})(?:\k<ts>(?<ss>\d{2})(?:[.,](?<fraction>\d+))?)?)?(?:(?:(?<z>Z)|(?<sign>[+-])(?<oh>\d{2})(?::?(?<om>\d{2}))?)(?:\[(?<critical>!?)(?<zone>[^\][]*)\])?)?$/i;

type DateTimeParts = Partial<
  Record<'hh' | 'mm' | 'ss' | 'fraction' | 'z' | 'sign' | 'oh' | 'om' | 'critical' | 'zone', string>
>;

/**
 * The date of `date` at DATE_TIME's time: with `Z` or an offset the UK's date at that instant,
 * without one the date the partner's clock shows then. Undefined when the time or the offset is
 * out of range: an instant that cannot be read could fall either side of a midnight, and no day
 * is guessed for it. 24:00 (ISO 8601's end of a day) is the next day's 00:00, the same instant,
 * and dated as it is; any time past it is out of range.
 *
 * A bracketed zone after the offset is the offset's to agree with, not the other way: RFC 9557
 * lets an elective one be ignored, and the offset names the instant. Ignored, it must still be a
 * zone's name (not another tag, or prose); critical (`[!Europe/London]`), the offset must be the
 * zone's at that instant, or the sender meant one of two instants and which is not guessed. `Z`
 * (and `-00:00`) names the instant and no local offset at all (RFC 9557), so nothing disagrees.
 */
function dateAtTime(date: string, parts: DateTimeParts): string | undefined {
  const { hh, mm, ss, fraction, z, sign, oh, om, critical, zone } = parts;
  const [hours, minutes, seconds] = [Number(hh), Number(mm ?? 0), Number(ss ?? 0)];
  const [offsetHours, offsetMinutes] = [Number(oh ?? 0), Number(om ?? 0)];
  const endOfDay = hours === 24 && minutes === 0 && seconds === 0 && !/[1-9]/.test(fraction ?? '');
  if ((hours > 23 && !endOfDay) || minutes > 59 || seconds > 59 || offsetHours > 23 || offsetMinutes > 59) {
    return undefined;
  }
  const wallClock = Date.parse(`${date}T00:00:00Z`) + ((hours * 60 + minutes) * 60 + seconds) * 1000;
  if (z === undefined && sign === undefined) return new Date(wallClock).toISOString().slice(0, 10);
  const offset = z !== undefined ? 0 : (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes);
  const instant = wallClock - offset * 60_000;
  if (zone !== undefined) {
    if (!isZoneName(zone)) return undefined;
    const localOffsetUnknown = z !== undefined || (sign === '-' && offset === 0);
    if (critical === '!' && !localOffsetUnknown && zoneOffsetAt(zone, instant) !== offset * 60_000) return undefined;
  }
  return ukDateOf(new Date(instant));
}

/**
 * RFC 9557's time-zone name: parts joined by `/`, each a letter, `.` or `_` and then letters,
 * digits, `.`, `_`, `-` or `+`, and no part `.` or `..` — the shape of an IANA name
 * (`Europe/London`, `Etc/GMT+1`, `UTC`).
 */
function isZoneName(name: string): boolean {
  return name.split('/').every((part) => /^[A-Za-z._][A-Za-z0-9._+-]*$/.test(part) && part !== '.' && part !== '..');
}

/** The zone's offset at the instant, in ms; undefined for a zone the runtime does not know. */
function zoneOffsetAt(zone: string, instant: number): number | undefined {
  try {
    // In one case: a formatter is kept for each zone asked about, and a zone's name is read in any.
    return wallClockAsUtc(instant, zone.toLowerCase()) - instant;
  } catch {
    return undefined;
  }
}

/**
 * Whether an extract's as-of date is after the day it was uploaded, allowing a day for a
 * partner's clock or time zone (an extract dated today in the UK may be uploaded before
 * midnight UTC). An extract cannot describe a day still to come, and a snapshot dated in the
 * future would hold back every later extract as stale (snapshots only move forward) until that
 * date: a mistyped date would lock the dataset. The day of upload is the UK's (ukDateOf), as the
 * as-of date it is compared with is: counted from the UTC instant a day later, the grace was no
 * day at all in the first hour of every summer day (00:30 BST on 1 July refused 2 July).
 */
export function datedAfterUpload(asOf: string, uploadedAt: Date): boolean {
  return asOf > dateAfter(ukDateOf(uploadedAt), 'P1D');
}
