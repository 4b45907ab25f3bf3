import ExcelJS from 'exceljs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createImportHarness, type ImportHarness } from './import-harness.js';
import { buildZip, workbookSources } from './zip-builder.js';

/**
 * README (rows): a row whose every cell is empty or a formula showing nothing is a blank row.
 * Councils send extracts from a template whose rows below the data (and at times above the
 * header) hold formulas copied down, `=IF(Sheet2!B4="","",Sheet2!B4)`, with an empty cached
 * result or none: the sheet shows them blank. Each such row was a bad row (`formula-cell`), which
 * pushed the file over the bad-row share, and one above the header was `header-unreadable`.
 */
const MDI = 'multiple-disadvantage-indicators';
const path = (file: string) => `la-housing/${MDI}/${file}`;
const TEMPLATE = 'IF(Sheet2!B4="","",Sheet2!B4)';

describe('rows of formulas that show nothing', () => {
  let h: ImportHarness;
  beforeEach(async () => {
    h = await createImportHarness();
  });
  afterEach(async () => {
    await h?.close();
  });

  it("Excel's template rows below the data are skipped as blank rows, keeping the rows' numbers", async () => {
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet('Extract');
    sheet.addRow(['firstName', 'lastName', 'dateOfBirth']);
    for (let i = 0; i < 60; i++) sheet.addRow([`Eve${i}`, 'Brown', '2011-02-10']); // rows 2–61
    const blank = { formula: TEMPLATE, result: '' };
    // A value beside a formula showing nothing is no blank row: the formula is reported.
    sheet.addRow(['Zed', blank, '2011-02-10']); // row 62
    // A formula whose cached result shows something, 0 too, is still refused, and the row is no blank one.
    sheet.addRow([{ formula: 'Sheet2!C4*0', result: 0 }, blank, blank]); // row 63
    // Excel's template rows: a cached empty string (t="str", <v></v>), no cached value, a shared formula.
    // exceljs writes a shared formula from these, though its types know only `formula`.
    const sharedMaster = {
      formula: TEMPLATE,
      result: '',
      shareType: 'shared',
      ref: 'C64:C103',
    } as ExcelJS.CellFormulaValue;
    for (let r = 64; r < 104; r++) {
      sheet.getCell(`A${r}`).value = blank;
      sheet.getCell(`B${r}`).value = { formula: TEMPLATE };
      sheet.getCell(`C${r}`).value = r === 64 ? sharedMaster : { sharedFormula: 'C64', result: '' };
    }
    // After the template rows, rows keep the numbers the partner sees.
    sheet.addRow(['Fay', 'Green', '2012-03-04']); // row 104
    sheet.addRow(['Gus', 'Hall', 'not a date']); // row 105
    const outcome = await h.importFile(path('template.xlsx'), Buffer.from(await book.xlsx.writeBuffer()));
    expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 61, rejected: 3 });
    const report = await h.report('processed', path('template.xlsx'));
    expect(report?.rowErrors.map(({ row, column, reason }) => ({ row, column, reason }))).toEqual([
      { row: 62, column: 'lastName', reason: 'formula-cell' },
      { row: 63, column: 'firstName', reason: 'formula-cell' },
      { row: 63, column: 'lastName', reason: 'formula-cell' },
      { row: 63, column: 'dateOfBirth', reason: 'formula-cell' },
      { row: 105, column: 'dateOfBirth', reason: 'date-format' },
    ]);
  });

  it("openpyxl's template rows (a formula and an empty <v/>) above the header and below the data are blank rows", async () => {
    // openpyxl, and pandas through it, write a formula cell untyped with an empty value: read as
    // a number cell, whose empty value was unreadable.
    const blank = (r: number) =>
      `<row r="${r}">${['A', 'B', 'C'].map((c) => `<c r="${c}${r}"><f>${TEMPLATE.replaceAll('"', '&quot;')}</f><v/></c>`).join('')}</row>`;
    const cells = (r: number, values: readonly string[]) =>
      `<row r="${r}">${values.map((v, i) => `<c r="${'ABC'[i]}${r}" t="inlineStr"><is><t>${v}</t></is></c>`).join('')}</row>`;
    const rows = [blank(1), cells(2, ['firstName', 'lastName', 'dateOfBirth'])];
    for (let r = 3; r < 63; r++) rows.push(cells(r, [`Eve${r}`, 'Brown', '2011-02-10']));
    // Formulas whose cached results show something, beside ones showing nothing: 0, and an error.
    rows.push(
      blank(63).replace('<v/>', '<v>0</v>'),
      blank(64).replace('<c r="A64">', '<c r="A64" t="e">').replace('<v/>', '<v>#N/A</v>'),
    );
    for (let r = 65; r < 85; r++) rows.push(blank(r));
    const sheet =
      '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' +
      `<sheetData>${rows.join('')}</sheetData></worksheet>`;
    const file = await buildZip(workbookSources(() => [Buffer.from(sheet, 'utf8')]));
    const outcome = await h.importFile(path('openpyxl.xlsx'), file);
    expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 60, rejected: 2 });
    const report = await h.report('processed', path('openpyxl.xlsx'));
    expect(report?.rowErrors.map(({ row, reason }) => ({ row, reason }))).toEqual(
      [63, 64].flatMap((row) => Array.from({ length: 3 }, () => ({ row, reason: 'formula-cell' }))),
    );
  });

  it('template rows of formulas typed boolean (t="b") with an empty <v/> below the data are blank rows', async () => {
    // A flag column's template formula, `=IF(Sheet2!B4="","",Sheet2!B4="Y")`, typed boolean and
    // showing nothing: its empty value was read as an unreadable boolean and the formula as one
    // showing something, each such row a bad row (`formula-cell`) and the file refused.
    const formula = (r: number, c: string, v: string) =>
      `<c r="${c}${r}" t="b"><f>${TEMPLATE.replaceAll('"', '&quot;')}</f>${v}</c>`;
    const blank = (r: number) => `<row r="${r}">${['A', 'B', 'C'].map((c) => formula(r, c, '<v/>')).join('')}</row>`;
    const cells = (r: number, values: readonly string[]) =>
      `<row r="${r}">${values.map((v, i) => `<c r="${'ABC'[i]}${r}" t="inlineStr"><is><t>${v}</t></is></c>`).join('')}</row>`;
    const rows = [cells(1, ['firstName', 'lastName', 'dateOfBirth'])];
    for (let r = 2; r < 62; r++) rows.push(cells(r, [`Eve${r}`, 'Brown', '2011-02-10']));
    // One showing TRUE is still a formula, refused, beside ones showing nothing.
    rows.push(
      `<row r="62">${formula(62, 'A', '<v>1</v>')}${formula(62, 'B', '<v/>')}${formula(62, 'C', '<v/>')}</row>`,
    );
    for (let r = 63; r < 83; r++) rows.push(blank(r));
    const sheet =
      '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' +
      `<sheetData>${rows.join('')}</sheetData></worksheet>`;
    const file = await buildZip(workbookSources(() => [Buffer.from(sheet, 'utf8')]));
    const outcome = await h.importFile(path('boolean-template.xlsx'), file);
    expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 60, rejected: 1 });
    const report = await h.report('processed', path('boolean-template.xlsx'));
    expect(report?.rowErrors.map(({ row, reason }) => ({ row, reason }))).toEqual(
      Array.from({ length: 3 }, () => ({ row: 62, reason: 'formula-cell' })),
    );
  });
});
