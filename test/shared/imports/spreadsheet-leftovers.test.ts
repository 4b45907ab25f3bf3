import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImportHarness, storedRecords, type ImportHarness } from './import-harness.js';

/**
 * What a spreadsheet leaves in an extract saved from it, which says nothing and must not cost
 * the partner the file: a formatted but empty row above the header (saved as CSV, a line of bare
 * delimiters), and a formatted empty column to the right (a trailing delimiter on every line).
 */

const MDI = 'multiple-disadvantage-indicators';
const HEADER = 'firstName,lastName,dateOfBirth,inTemporaryAccommodation';
const ROWS = ['Ann,Smith,2010-01-01,Y', 'Ben,Jones,2011-02-02,N'];

describe.each([
  ['on the import thread', Number.POSITIVE_INFINITY],
  ['on the row worker', 0],
])('spreadsheet leftovers, rows prepared %s', (_where, rowWorkerMinBytes) => {
  let h: ImportHarness;
  beforeAll(async () => {
    h = await createImportHarness({ rowWorkerMinBytes });
  });
  afterAll(async () => {
    await h?.close();
  });
  const namesOf = async () => (await storedRecords(h.store, 'la-housing', MDI)).map((r) => String(r.given_name)).sort();

  it('skips blank lines of bare delimiters above the header, numbering rows as the spreadsheet does', async () => {
    const file = [',,,', ',,,', HEADER, ROWS[0], 'Cy,Brown,not-a-date,Y', ROWS[1]].join('\r\n');
    const outcome = await h.importFile(`la-housing/${MDI}/leading-blank.csv`, Buffer.from(file), undefined, {
      maxBadRowShare: 0.5,
    });
    expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 2, rejected: 1 });
    expect(await namesOf()).toEqual(['ANN', 'BEN']);
    // The bad row is the fifth line of the file, as the spreadsheet shows it.
    const report = await h.report('processed', `la-housing/${MDI}/leading-blank.csv`);
    expect(report?.rowErrors).toEqual([{ row: 5, column: 'dateOfBirth', reason: 'date-format' }]);
  });

  it('skips lines of nothing but spaces or tabs as blank lines, keeping the line numbers of the file', async () => {
    // A hand-edited file, or one whose export pads empty lines: such a line says nothing, as a
    // blank line does, and must not be counted (or reported) as a bad row of one cell.
    const file = ['   ', HEADER, ROWS[0], ' \t ', 'Cy,Brown,not-a-date,Y', '\t', ROWS[1], '  '].join('\n');
    const outcome = await h.importFile(`la-housing/${MDI}/whitespace-lines.csv`, Buffer.from(file), undefined, {
      maxBadRowShare: 0.5,
    });
    expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 2, rejected: 1 });
    expect(await namesOf()).toEqual(['ANN', 'BEN']);
    const report = await h.report('processed', `la-housing/${MDI}/whitespace-lines.csv`);
    expect(report?.rowErrors).toEqual([{ row: 5, column: 'dateOfBirth', reason: 'date-format' }]);
  });

  it('loads a file with a trailing delimiter on every line, and refuses a value under no column name', async () => {
    const trailing = [`${HEADER},,`, `${ROWS[0]},,`, `${ROWS[1]},,`, 'Cy,Brown,2012-03-03,Y,,LEFT-OVER'].join('\n');
    const outcome = await h.importFile(`la-housing/${MDI}/trailing.csv`, Buffer.from(trailing), undefined, {
      maxBadRowShare: 0.5,
    });
    expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 2, rejected: 1 });
    expect(await namesOf()).toEqual(['ANN', 'BEN']);
    const report = await h.report('processed', `la-housing/${MDI}/trailing.csv`);
    expect(report?.rowErrors).toEqual([{ row: 4, reason: 'column-count' }]);
    expect(JSON.stringify(report)).not.toContain('LEFT-OVER');
  });

  it('loads a file with a leading delimiter on every line, and refuses a value under the empty first column', async () => {
    // An export whose column A was left empty: the values load under their own names, and a
    // value in the empty column is a value under no name, reported by row and never echoed.
    const leading = [`,${HEADER}`, `,${ROWS[0]}`, ` ,${ROWS[1]}`, 'LEFT-OVER,Cy,Brown,2012-03-03,Y'].join('\n');
    const outcome = await h.importFile(`la-housing/${MDI}/leading.csv`, Buffer.from(leading), undefined, {
      maxBadRowShare: 0.5,
    });
    expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 2, rejected: 1 });
    const stored = await storedRecords(h.store, 'la-housing', MDI);
    expect(stored.map((r) => [r.row_number, r.given_name, r.family_name, r.date_of_birth])).toEqual([
      [2, 'ANN', 'SMITH', '2010-01-01'],
      [3, 'BEN', 'JONES', '2011-02-02'],
    ]);
    expect(stored.map((r) => r.attributes.inTemporaryAccommodation)).toEqual([true, false]);
    const report = await h.report('processed', `la-housing/${MDI}/leading.csv`);
    expect(report?.rowErrors).toEqual([{ row: 4, reason: 'column-count' }]);
    expect(JSON.stringify(report)).not.toContain('LEFT-OVER');
  });

  it('still refuses an empty column name between named ones', async () => {
    const file = ['firstName,,lastName,dateOfBirth', 'Ann,,Smith,2010-01-01'].join('\n');
    const outcome = await h.importFile(`la-housing/${MDI}/gap.csv`, Buffer.from(file));
    expect(outcome).toMatchObject({ outcome: 'rejected', reasons: ['empty-column-name'] });
  });
});

