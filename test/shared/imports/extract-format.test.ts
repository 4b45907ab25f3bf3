import { describe, expect, it } from 'vitest';
import { asOfDate, datedAfterUpload, extractFormatOf } from '../../../shared/imports/extract-format.js';

describe('extractFormatOf', () => {
  it('reads the format from the file name', () => {
    expect(extractFormatOf('extract.csv', {})).toEqual({ kind: 'csv', delimiter: ',' });
    expect(extractFormatOf('extract.TXT', {})).toEqual({ kind: 'csv', delimiter: ',' });
    expect(extractFormatOf('extract.tsv', {})).toEqual({ kind: 'csv', delimiter: '\t' });
    expect(extractFormatOf('extract.tab', {})).toEqual({ kind: 'csv', delimiter: '\t' });
    expect(extractFormatOf('extract.xlsx', {})).toEqual({ kind: 'xlsx' });
    expect(extractFormatOf('extract.xls', {})).toBeUndefined();
    expect(extractFormatOf('extract', {})).toBeUndefined();
  });

  it('reads a declared delimiter whatever the case of its metadata name (Azure keeps the case it was set in)', () => {
    expect(extractFormatOf('extract.csv', { Delimiter: 'semicolon' })).toEqual({ kind: 'csv', delimiter: ';' });
  });

  it.each([
    ['\t', '\t'],
    [' \t ', '\t'],
    ['\\t', '\t'],
    ['tab', '\t'],
    [' TAB ', '\t'],
    [',', ','],
    ['comma', ','],
    [';', ';'],
    [' ; ', ';'],
    ['Semicolon', ';'],
    ['|', '|'],
    ['pipe', '|'],
  ])('honours a declared delimiter %j on a .csv', (declared, delimiter) => {
    expect(extractFormatOf('extract.csv', { delimiter: declared })).toEqual({ kind: 'csv', delimiter });
  });

  it("reads a .csv or .txt with the delimiter the agreement declares for its source, below the blob's own", () => {
    expect(extractFormatOf('extract.csv', {}, 'semicolon')).toEqual({ kind: 'csv', delimiter: ';' });
    expect(extractFormatOf('extract.txt', {}, 'pipe')).toEqual({ kind: 'csv', delimiter: '|' });
    expect(extractFormatOf('extract.csv', { delimiter: 'tab' }, 'semicolon')).toEqual({ kind: 'csv', delimiter: '\t' });
    expect(extractFormatOf('extract.tsv', {}, 'semicolon')).toEqual({ kind: 'csv', delimiter: '\t' });
    expect(extractFormatOf('extract.xlsx', {}, 'semicolon')).toEqual({ kind: 'xlsx' });
  });

  it('lets a declared delimiter override a .tsv too', () => {
    expect(extractFormatOf('extract.tsv', { delimiter: ',' })).toEqual({ kind: 'csv', delimiter: ',' });
    expect(extractFormatOf('extract.tsv', { delimiter: 'pipe' })).toEqual({ kind: 'csv', delimiter: '|' });
  });

  it('keeps the name’s delimiter when none is declared, or only white space other than a tab', () => {
    expect(extractFormatOf('extract.csv', { delimiter: '' })).toEqual({ kind: 'csv', delimiter: ',' });
    expect(extractFormatOf('extract.csv', { delimiter: '  ' })).toEqual({ kind: 'csv', delimiter: ',' });
    expect(extractFormatOf('extract.csv', { delimiter: '\n' })).toEqual({ kind: 'csv', delimiter: ',' });
    expect(extractFormatOf('extract.tsv', { delimiter: ' ' })).toEqual({ kind: 'csv', delimiter: '\t' });
  });

  it('refuses a delimiter it does not know', () => {
    for (const declared of ['colon', ':', '"', 'tab,comma', '\t\t', ', ;', 'constructor', '__proto__', 'toString']) {
      expect(extractFormatOf('extract.csv', { delimiter: declared }), JSON.stringify(declared)).toBeUndefined();
    }
  });
});

