import ExcelJS from 'exceljs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createImportHarness, type ImportHarness } from './import-harness.js';

/**
 * README (header): "empty cells after the last name (a trailing delimiter on every line) are
 * allowed, and a row's cells there must be empty too, else the row is `column-count`"; and
 * RowPlan.unnamedTrailing: "a value under no column name is neither stored nor dropped unseen".
 * A cell the reader blanked because of a cell problem (value-too-long, formula-cell) was taken for
 * an empty one: the row loaded and the value was dropped with no row error (found by a review).
 */
const MDI = 'multiple-disadvantage-indicators';
const path = (file: string) => `la-housing/${MDI}/${file}`;

describe('a non-empty cell under no column name', () => {
  let h: ImportHarness;
  beforeEach(async () => {
    h = await createImportHarness();
  });
  afterEach(async () => {
    await h?.close();
  });

  it('CSV: an over-long value after a trailing-delimiter header is reported, not dropped unseen', async () => {
    const good = Array.from({ length: 30 }, (_, i) => `Ann${i},Smith,1980-01-01,`);
    const bad = `Bob,Jones,1980-01-01,${'X'.repeat(70_000)}`; // row 32
    const outcome = await h.importFile(path('t.csv'), ['firstName,lastName,dateOfBirth,', ...good, bad].join('\n'));
    expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 30, rejected: 1 });
    const report = await h.report('processed', path('t.csv'));
    expect(report?.rowErrors.map((e) => e.row)).toEqual([32]);
  });

  it('XLSX: a formula cell to the right of the header is reported, not dropped unseen', async () => {
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet('Extract');
    sheet.addRow(['firstName', 'lastName', 'dateOfBirth']);
    for (let i = 0; i < 30; i++) sheet.addRow([`Eve${i}`, 'Brown', '2011-02-10']);
    sheet.getCell('D5').value = { formula: 'HYPERLINK("http://example.invalid","x")', result: 'x' };
    const outcome = await h.importFile(path('f.xlsx'), Buffer.from(await book.xlsx.writeBuffer()));
    expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 29, rejected: 1 });
    const report = await h.report('processed', path('f.xlsx'));
    expect(report?.rowErrors.map((e) => e.row)).toEqual([5]);
  });

  it('CSV and XLSX: white space alone under no column name is an empty cell, as under a named one', async () => {
    // Exports that pad every cell to a width leave spaces after a trailing delimiter; a cell of
    // white space under a named column is empty (field-codecs.ts trims), and so is a blank row of it.
    const padded = Array.from({ length: 30 }, (_, i) => `Ann${i} ,Smith ,1980-01-01 ,  `);
    const csv = await h.importFile(path('p.csv'), ['firstName,lastName,dateOfBirth,', ...padded].join('\r\n'));
    expect(csv).toMatchObject({ outcome: 'loaded', loaded: 30, rejected: 0 });
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet('Extract');
    sheet.addRow(['firstName', 'lastName', 'dateOfBirth']);
    for (let i = 0; i < 30; i++) sheet.addRow([`Eve${i}`, 'Brown', '2011-02-10', ' ']);
    const xlsx = await h.importFile(path('p.xlsx'), Buffer.from(await book.xlsx.writeBuffer()));
    expect(xlsx).toMatchObject({ outcome: 'loaded', loaded: 30, rejected: 0 });
  });
});
