import ExcelJS from 'exceljs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createImportHarness, storedRecords, type ImportHarness } from './import-harness.js';
import { buildZip, sourcesOf, type ZipSource } from './zip-builder.js';

/**
 * OOXML names a workbook's worksheet by the target its relationships give, so a writer may store
 * it as xl/worksheets/Data.xml, or outside xl/worksheets/ altogether. exceljs's streaming reader
 * reads only parts named xl/worksheets/sheetN.xml, and such a workbook was refused, first as
 * `xlsx-no-sheet` and then as `xlsx-sheet-part-name`: a partner whose tool names its parts
 * otherwise had a valid workbook refused, and was told to save it again from Excel. The worksheet
 * is found as OOXML finds it, through xl/workbook.xml and its relationships, and read like any
 * other; a second worksheet, however its part is named, is refused as one of several sheets.
 */
const MDI = 'multiple-disadvantage-indicators';
const blob = (file: string) => `la-housing/${MDI}/${file}`;

async function workbook(sheets: number): Promise<ZipSource[]> {
  const book = new ExcelJS.Workbook();
  for (let s = 1; s <= sheets; s++) {
    const sheet = book.addWorksheet(`Extract${s}`);
    sheet.addRow(['firstName', 'lastName', 'dateOfBirth']);
    for (let i = 0; i < 20; i++) sheet.addRow([`Ann${i}`, 'Smith', '1980-01-01']);
  }
  return sourcesOf(Buffer.from(await book.xlsx.writeBuffer()));
}

/**
 * Moves the part `from` to `to`, and its name in the workbook's relationships (as `target`, by
 * default relative to xl/) and content types with it.
 */
function renamed(
  sources: readonly ZipSource[],
  from: string,
  to: string,
  target = to.replace(/^xl\//, ''),
): ZipSource[] {
  const rewrite = (s: ZipSource): ZipSource => {
    const text = Buffer.concat([...s.content()]).toString('utf8');
    const out = text.replaceAll(`/${from}`, `/${to}`).replaceAll(`"${from.replace(/^xl\//, '')}"`, `"${target}"`);
    return { name: s.name, content: () => [Buffer.from(out, 'utf8')] };
  };
  return sources.map((s) => {
    if (s.name === from) return { ...s, name: to };
    if (s.name === 'xl/_rels/workbook.xml.rels' || s.name === '[Content_Types].xml') return rewrite(s);
    return s;
  });
}

const text = (parts: readonly ZipSource[], name: string) =>
  Buffer.concat([...parts.find((p) => p.name === name)!.content()]).toString();

describe('a worksheet stored under a part name other than xl/worksheets/sheetN.xml', () => {
  let h: ImportHarness;
  beforeEach(async () => {
    h = await createImportHarness();
  });
  afterEach(async () => {
    await h?.close();
  });

  it('loads as before when the worksheet is sheet1.xml', async () => {
    const outcome = await h.importFile(blob('plain.xlsx'), await buildZip(await workbook(1)));
    expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 20 });
  });

  it('loads a worksheet stored as xl/worksheets/Data.xml as any other', async () => {
    const parts = renamed(await workbook(1), 'xl/worksheets/sheet1.xml', 'xl/worksheets/Data.xml');
    expect(text(parts, 'xl/_rels/workbook.xml.rels')).toContain('Target="worksheets/Data.xml"');
    const outcome = await h.importFile(blob('data.xlsx'), await buildZip(parts));
    expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 20 });
    expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(20);
  });

  it('loads a worksheet stored outside xl/worksheets/, named by an absolute target', async () => {
    const parts = renamed(await workbook(1), 'xl/worksheets/sheet1.xml', 'extract/rows.xml', '/extract/rows.xml');
    expect(text(parts, 'xl/_rels/workbook.xml.rels')).toContain('Target="/extract/rows.xml"');
    const outcome = await h.importFile(blob('outside.xlsx'), await buildZip(parts));
    expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 20 });
    expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(20);
  });

  it('refuses a workbook whose relationships name a worksheet part it does not hold as unreadable', async () => {
    const parts = renamed(
      await workbook(1),
      'xl/worksheets/sheet1.xml',
      'xl/worksheets/Data.xml',
      'worksheets/Gone.xml',
    );
    const outcome = await h.importFile(blob('gone.xlsx'), await buildZip(parts));
    expect(outcome).toMatchObject({ outcome: 'rejected', reasons: ['xlsx-unreadable'] });
  });

  it('refuses a second worksheet stored so beside sheet1.xml as several sheets, not load the first alone', async () => {
    const parts = renamed(await workbook(2), 'xl/worksheets/sheet2.xml', 'xl/worksheets/Second.xml');
    const outcome = await h.importFile(blob('two.xlsx'), await buildZip(parts));
    expect(outcome).toMatchObject({ outcome: 'rejected', reasons: ['xlsx-multiple-sheets'] });
    expect(await storedRecords(h.store, 'la-housing', MDI)).toEqual([]);
  });
});