describe('asOfDate', () => {
  const uploaded = new Date('2026-12-02T10:00:00Z');

  it('takes the declared date first, then a date in the name, then the day of upload', () => {
    expect(asOfDate('housing-2025-01-31.csv', { asof: '2025-02-28' }, uploaded)).toBe('2025-02-28');
    expect(asOfDate('housing-2025-01-31.csv', {}, uploaded)).toBe('2025-01-31');
    expect(asOfDate('housing_20250131.csv', {}, uploaded)).toBe('2025-01-31');
    expect(asOfDate('housing.csv', {}, uploaded)).toBe('2026-12-02');
  });

  // A four-digit reference before the date took the date's year as its month and day
  // (`1234-20-25`, no date) and the real date was never looked at: the extract was dated by the
  // day of upload, so one sent late was taken as the newest, and one of a day still to come loaded.
  it('finds the date after a four-digit reference joined to it by a hyphen', () => {
    expect(asOfDate('housing-1234-2025-01-31.csv', {}, uploaded)).toBe('2025-01-31');
    expect(asOfDate('housing-ab0112-2999-01-31.csv', {}, uploaded)).toBe('2999-01-31');
    expect(asOfDate('housing_1234_20250131.csv', {}, uploaded)).toBe('2025-01-31');
  });

  // Tried at every start, the month and day of `2025-0101` were read again as a year, `0101-01-31`:
  // an extract of a period written year, then its first and last days, was dated the year 101.
  it('takes no month and day of a date for the year of another', () => {
    expect(asOfDate('housing_2025-0101-0131.csv', {}, uploaded)).toBe('2025-01-01');
    expect(asOfDate('hb-2025-0131-0201.csv', {}, uploaded)).toBe('2025-01-31');
    expect(asOfDate('hb-2025-1231-0101.csv', {}, uploaded)).toBe('2025-12-31');
  });

  it('reads the declared date in any case of its name, and the date of a date-time', () => {
    expect(asOfDate('housing.csv', { AsOf: '2025-02-28' }, uploaded)).toBe('2025-02-28');
    expect(asOfDate('housing.csv', { ASOF: '28/02/2025' }, uploaded)).toBe('2025-02-28');
    expect(asOfDate('housing.csv', { asof: '2025-02-28T23:00:00Z' }, uploaded)).toBe('2025-02-28');
    expect(asOfDate('housing.csv', { asof: '  ' }, uploaded)).toBe('2026-12-02');
  });

  it('dates an extract by the day of upload in the UK, not in UTC', () => {
    // 00:30 BST on 1 July is 23:30 UTC on 30 June: the partner uploaded it on 1 July.
    expect(asOfDate('housing.csv', {}, new Date('2025-06-30T23:30:00Z'))).toBe('2025-07-01');
    // The last minutes of BST, and of the night the clocks go back.
    expect(asOfDate('housing.csv', {}, new Date('2025-10-25T23:59:00Z'))).toBe('2025-10-26');
    expect(asOfDate('housing.csv', {}, new Date('2025-10-26T23:59:00Z'))).toBe('2025-10-26');
    // In winter the UK is on UTC.
    expect(asOfDate('housing.csv', {}, new Date('2025-12-31T23:30:00Z'))).toBe('2025-12-31');
  });

  it('dates a declared instant (a date-time with Z or an offset) by its day in the UK', () => {
    // 23:30 UTC on 30 June is 00:30 BST on 1 July: the extract was made on 1 July in the UK.
    expect(asOfDate('housing.csv', { asof: '2025-06-30T23:30Z' }, uploaded)).toBe('2025-07-01');
    expect(asOfDate('housing.csv', { asof: '2025-06-30T23:30:00.000Z' }, uploaded)).toBe('2025-07-01');
    // Midnight BST written in UTC, as a system on UTC stores a UK day.
    expect(asOfDate('housing.csv', { asof: '2025-06-29T23:00:00Z' }, uploaded)).toBe('2025-06-30');
    expect(asOfDate('housing.csv', { asof: '2025-07-01T00:30:00+01:00' }, uploaded)).toBe('2025-07-01');
    expect(asOfDate('housing.csv', { asof: '2025-07-01T00:30:00+0100' }, uploaded)).toBe('2025-07-01');
    expect(asOfDate('housing.csv', { asof: '2025-07-01T01:00:00+05:30' }, uploaded)).toBe('2025-06-30');
    // In winter the UK is on UTC.
    expect(asOfDate('housing.csv', { asof: '2025-12-31T23:30:00Z' }, uploaded)).toBe('2025-12-31');
    // No offset: a wall-clock reading, the partner's own, so its date is the day it means.
    expect(asOfDate('housing.csv', { asof: '2025-06-30T23:30:00' }, uploaded)).toBe('2025-06-30');
    // An instant whose time cannot be read is no day at all: it could be either side of midnight.
    expect(asOfDate('housing.csv', { asof: '2025-06-30T25:30:00Z' }, uploaded)).toBeUndefined();
    expect(asOfDate('housing.csv', { asof: '2025-02-30T10:00:00Z' }, uploaded)).toBeUndefined();
  });

  it("reads 24:00 as the end of the day written, the next day's 00:00, and dates it by the UK day", () => {
    // 24:00 UTC on 30 June is 01:00 BST on 1 July; in winter the UK is on UTC and it is 1 January.
    expect(asOfDate('housing.csv', { asof: '2025-06-30T24:00Z' }, uploaded)).toBe('2025-07-01');
    expect(asOfDate('housing.csv', { asof: '2025-06-30T24:00:00Z' }, uploaded)).toBe('2025-07-01');
    expect(asOfDate('housing.csv', { asof: '2025-06-30T24:00:00.000Z' }, uploaded)).toBe('2025-07-01');
    expect(asOfDate('housing.csv', { asof: '2025-12-31T24:00Z' }, uploaded)).toBe('2026-01-01');
    // 24:00 at +01:00 is 23:00 UTC, midnight BST: the next day in the UK.
    expect(asOfDate('housing.csv', { asof: '2025-06-30T24:00+01:00' }, uploaded)).toBe('2025-07-01');
    // Without an offset it is the partner's clock at the same instant as the next day's 00:00.
    expect(asOfDate('housing.csv', { asof: '2025-06-30T24:00' }, uploaded)).toBe('2025-07-01');
    expect(asOfDate('housing.csv', { asof: '2025-06-30T24:00:00' }, uploaded)).toBe('2025-07-01');
    // Only 24:00 itself: a time past it is no time of day.
    expect(asOfDate('housing.csv', { asof: '2025-06-30T24:00:01Z' }, uploaded)).toBeUndefined();
    expect(asOfDate('housing.csv', { asof: '2025-06-30T24:01Z' }, uploaded)).toBeUndefined();
    expect(asOfDate('housing.csv', { asof: '2025-06-30T24:00:00.5Z' }, uploaded)).toBeUndefined();
    expect(asOfDate('housing.csv', { asof: '2025-06-30T24:00:01' }, uploaded)).toBeUndefined();
  });

  it('reads a basic-format time (no colons) as the same instant as its extended form, and dates it by the UK day', () => {
    // 23:30 UTC on 30 June is 00:30 BST on 1 July, however it is written.
    expect(asOfDate('housing.csv', { asof: '2025-06-30T2330Z' }, uploaded)).toBe('2025-07-01');
    expect(asOfDate('housing.csv', { asof: '2025-06-30T233000Z' }, uploaded)).toBe('2025-07-01');
    expect(asOfDate('housing.csv', { asof: '2025-06-30T233000.000Z' }, uploaded)).toBe('2025-07-01');
    expect(asOfDate('housing.csv', { asof: '2025-06-30T23Z' }, uploaded)).toBe('2025-07-01');
    // 23:30 at -01:00 is 00:30 UTC, 01:30 BST on 1 July; at +01:00 it is 23:30 BST on 30 June.
    expect(asOfDate('housing.csv', { asof: '2025-06-30T233000-0100' }, uploaded)).toBe('2025-07-01');
    expect(asOfDate('housing.csv', { asof: '2025-06-30T233000+0100' }, uploaded)).toBe('2025-06-30');
    expect(asOfDate('housing.csv', { asof: '2025-07-01T0030+01' }, uploaded)).toBe('2025-07-01');
    expect(asOfDate('housing.csv', { asof: '2025-06-30T2400Z' }, uploaded)).toBe('2025-07-01');
    // In winter the UK is on UTC; without an offset the partner's clock gives the date.
    expect(asOfDate('housing.csv', { asof: '2025-12-31T2330Z' }, uploaded)).toBe('2025-12-31');
    expect(asOfDate('housing.csv', { asof: '2025-06-30T2330' }, uploaded)).toBe('2025-06-30');
    // Out of range as the extended form is.
    expect(asOfDate('housing.csv', { asof: '2025-06-30T2530Z' }, uploaded)).toBeUndefined();
    expect(asOfDate('housing.csv', { asof: '2025-06-30T2360Z' }, uploaded)).toBeUndefined();
    expect(asOfDate('housing.csv', { asof: '2025-06-30T240001Z' }, uploaded)).toBeUndefined();
  });

  it('reads a basic-format date (YYYYMMDD), alone or with a time, dated as its extended form is', () => {
    // Partners' systems emit the compact form; refused, it rejected the whole file.
    expect(asOfDate('housing.csv', { asof: '20250630' }, uploaded)).toBe('2025-06-30');
    expect(asOfDate('housing.csv', { asof: '20250630T233000Z' }, uploaded)).toBe('2025-07-01');
    expect(asOfDate('housing.csv', { asof: '20250630T2330Z' }, uploaded)).toBe('2025-07-01');
    expect(asOfDate('housing.csv', { asof: '20250630T233000.000Z' }, uploaded)).toBe('2025-07-01');
    expect(asOfDate('housing.csv', { asof: '20250630T23:30:00Z' }, uploaded)).toBe('2025-07-01');
    expect(asOfDate('housing.csv', { asof: '20250630T233000+0100' }, uploaded)).toBe('2025-06-30');
    expect(asOfDate('housing.csv', { asof: '20250701T0030+01:00' }, uploaded)).toBe('2025-07-01');
    expect(asOfDate('housing.csv', { asof: '20251231T2330Z' }, uploaded)).toBe('2025-12-31');
    // No offset: the partner's clock, its date as written.
    expect(asOfDate('housing.csv', { asof: '20250630T2330' }, uploaded)).toBe('2025-06-30');
    expect(asOfDate('housing.csv', { asof: '20250630T2400Z' }, uploaded)).toBe('2025-07-01');
    expect(asOfDate('housing.csv', { asof: '20250630T2400' }, uploaded)).toBe('2025-07-01');
    // An impossible date or time is never dated.
    for (const asof of [
      '20250230',
      '20251301',
      '20250631T1200Z',
      '20250630T2530Z',
      '20250630T2360Z',
      '20250630T240001Z',
      '20250630T',
      '2025063',
      '202506301',
      '2025-0630',
      '202506-30',
      // Day first, as a UK feed might run it together: its "month" is the year's century, never
      // a month, so it is refused rather than read as a year 3006.
      '30062025',
    ]) {
      expect(asOfDate('housing.csv', { asof }, uploaded), asof).toBeUndefined();
    }
  });

  it('reads a date-time ending in a bracketed time zone (Java, RFC 9557) by its offset, dated by the UK day', () => {
    // Java's ZonedDateTime prints these; they were dated as written once, then refused whole.
    expect(asOfDate('housing.csv', { asof: '2025-06-30T23:30+01:00[Europe/London]' }, uploaded)).toBe('2025-06-30');
    expect(asOfDate('housing.csv', { asof: '2025-06-30T23:30:00.123456789+01:00[Europe/London]' }, uploaded)).toBe(
      '2025-06-30',
    );
    expect(asOfDate('housing.csv', { asof: '2025-06-30T23:30Z[UTC]' }, uploaded)).toBe('2025-07-01');
    expect(asOfDate('housing.csv', { asof: '2025-06-30T23:30Z[Etc/UTC]' }, uploaded)).toBe('2025-07-01');
    expect(asOfDate('housing.csv', { asof: '20250630T2330+0100[Europe/London]' }, uploaded)).toBe('2025-06-30');
    expect(asOfDate('housing.csv', { asof: '2025-06-30T24:00+01:00[Europe/London]' }, uploaded)).toBe('2025-07-01');
    // The offset decides the instant, not the zone named (RFC 9557: an elective name is ignored).
    expect(asOfDate('housing.csv', { asof: '2025-06-30T23:30-05:00[America/New_York]' }, uploaded)).toBe('2025-07-01');
    expect(asOfDate('housing.csv', { asof: '2025-06-30T23:30+00:00[Europe/London]' }, uploaded)).toBe('2025-07-01');
    // Critical (`!`): read when the offset is the zone's at that instant.
    expect(asOfDate('housing.csv', { asof: '2025-06-30T23:30+01:00[!Europe/London]' }, uploaded)).toBe('2025-06-30');
    expect(asOfDate('housing.csv', { asof: '2025-12-31T23:30+00:00[!Europe/London]' }, uploaded)).toBe('2025-12-31');
    expect(asOfDate('housing.csv', { asof: '2025-07-01T04:00+05:30[!Asia/Kolkata]' }, uploaded)).toBe('2025-06-30');
    // `Z` (or -00:00) names the instant and no local offset (RFC 9557): nothing to disagree with.
    expect(asOfDate('housing.csv', { asof: '2025-06-30T22:30Z[!Europe/London]' }, uploaded)).toBe('2025-06-30');
    expect(asOfDate('housing.csv', { asof: '2025-06-30T23:30-00:00[!Europe/London]' }, uploaded)).toBe('2025-07-01');
    for (const asof of [
      // Critical, and the offset is not the zone's then: which was meant is not guessed.
      '2025-06-30T23:30+00:00[!Europe/London]',
      '2025-12-31T23:30+01:00[!Europe/London]',
      '2025-06-30T23:30+01:00[!Mars/Olympus]',
      // No offset: a time in the zone, read by no rule here.
      '2025-06-30T23:30[Europe/London]',
      '2025-06-30T23:30[!Europe/London]',
      '2025-06-30[Europe/London]',
      '20250630[Europe/London]',
      // No zone name.
      '2025-06-30T23:30+01:00[]',
      '2025-06-30T23:30+01:00[!]',
      '2025-06-30T23:30+01:00[British Summer Time]',
      '2025-06-30T23:30+01:00[Europe//London]',
      '2025-06-30T23:30+01:00[../etc/passwd]',
      '2025-06-30T23:30+01:00[1Europe/London]',
      '2025-06-30T23:30+01:00[u-ca=iso8601]',
      '2025-06-30T23:30+01:00[Europe/London][u-ca=iso8601]',
      '2025-06-30T23:30+01:00[Europe/London',
      '2025-06-30T23:30+01:00[Europe/London]Z',
      '2025-06-30T23:30+01:00 [Europe/London]',
      // An impossible time is not made possible by a zone.
      '2025-06-30T25:30+01:00[Europe/London]',
      '2025-02-30T10:00+00:00[Europe/London]',
    ]) {
      expect(asOfDate('housing.csv', { asof }, uploaded), asof).toBeUndefined();
    }
  });

  it('reads a space in place of the T (RFC 3339 §5.6, as Excel and SQL exports write it) as the same instant', () => {
    // `2025-06-30 23:30:00Z` from a SQL export was refused as unreadable-asof, the extract not loaded.
    for (const [spaced, date] of [
      ['2025-06-30 23:30:00Z', '2025-07-01'],
      ['2025-06-30 23:30Z', '2025-07-01'],
      ['2025-06-30 23:30:00.000Z', '2025-07-01'],
      ['2025-07-01 00:30:00+01:00', '2025-07-01'],
      ['2025-07-01 01:00:00+05:30', '2025-06-30'],
      ['2025-06-30 24:00Z', '2025-07-01'],
      ['2025-06-30 23:30:00', '2025-06-30'],
      ['2025-06-30 23:30:00+01:00[Europe/London]', '2025-06-30'],
    ] as const) {
      expect(asOfDate('housing.csv', { asof: spaced }, uploaded), spaced).toBe(date);
      expect(asOfDate('housing.csv', { asof: spaced.replace(' ', 'T') }, uploaded), spaced).toBe(date);
    }
    // The same instant rules: an out-of-range time or a date that is none is still no day.
    expect(asOfDate('housing.csv', { asof: '2025-06-30 25:30:00Z' }, uploaded)).toBeUndefined();
    expect(asOfDate('housing.csv', { asof: '2025-02-30 10:00:00Z' }, uploaded)).toBeUndefined();
  });

  it('reads a space in place of the T only between an extended date and an extended time', () => {
    // Hours alone, a basic date or time, or other white space: text after a date, not a time of it.
    for (const asof of [
      '2025-06-30 23',
      '2025-06-30 23Z',
      '2025-06-30 2330Z',
      '20250630 23:30Z',
      '20250630 233000Z',
      '2025-06-30  23:30Z',
      '2025-06-30\t23:30Z',
      '2025-06-30 T23:30Z',
      '2025-06-30 23:30 BST',
    ]) {
      expect(asOfDate('housing.csv', { asof }, uploaded), asof).toBeUndefined();
    }
  });

  it('refuses a date-time whose time it cannot read, rather than take the date written', () => {
    // Each could name an instant either side of a UK midnight: no day is guessed for it.
    for (const asof of [
      '2025-06-30T23:30 BST',
      '2025-06-30T233Z',
      '2025-06-30T23:3000Z',
      '2025-06-30T2330:00Z',
      '2025-06-30T23.5Z',
      '2025-06-30Tnoon',
      '2025-06-30T',
    ]) {
      expect(asOfDate('housing.csv', { asof }, uploaded), asof).toBeUndefined();
    }
  });

  it('guesses no date when the declared one cannot be read', () => {
    expect(asOfDate('housing-2025-01-31.csv', { asof: 'end of January' }, uploaded)).toBeUndefined();
    expect(asOfDate('housing.csv', { asof: '2025-02-30' }, uploaded)).toBeUndefined();
  });

  it('does not take the digits of a longer number for a date, and takes the last date of a period', () => {
    // The first eight digits of the reference are no date; read alone they would date the file today.
    expect(asOfDate('housing_123456789_2025-01-31.csv', {}, uploaded)).toBe('2025-01-31');
    expect(asOfDate('extract_100234567_20250131.csv', {}, uploaded)).toBe('2025-01-31');
    expect(asOfDate('housing_2025-01-01_to_2025-01-31.csv', {}, uploaded)).toBe('2025-01-31');
    // Not a date (month 13): the next one is.
    expect(asOfDate('housing_2025-01-31_20251301.csv', {}, uploaded)).toBe('2025-01-31');
  });
});

