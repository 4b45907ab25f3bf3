import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImportHarness, storedRecords, type ImportHarness } from './import-harness.js';

/**
 * What a spreadsheet holds, read as the partner sees it in Excel: a percentage as the
 * percentage shown, a date-time as its calendar day, and rows that hold only formatting (or the
 * bare delimiters Excel saves as CSV for them) as nothing at all.
 */
const MDI = 'multiple-disadvantage-indicators';

async function workbook(build: (sheet: ExcelJS.Worksheet) => void): Promise<Buffer> {
  const book = new ExcelJS.Workbook();
  build(book.addWorksheet('Extract'));
  return Buffer.from(await book.xlsx.writeBuffer());
}

describe('spreadsheet cells at import', () => {
  let h: ImportHarness;
  beforeAll(async () => {
    h = await createImportHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const attributesOf = async (partyId: string) =>
    (await storedRecords(h.store, partyId, MDI)).map(
      (r) => JSON.parse(r.attributes as string) as Record<string, unknown>,
    );

  it('reads a cell formatted as a percentage as the percentage Excel shows, not its fraction', async () => {
    const file = await workbook((sheet) => {
      sheet.addRow(['firstName', 'lastName', 'dateOfBirth', 'schoolTotalAbsencePercent', 'schoolLatenessPercent']);
      sheet.addRow(['Ann', 'Smith', '2010-01-01', 0.45, 7.5]);
      sheet.addRow(['Ben', 'Smith', '2010-01-02', 0.07, 12]);
      sheet.getColumn(4).numFmt = '0%';
    });
    expect(await h.importFile(`la-education/${MDI}/absence.xlsx`, file)).toMatchObject({
      outcome: 'loaded',
      loaded: 2,
    });
    const stored = (await attributesOf('la-education')).sort((a, b) =>
      String(a.firstName).localeCompare(String(b.firstName)),
    );
    // A column not formatted as a percentage already holds percentages.
    expect(stored.map((a) => [a.schoolTotalAbsencePercent, a.schoolLatenessPercent])).toEqual([
      [45, 7.5],
      [7, 12],
    ]);
  });

  it('keeps the calendar day of a date-time cell, morning or evening', async () => {
    const file = await workbook((sheet) => {
      sheet.addRow(['firstName', 'lastName', 'dateOfBirth']);
      sheet.addRow(['Cal', 'Jones', new Date(Date.UTC(2010, 0, 10, 18, 0, 0))]);
      sheet.addRow(['Dee', 'Jones', new Date(Date.UTC(2010, 0, 11, 6, 30, 0))]);
      sheet.getColumn(3).numFmt = 'dd/mm/yyyy hh:mm';
    });
    expect(await h.importFile(`la-housing/${MDI}/dates.xlsx`, file)).toMatchObject({ outcome: 'loaded', loaded: 2 });
    const births = (await storedRecords(h.store, 'la-housing', MDI)).map((r) => r.date_of_birth).sort();
    expect(births).toEqual(['2010-01-10', '2010-01-11']);
  });

  it('skips rows that hold only formatting, in a workbook or saved as CSV, rather than refuse them', async () => {
    const file = await workbook((sheet) => {
      sheet.addRow(['firstName', 'lastName', 'dateOfBirth']);
      for (let i = 0; i < 10; i++) sheet.addRow(['Eve', `Brown${i}`, `2011-02-1${i}`]);
      for (let r = 12; r <= 16; r++) {
        sheet.getRow(r).getCell(1).fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFFFFF00' } };
      }
    });
    expect(await h.importFile(`la-childrens-social-care/${MDI}/formatted.xlsx`, file)).toMatchObject({
      outcome: 'loaded',
      rows: 10,
      loaded: 10,
      rejected: 0,
    });
    const csv = [
      'firstName,lastName,dateOfBirth',
      ...Array.from({ length: 10 }, (_, i) => `Fay,Green${i},2012-03-1${i}`),
      ',,',
      ',,',
      '',
    ].join('\r\n');
    expect(await h.importFile(`la-childrens-social-care/${MDI}/saved-as.csv`, csv)).toMatchObject({
      outcome: 'loaded',
      rows: 10,
      loaded: 10,
      rejected: 0,
    });
  });
});
