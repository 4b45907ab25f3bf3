import ExcelJS from 'exceljs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createImportHarness, storedRecords, type ImportHarness } from './import-harness.js';
import { buildZip, sourcesOf, type ZipSource } from './zip-builder.js';

/**
 * OOXML names a workbook's worksheet by the target its relationships give, so a writer may store
 * it as xl/worksheets/Data.xml. exceljs's streaming reader reads only parts named
 * xl/worksheets/sheetN.xml, and such a workbook was refused as `xlsx-no-sheet` (found by a
 * review), telling a partner whose workbook plainly has a sheet that it has none. It is refused
 * with a reason that says what to mend; and a second worksheet stored so beside a sheet1.xml, which
 * the reader skipped while loading the first, is refused as one of several sheets.
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

/** Renames the part `from` to `to`, and its name in the workbook's relationships and content types with it. */
function renamed(sources: readonly ZipSource[], from: string, to: string): ZipSource[] {
  const rewrite = (s: ZipSource): ZipSource => {
    const text = Buffer.concat([...s.content()]).toString('utf8');
    const out = text
      .replaceAll(`/${from}`, `/${to}`)
      .replaceAll(`"${from.replace(/^xl\//, '')}"`, `"${to.replace(/^xl\//, '')}"`);
    return { name: s.name, content: () => [Buffer.from(out, 'utf8')] };
  };
  return sources.map((s) => {
    if (s.name === from) return { ...s, name: to };
    if (s.name === 'xl/_rels/workbook.xml.rels' || s.name === '[Content_Types].xml') return rewrite(s);
    return s;
  });
}

describe('a worksheet stored under a part name other than sheetN.xml', () => {
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

  it('is refused as xlsx-sheet-part-name, not as a workbook without a sheet', async () => {
    const parts = renamed(await workbook(1), 'xl/worksheets/sheet1.xml', 'xl/worksheets/Data.xml');
    const rels = Buffer.concat([...parts.find((p) => p.name === 'xl/_rels/workbook.xml.rels')!.content()]).toString();
    expect(rels).toContain('Target="worksheets/Data.xml"');
    const outcome = await h.importFile(blob('data.xlsx'), await buildZip(parts));
    expect(outcome).toMatchObject({ outcome: 'rejected', reasons: ['xlsx-sheet-part-name'] });
    expect((await h.report('rejected', blob('data.xlsx')))?.fileErrors).toEqual([{ reason: 'xlsx-sheet-part-name' }]);
  });

  it('refuses a second worksheet stored so beside sheet1.xml as several sheets, not load the first alone', async () => {
    const parts = renamed(await workbook(2), 'xl/worksheets/sheet2.xml', 'xl/worksheets/Second.xml');
    const outcome = await h.importFile(blob('two.xlsx'), await buildZip(parts));
    expect(outcome).toMatchObject({ outcome: 'rejected', reasons: ['xlsx-multiple-sheets'] });
    expect(await storedRecords(h.store, 'la-housing', MDI)).toEqual([]);
  });
});