describe('datedAfterUpload', () => {
  it('allows an extract dated the UK day after its upload, also in the first hour of a summer day', () => {
    // 00:30 BST on 1 July (23:30 UTC on 30 June): uploaded on 1 July, so 2 July is within the
    // day's grace and 3 July is not, as at any other hour of 1 July.
    const firstHour = new Date('2025-06-30T23:30:00Z');
    expect(datedAfterUpload('2025-07-02', firstHour)).toBe(false);
    expect(datedAfterUpload('2025-07-03', firstHour)).toBe(true);
    expect(datedAfterUpload('2025-07-02', new Date('2025-07-01T22:59:00Z'))).toBe(false);
    // 23:30 BST on 30 June: uploaded on 30 June, so 2 July is after its grace.
    expect(datedAfterUpload('2025-07-02', new Date('2025-06-30T22:30:00Z'))).toBe(true);
    // Either side of the clocks going forward (01:00 UTC on 30 March 2025) and back (26 October).
    expect(datedAfterUpload('2025-03-31', new Date('2025-03-30T00:30:00Z'))).toBe(false);
    expect(datedAfterUpload('2025-04-01', new Date('2025-03-30T23:30:00Z'))).toBe(false);
    expect(datedAfterUpload('2025-10-27', new Date('2025-10-25T23:30:00Z'))).toBe(false);
    expect(datedAfterUpload('2025-10-28', new Date('2025-10-26T23:30:00Z'))).toBe(true);
    // In winter the UK is on UTC.
    expect(datedAfterUpload('2026-01-01', new Date('2025-12-30T23:30:00Z'))).toBe(true);
    expect(datedAfterUpload('2026-01-01', new Date('2025-12-31T00:30:00Z'))).toBe(false);
  });
});