describe('spreadsheet leftovers in a workbook', () => {
  let h: ImportHarness;
  beforeAll(async () => {
    h = await createImportHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('loads a sheet whose table starts in column B, and refuses a value in the empty column A', async () => {
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet('Extract');
    const inColumnB = (row: number, values: string[]) =>
      values.forEach((v, i) => (sheet.getRow(row).getCell(2 + i).value = v));
    inColumnB(1, HEADER.split(','));
    ROWS.forEach((row, i) => inColumnB(2 + i, row.split(',')));
    inColumnB(4, ['Cy', 'Brown', '2012-03-03', 'Y']);
    sheet.getCell('A4').value = 'LEFT-OVER';
    // A cell the reader refuses is reported under its own column, counted from the first name.
    inColumnB(5, ['Di', 'Green', '2013-04-04', 'N']);
    sheet.getCell('D5').value = { formula: 'TODAY()', result: new Date('2013-04-04') };
    const file = Buffer.from(await book.xlsx.writeBuffer());
    const outcome = await h.importFile(`la-housing/${MDI}/column-b.xlsx`, file, undefined, { maxBadRowShare: 0.5 });
    expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 2, rejected: 2 });
    const stored = await storedRecords(h.store, 'la-housing', MDI);
    expect(stored.map((r) => [r.row_number, r.given_name, r.family_name, r.date_of_birth])).toEqual([
      [2, 'ANN', 'SMITH', '2010-01-01'],
      [3, 'BEN', 'JONES', '2011-02-02'],
    ]);
    expect(stored.map((r) => r.attributes.inTemporaryAccommodation)).toEqual([true, false]);
    const report = await h.report('processed', `la-housing/${MDI}/column-b.xlsx`);
    expect(report?.rowErrors).toEqual([
      { row: 4, reason: 'column-count' },
      { row: 5, column: 'dateOfBirth', reason: 'formula-cell' },
    ]);
    expect(JSON.stringify(report)).not.toContain('LEFT-OVER');
  });

  it('skips a formatted empty row above the header', async () => {
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet('Extract');
    sheet.getRow(1).font = { bold: true };
    sheet.getRow(1).getCell(1).numFmt = '@';
    sheet.getRow(2).values = HEADER.split(',');
    ROWS.forEach((row, i) => (sheet.getRow(3 + i).values = row.split(',')));
    const file = Buffer.from(await book.xlsx.writeBuffer());
    const outcome = await h.importFile(`la-housing/${MDI}/leading-blank.xlsx`, file);
    expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 2 });
  });
});
