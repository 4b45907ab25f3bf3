import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImportHarness, storedRecords, type ImportHarness } from './import-harness.js';

/**
 * A date of birth as a partner's extract gives it, read the same whatever the file's format: a
 * placeholder a system writes for "not known", a day after the extract was taken or one before
 * anybody now living was born is refused by its row, with a reason and never the date.
 */
const MDI = 'multiple-disadvantage-indicators';
const HOUSING = 'la-housing';

/** Dates of birth, each with the reason its row is refused (undefined: it loads). File dated 2025-01-31. */
const BIRTHS: readonly (readonly [date: string, reason: string | undefined])[] = [
  ['1980-02-03', undefined],
  ['0001-01-01', 'date-of-birth-placeholder'],
  ['1900-01-01', 'date-of-birth-placeholder'],
  ['1800-01-01', 'date-of-birth-placeholder'],
  ['9999-12-31', 'date-of-birth-placeholder'],
  ['2080-05-01', 'date-of-birth-future'],
  ['2025-02-01', 'date-of-birth-future'],
  ['1850-03-04', 'date-of-birth-too-early'],
  // Born on the day the extract was taken, and nearly 124 years before it: both can be.
  ['2025-01-31', undefined],
  ['1901-03-01', undefined],
  ['2001-07-15', undefined],
];

const name = (i: number) => `Person${String.fromCharCode(65 + i)}`;

function csvOf(): string {
  return ['firstName,lastName,dateOfBirth', ...BIRTHS.map(([date], i) => `${name(i)},Smith,${date}`)].join('\n') + '\n';
}

/**
 * Excel's serial of a day from 1900-01-01: days since 1899-12-30, less Excel's phantom 29
 * February 1900 before it. Written as numbers because exceljs writes a Date before March 1900 a
 * day late, which Excel would not.
 */
function excelSerial(date: string): number {
  const days = (Date.parse(`${date}T00:00:00Z`) - Date.UTC(1899, 11, 30)) / 86_400_000;
  return date < '1900-03-01' ? days - 1 : days;
}

/** The same rows in a workbook: a date Excel can hold as a date cell (shown dd/mm/yyyy), any other as the text typed. */
async function workbookOf(): Promise<Buffer> {
  const book = new ExcelJS.Workbook();
  const sheet = book.addWorksheet('Extract');
  sheet.addRow(['firstName', 'lastName', 'dateOfBirth']);
  BIRTHS.forEach(([date], i) => sheet.addRow([name(i), 'Smith', date < '1900' ? date : excelSerial(date)]));
  sheet.getColumn(3).numFmt = 'dd/mm/yyyy';
  return Buffer.from(await book.xlsx.writeBuffer());
}

describe('dates of birth at import', () => {
  let h: ImportHarness;
  beforeAll(async () => {
    // Half the rows are refused here by design; the threshold is not what is tested.
    h = await createImportHarness({ maxBadRowShare: 0.9 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses a placeholder, future or impossibly early date of birth by its row, in a CSV and in a workbook alike', async () => {
    const expected = BIRTHS.flatMap(([, reason], i) =>
      reason === undefined ? [] : [{ row: i + 2, column: 'dateOfBirth', reason }],
    );
    const loadedBirths = BIRTHS.filter(([, reason]) => reason === undefined)
      .map(([date]) => date)
      .sort();
    for (const [file, content] of [
      ['extract-2025-01-31.csv', csvOf()],
      ['extract-2025-01-31.xlsx', await workbookOf()],
    ] as const) {
      const party = file.endsWith('.csv') ? HOUSING : 'la-education';
      const blob = `${party}/${MDI}/${file}`;
      expect(await h.importFile(blob, content), file).toMatchObject({ outcome: 'loaded', loaded: loadedBirths.length });
      const report = await h.report('processed', blob);
      expect(report?.rowErrors, file).toEqual(expected);
      const stored = (await storedRecords(h.store, party, MDI)).map((r) => r.date_of_birth).sort();
      expect(stored, file).toEqual(loadedBirths);
      // The report and the log name the reason, never the date refused.
      const said = JSON.stringify(report) + h.logLines.join('\n');
      for (const [date, reason] of BIRTHS) if (reason !== undefined) expect(said, file).not.toContain(date);
    }
  });
});

describe('dates with a time part at import', () => {
  let h: ImportHarness;
  beforeAll(async () => {
    h = await createImportHarness({ maxBadRowShare: 0.9 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('loads a date written with a midnight time, as SQL exports write dates, and refuses any other time', async () => {
    const cells: readonly (readonly [cell: string, loaded: string | undefined])[] = [
      ['1980-02-03 00:00:00', '1980-02-03'],
      ['1980-02-04T00:00:00', '1980-02-04'],
      ['1980-02-05T00:00:00.000Z', '1980-02-05'],
      ['1980-02-06 00:00:00.0000000', '1980-02-06'],
      ['1980-02-07 00:00', '1980-02-07'],
      // A CSV saved from Excel writes a date-time column day first.
      ['08/02/1980 00:00', '1980-02-08'],
      ['1980-02-09', '1980-02-09'],
      // Which day 13:45, a second past midnight or midnight in another zone is in the UK is not known.
      ['1980-02-10 13:45:00', undefined],
      ['1980-02-11T00:00:01', undefined],
      ['1980-02-12T00:00:00+05:00', undefined],
      ['1980-02-31 00:00:00', undefined],
    ];
    const csv =
      ['firstName,lastName,dateOfBirth', ...cells.map(([cell], i) => `${name(i)},Jones,${cell}`)].join('\n') + '\n';
    const blob = `${HOUSING}/${MDI}/extract-2025-01-31.csv`;
    const loaded = cells.flatMap(([, date]) => (date === undefined ? [] : [date]));
    expect(await h.importFile(blob, csv)).toMatchObject({ outcome: 'loaded', loaded: loaded.length });
    expect((await storedRecords(h.store, HOUSING, MDI)).map((r) => r.date_of_birth).sort()).toEqual(loaded);
    expect((await h.report('processed', blob))?.rowErrors).toEqual([
      { row: 9, column: 'dateOfBirth', reason: 'date-format' },
      { row: 10, column: 'dateOfBirth', reason: 'date-format' },
      { row: 11, column: 'dateOfBirth', reason: 'date-format' },
      { row: 12, column: 'dateOfBirth', reason: 'date-calendar' },
    ]);
  });
});

describe('dates with a zero UTC offset at import', () => {
  let h: ImportHarness;
  beforeAll(async () => {
    h = await createImportHarness({ maxBadRowShare: 0.9 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("loads a midnight at offset zero as its date, as SQL Server's datetimeoffset and PostgreSQL's timestamptz write it, and refuses any other offset", async () => {
    const cells: readonly (readonly [cell: string, loaded: string | undefined])[] = [
      ['1980-02-03T00:00:00+00:00', '1980-02-03'],
      ['1980-02-04T00:00:00+0000', '1980-02-04'],
      // SQL Server's datetimeoffset as text, and PostgreSQL's timestamptz in a UTC session.
      ['1980-02-05 00:00:00.0000000 +00:00', '1980-02-05'],
      ['1980-02-06 00:00:00+00', '1980-02-06'],
      ['1980-02-07T00:00:00.000+00:00', '1980-02-07'],
      // Midnight elsewhere is another day's evening or this day's morning in the UK: not known which.
      ['1980-02-10T00:00:00+01:00', undefined],
      ['1980-02-11T00:00:00-05:00', undefined],
      ['1980-02-12T00:00:00+00:30', undefined],
      ['1980-02-13T01:00:00+01:00', undefined],
      ['1980-02-14T00:00:00Z+00:00', undefined],
    ];
    const csv =
      ['firstName,lastName,dateOfBirth', ...cells.map(([cell], i) => `${name(i)},Rees,${cell}`)].join('\n') + '\n';
    const blob = `${HOUSING}/${MDI}/extract-2025-01-31.csv`;
    const loaded = cells.flatMap(([, date]) => (date === undefined ? [] : [date]));
    expect(await h.importFile(blob, csv)).toMatchObject({ outcome: 'loaded', loaded: loaded.length });
    expect((await storedRecords(h.store, HOUSING, MDI)).map((r) => r.date_of_birth).sort()).toEqual(loaded);
    expect((await h.report('processed', blob))?.rowErrors).toEqual(
      [7, 8, 9, 10, 11].map((row) => ({ row, column: 'dateOfBirth', reason: 'date-format' })),
    );
  });
});
