import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Field } from '../../../shared/agreements/schema.js';
import { excelJsFile } from '../../../shared/imports/exceljs-modules.js';
import { codecFor } from '../../../shared/imports/field-codecs.js';
import type { ExtractRecord } from '../../../shared/imports/extract-records.js';
import { useTempDirForThisThread, xlsxRecords } from '../../../shared/imports/xlsx-records.js';
import { DEFAULT_ZIP_LIMITS, readZipDirectory } from '../../../shared/imports/zip-directory.js';
import { CellReferenceFiller } from '../../../shared/imports/cell-references.js';
import { PhoneticRunFilter } from '../../../shared/imports/phonetic-runs.js';
import { PrefixedSpreadsheetMlScan, WorksheetScan } from '../../../shared/imports/worksheet-scan.js';
import { buildZip, type ZipSource, sheetOf } from './zip-builder.js';

/**
 * Cells of workbooks as Excel and LibreOffice write them, read through the real reader (zip
 * directory, then xlsxRecords), compared with what the partner sees in the spreadsheet.
 */

const NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"';
const text = (s: string) => () => [Buffer.from(s, 'utf8')];

function parts(opts: { sheet: string; shared?: string; styles?: string; workbookPr?: string }): ZipSource[] {
  const out: ZipSource[] = [
    {
      name: '[Content_Types].xml',
      content: text(
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
          '<Default Extension="xml" ContentType="application/xml"/></Types>',
      ),
    },
    {
      name: '_rels/.rels',
      content: text(
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
          '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>' +
          '</Relationships>',
      ),
    },
    {
      name: 'xl/workbook.xml',
      content: text(
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">' +
          (opts.workbookPr ?? '') +
          '<sheets><sheet name="Extract" sheetId="1" r:id="rId1"/></sheets></workbook>',
      ),
    },
    {
      name: 'xl/_rels/workbook.xml.rels',
      content: text(
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
          '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>' +
          '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>' +
          '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>' +
          '</Relationships>',
      ),
    },
    {
      name: 'xl/styles.xml',
      content: text(
        `<?xml version="1.0" encoding="UTF-8"?><styleSheet ${NS}>` +
          (opts.styles ??
            '<fonts count="1"><font><sz val="11"/></font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills>' +
              '<borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>' +
              '<cellXfs count="2"><xf numFmtId="0" xfId="0"/><xf numFmtId="14" xfId="0" applyNumberFormat="1"/></cellXfs>') +
          '</styleSheet>',
      ),
    },
    {
      name: 'xl/sharedStrings.xml',
      content: text(`<?xml version="1.0" encoding="UTF-8"?><sst ${NS}>${opts.shared ?? ''}</sst>`),
    },
    {
      name: 'xl/worksheets/sheet1.xml',
      content: text(
        `<?xml version="1.0" encoding="UTF-8"?><worksheet ${NS}><sheetData>${opts.sheet}</sheetData></worksheet>`,
      ),
    },
  ];
  return out;
}

async function read(file: Buffer): Promise<ExtractRecord[]> {
  const entries = await readZipDirectory(async (offset, length) => file.subarray(offset, offset + length), file.length);
  const out: ExtractRecord[] = [];
  for await (const batch of xlsxRecords(Readable.from([file]), {
    entries,
    zipLimits: DEFAULT_ZIP_LIMITS,
    worksheet: sheetOf(entries),
  })) {
    out.push(...batch);
  }
  return out;
}

/**
 * What each format shows a number as, read through the real reader: one cell per format, each
 * with its own custom number format (ids from 164, as Excel numbers them), in `hoursWorked`.
 */
async function shownInFormats(
  cells: readonly (readonly [format: string, value: string])[],
  workbookPr?: string,
): Promise<string[]> {
  const xml = (s: string) =>
    s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const styles =
    `<numFmts count="${cells.length}">` +
    cells.map(([format], i) => `<numFmt numFmtId="${164 + i}" formatCode="${xml(format)}"/>`).join('') +
    '</numFmts>' +
    '<fonts count="1"><font><sz val="11"/></font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills>' +
    '<borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>' +
    `<cellXfs count="${cells.length + 1}"><xf numFmtId="0" xfId="0"/>` +
    cells.map((_, i) => `<xf numFmtId="${164 + i}" xfId="0" applyNumberFormat="1"/>`).join('') +
    '</cellXfs>';
  const sheet =
    '<row r="1"><c r="A1" t="s"><v>0</v></c></row>' +
    cells.map(([, v], i) => `<row r="${i + 2}"><c r="A${i + 2}" s="${i + 1}"><v>${v}</v></c></row>`).join('');
  const records = await read(
    await buildZip(parts({ styles, workbookPr, shared: '<si><t>hoursWorked</t></si>', sheet })),
  );
  return records.slice(1).map((r) => r.cellProblems?.[0]?.reason ?? r.cells[0] ?? '');
}

describe('XLSX cells read as the partner sees them', () => {
  beforeAll(() => {
    useTempDirForThisThread(mkdtempSync(join(tmpdir(), 'rev-formats-xlsx-')));
  });

  it('reads a shared string with a phonetic (furigana) run as its text, not as its reading', async () => {
    // Excel with a Japanese IME stores the reading of a name beside it in <rPh>; Excel shows 山田.
    const file = await buildZip(
      parts({
        shared:
          '<si><t>lastName</t></si>' +
          '<si><t>山田</t><rPh sb="0" eb="2"><t>ヤマダ</t></rPh><phoneticPr fontId="1" type="noConversion"/></si>',
        sheet: `<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>`,
      }),
    );
    const records = await read(file);
    expect(records.map((r) => r.cells)).toEqual([['lastName'], ['山田']]);
  });

  it('reads the shared strings after a phonetic run whose attribute value holds `>` as they are', async () => {
    // XML lets an attribute's value hold `>` as it is. The phonetic filter ended the run's tag
    // there, took the empty run for an open one and dropped every string up to the next
    // `</rPh>`: the cells that named them loaded empty, or another row's string.
    const file = await buildZip(
      parts({
        shared:
          '<si><t>lastName</t></si>' +
          '<si><t>山田</t><rPh sb="0" eb="2" alias="a>b"/></si>' +
          '<si><t>Example</t></si>' +
          '<si><t>田中</t><rPh sb="0" eb="2"><t>タナカ</t></rPh></si>' +
          '<si><t>Sample</t></si>',
        sheet:
          '<row r="1"><c r="A1" t="s"><v>0</v></c></row>' +
          [1, 2, 3, 4].map((n) => `<row r="${n + 1}"><c r="A${n + 1}" t="s"><v>${n}</v></c></row>`).join(''),
      }),
    );
    expect((await read(file)).map((r) => r.cells)).toEqual([['lastName'], ['山田'], ['Example'], ['田中'], ['Sample']]);
  });

  it('reads a shared string whose CDATA text holds `<rPh>` as that text, not as a phonetic run', async () => {
    // The phonetic runs are taken out of the shared strings by their bytes, which took `<rPh>`
    // written in CDATA, where `<` is not escaped, for a run: a<rPh>b</rPh>c loaded as ac.
    const file = await buildZip(
      parts({
        shared: '<si><t>note</t></si><si><t><![CDATA[a<rPh>b</rPh>c]]></t></si>',
        sheet: `<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>`,
      }),
    );
    expect((await read(file)).map((r) => r.cells)).toEqual([['note'], ['a<rPh>b</rPh>c']]);
  });

  it('decodes the _xHHHH_ escape Excel writes for a carriage return in a shared string', async () => {
    // An address cell holding a CRLF line break: Excel writes the CR as _x000D_ (ECMA-376 ST_Xstring).
    const file = await buildZip(
      parts({
        shared: '<si><t>homeAddress</t></si><si><t>1 High Street_x000D_\nKettering</t></si>',
        sheet: `<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>`,
      }),
    );
    const records = await read(file);
    expect(records.map((r) => r.cells)).toEqual([['homeAddress'], ['1 High Street\r\nKettering']]);
  });

  it('reads a LibreOffice boolean (a number with its "TRUE";"TRUE";"FALSE" format) as Excel shows it, TRUE/FALSE', async () => {
    // LibreOffice Calc saves a TRUE/FALSE cell as 1/0 with this number format; Excel shows TRUE.
    const styles =
      '<numFmts count="1"><numFmt numFmtId="164" formatCode="&quot;TRUE&quot;;&quot;TRUE&quot;;&quot;FALSE&quot;"/></numFmts>' +
      '<fonts count="1"><font><sz val="11"/></font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills>' +
      '<borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>' +
      '<cellXfs count="2"><xf numFmtId="0" xfId="0"/><xf numFmtId="164" xfId="0" applyNumberFormat="1"/></cellXfs>';
    const file = await buildZip(
      parts({
        styles,
        shared: '<si><t>inRentArrears</t></si>',
        sheet:
          '<row r="1"><c r="A1" t="s"><v>0</v></c></row>' +
          '<row r="2"><c r="A2" s="1"><v>1</v></c></row><row r="3"><c r="A3" s="1"><v>0</v></c></row>',
      }),
    );
    const records = await read(file);
    const cells = records.map((r) => r.cells);
    // The flag codec refuses what the reader gives: every row of a LibreOffice workbook is `flag-value`.
    const flag = codecFor({ name: 'inRentArrears', type: 'flag', required: false } as Field);
    expect(cells.slice(1).map(([c]) => flag(c ?? ''))).toEqual([
      { ok: true, value: true },
      { ok: true, value: false },
    ]);
    expect(cells).toEqual([['inRentArrears'], ['TRUE'], ['FALSE']]);
  });

  it('reads a boolean cell written true/false as Excel’s 1/0 are, and any other value as a bad cell, not TRUE', async () => {
    // Excel writes 1 and 0; some writers write xsd:boolean's other spelling, true and false.
    const values = ['1', '0', 'true', 'false', ' false ', 'FALSE', 'yes', '2', ''];
    const sheet =
      '<row r="1"><c r="A1" t="s"><v>0</v></c></row>' +
      values.map((v, i) => `<row r="${i + 2}"><c r="A${i + 2}" t="b"><v>${v}</v></c></row>`).join('');
    const records = await read(await buildZip(parts({ sheet, shared: '<si><t>inRentArrears</t></si>' })));
    const bad = { cells: [''], cellProblems: [{ index: 0, reason: 'cell-unreadable' }] };
    expect(records.map(({ cells, cellProblems }) => ({ cells, cellProblems }))).toEqual([
      { cells: ['inRentArrears'], cellProblems: undefined },
      ...['TRUE', 'FALSE', 'TRUE', 'FALSE', 'FALSE'].map((shown) => ({ cells: [shown], cellProblems: undefined })),
      bad,
      bad,
      bad,
      bad,
    ]);
  });

  it('reads a boolean cell holding inline text by the boolean rules, its bad values as cell-unreadable, not cell-error', async () => {
    // exceljs takes an inline string's <t> for the cell's value whatever its type. A boolean cell's
    // text read as an error Excel shows (#N/A), whatever it held: `cell-error`, even for 1.
    const values = ['1', '0', 'true', ' false ', 'yes', 'TRUE', ''];
    const sheet =
      '<row r="1"><c r="A1" t="s"><v>0</v></c></row>' +
      values.map((v, i) => `<row r="${i + 2}"><c r="A${i + 2}" t="b"><is><t>${v}</t></is></c></row>`).join('');
    const records = await read(await buildZip(parts({ sheet, shared: '<si><t>inRentArrears</t></si>' })));
    expect(records.slice(1).map((r) => r.cellProblems?.[0]?.reason ?? r.cells[0])).toEqual([
      'TRUE',
      'FALSE',
      'TRUE',
      'FALSE',
      'cell-unreadable',
      'cell-unreadable',
      'cell-unreadable',
    ]);
  });

  it('reads a number cell only if its value is a number as XML Schema writes one, and any other as a bad cell, not its first digits', async () => {
    // exceljs took what parseFloat makes of the value: 12abc read as 12, 1,5 (a decimal comma) as 1.
    const good: [string, string][] = [
      ['12', '12'],
      ['-1.5', '-1.5'],
      ['+3', '3'],
      ['.5', '0.5'],
      ['1.', '1'],
      ['1e3', '1000'],
      ['1.5E-2', '0.015'],
      [' 7 ', '7'],
    ];
    const bad = ['12abc', '1,5', '0x10', '1e', '--1', '1 2', 'INF', '-INF', 'NaN', 'Infinity', ''];
    const values = [...good.map(([v]) => v), ...bad];
    // With no type, with t="n", and with a date format (exceljs read 12abc as serial 12, 1900-01-12).
    const cellsOf = (v: string, row: number) =>
      `<c r="A${row}"><v>${v}</v></c><c r="B${row}" t="n"><v>${v}</v></c><c r="C${row}" s="1"><v>${v}</v></c>`;
    const sheet =
      '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>' +
      values.map((v, i) => `<row r="${i + 2}">${cellsOf(v, i + 2)}</row>`).join('');
    const shared = '<si><t>householdSize</t></si><si><t>weeklyRent</t></si><si><t>dateOfBirth</t></si>';
    const records = await read(await buildZip(parts({ sheet, shared })));
    // An inline string in a cell of no type, which exceljs read as a number all the same.
    const inline = '<row r="1"><c r="A1" t="inlineStr"><is><t>householdSize</t></is></c></row>';
    const strayText = (v: string) => `<row r="2"><c r="A2"><is><t>${v}</t></is></c></row>`;
    expect(
      (await read(await buildZip(parts({ sheet: inline + strayText('12abc') })))).map((r) => r.cellProblems),
    ).toEqual([undefined, [{ index: 0, reason: 'cell-unreadable' }]]);
    expect((await read(await buildZip(parts({ sheet: inline + strayText('12') })))).map((r) => r.cells)).toEqual([
      ['householdSize'],
      ['12'],
    ]);
    const unreadable = [0, 1, 2].map((index) => ({ index, reason: 'cell-unreadable' }));
    expect(records.slice(1).map(({ cells, cellProblems }, i) => ({ value: values[i], cells, cellProblems }))).toEqual([
      ...good.map(([value, shown]) =>
        // -1.5, .5 and 1.5E-2 are numbers, but no dates Excel shows: as a date, a bad cell all the same.
        ['-1.5', '.5', '1.5E-2'].includes(value)
          ? { value, cells: [shown, shown, ''], cellProblems: [{ index: 2, reason: 'cell-unreadable' }] }
          : {
              value,
              cells: [shown, shown, expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) as unknown],
              cellProblems: undefined,
            },
      ),
      ...bad.map((value) => ({ value, cells: ['', '', ''], cellProblems: unreadable })),
    ]);
  });

  it('reads a number cell beyond what a double holds (1e400) as a bad cell, not as an Excel error', async () => {
    // parseFloat makes 1e400 Infinity, which read as `cell-error`: the reason a DPO reads as an
    // error Excel shows (#DIV/0!), which this is not. Excel holds nothing beyond ±1.7976931348623157e308.
    const over = ['1e400', '-1e400', '1.8e308', ' 2E+308 '];
    // The largest double is a number; below the smallest one is 0, as XML Schema rounds it (and Excel).
    const good: [string, string][] = [
      ['1.7976931348623157e308', '1.7976931348623157e+308'],
      ['1e-400', '0'],
    ];
    const values = [...over, ...good.map(([v]) => v)];
    const cellsOf = (v: string, row: number) =>
      `<c r="A${row}"><v>${v}</v></c><c r="B${row}" t="n"><v>${v}</v></c><c r="C${row}" s="1"><v>${v}</v></c>`;
    const sheet =
      '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>' +
      values.map((v, i) => `<row r="${i + 2}">${cellsOf(v, i + 2)}</row>`).join('');
    const shared = '<si><t>householdSize</t></si><si><t>weeklyRent</t></si><si><t>dateOfBirth</t></si>';
    const records = await read(await buildZip(parts({ sheet, shared })));
    const unreadable = [0, 1, 2].map((index) => ({ index, reason: 'cell-unreadable' }));
    expect(
      records.slice(1, 1 + over.length).map(({ cells, cellProblems }, i) => ({ value: over[i], cells, cellProblems })),
    ).toEqual(over.map((value) => ({ value, cells: ['', '', ''], cellProblems: unreadable })));
    expect(records.slice(1 + over.length).map((r) => r.cells.slice(0, 2))).toEqual(
      good.map(([, shown]) => [shown, shown]),
    );
  });

  it('reads a cell of a type SpreadsheetML has not as a bad cell, not as what parseFloat makes of its value', async () => {
    // exceljs reads every cell type it does not know as a number, with parseFloat: t="x" holding
    // 12abc loaded 12, and t=" d" (no ISO date cell: a type is SpreadsheetML's only as written, as
    // t=" n" is no number cell) 2010-03-02 as 2010, or as day 2010 (1905-07-02) with a date format.
    const cells = [
      '<c r="A{r}" t="x"><v>12abc</v></c>',
      '<c r="A{r}" t="x"><v>12</v></c>',
      '<c r="A{r}" t="N"><v>5</v></c>',
      '<c r="A{r}" t=" n"><v>5</v></c>',
      '<c r="A{r}" t=" d"><v>2010-03-02T00:00:00Z</v></c>',
      '<c r="A{r}" t="d " s="1"><v>2010-03-02T00:00:00Z</v></c>',
      '<c r="A{r}" t="x"><is><t>12</t></is></c>',
    ];
    const sheet =
      '<row r="1"><c r="A1" t="s"><v>0</v></c></row>' +
      cells.map((c, i) => `<row r="${i + 2}">${c.replace('{r}', String(i + 2))}</row>`).join('') +
      // A formula cell's cached value is never read, whatever it holds: the cell is refused.
      `<row r="${cells.length + 2}"><c r="A${cells.length + 2}"><f>1+1</f><v>12abc</v></c></row>`;
    const records = await read(await buildZip(parts({ sheet, shared: '<si><t>householdSize</t></si>' })));
    const bad = { cells: [''], cellProblems: [{ index: 0, reason: 'cell-unreadable' }] };
    expect(records.slice(1).map(({ cells, cellProblems }) => ({ cells, cellProblems }))).toEqual([
      ...cells.map(() => bad),
      { cells: [''], cellProblems: [{ index: 0, reason: 'formula-cell' }] },
    ]);
  });

  it('refuses a workbook of ISO date cells as xlsx-date-cells however its t="d" is written, not as one bad cell', async () => {
    // XML allows white space around an attribute's `=` and a character reference in its value:
    // each of these is t="d", an ISO 8601 date cell, which t="d" written plainly refuses the
    // whole workbook for (save it again from Excel, or send CSV). The byte scan looks for t="d"
    // as written, and missed these: each was one `cell-unreadable` cell, the row refused and the
    // rest loaded, a date column's every row refused one by one under a reason that does not say why.
    const header = '<row r="1"><c r="A1" t="s"><v>0</v></c></row>';
    const dateCells = [
      '<c r="A2" t = "d"><v>2010-03-02T00:00:00Z</v></c>',
      '<c r="A2" s="1" t= "d"><v>2010-03-02</v></c>',
      '<c r="A2" t\n=\t\'d\'><v>2010-03-02</v></c>',
      '<c r="A2" t="&#100;"><v>2010-03-02</v></c>',
      '<c r="A2" t="&#x64;"><is><t>2010-03-02</t></is></c>',
      '<c r="A2" t = "d"/>',
    ];
    for (const cell of dateCells) {
      const file = await buildZip(
        parts({ shared: '<si><t>dateOfBirth</t></si>', sheet: `${header}<row r="2">${cell}</row>` }),
      );
      await expect(read(file), cell).rejects.toMatchObject({ reason: 'xlsx-date-cells' });
    }
    // As t="d" written plainly is, with or without white space in its value.
    const plain = '<c r="A2" t="d"><v> 2010-03-02 </v></c>';
    await expect(
      read(
        await buildZip(parts({ shared: '<si><t>dateOfBirth</t></si>', sheet: `${header}<row r="2">${plain}</row>` })),
      ),
    ).rejects.toMatchObject({ reason: 'xlsx-date-cells' });
  });

  it('refuses ISO date cells as xlsx-date-cells as the worksheet inflates when an earlier attribute value holds `>`, and reads t="d" written inside a value as no type', async () => {
    // Excel's part order: the worksheet before the shared strings, so exceljs copies it whole
    // before it parses a row, and the byte scan alone sees its cells as it inflates. The scan
    // took the quoted `>` for the tag's end and the t="d" after it for text: the workbook was
    // refused for the row before the dates instead (a shared string it does not have), and the
    // partner who mended that row was refused again for the dates.
    const excelOrder = (sheet: string) => {
      const all = parts({ shared: '<si><t>dateOfBirth</t></si>', sheet });
      return [
        ...all.filter((p) => p.name.includes('worksheets')),
        ...all.filter((p) => !p.name.includes('worksheets')),
      ];
    };
    const rows = (from: number, count: number) =>
      Array.from({ length: count }, (_, k) => `<row r="${from + k}"><c r="A${from + k}" t="s"><v>0</v></c></row>`).join(
        '',
      );
    const withDates = (cell: string) =>
      '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>7</v></c></row>' +
      rows(3, 3000) +
      `<row r="3003">${cell}</row>`;
    for (const cell of [
      '<c r="A3003" t="d"><v>2010-03-02</v></c>',
      '<c r="A3003" x="a>b" t="d"><v>2010-03-02</v></c>',
      '<c r="A3003" x=\'>\' t="d"><v>2010-03-02</v></c>',
    ]) {
      await expect(read(await buildZip(excelOrder(withDates(cell)))), cell).rejects.toMatchObject({
        reason: 'xlsx-date-cells',
      });
    }
    // t="d" inside another attribute's value is that value's text, no type: the cell is a number.
    const records = await read(
      await buildZip(
        excelOrder(
          '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" x=\'a t="d"\'><v>12</v></c></row>',
        ),
      ),
    );
    expect(records.map((r) => r.cells)).toEqual([['dateOfBirth'], ['12']]);
  });

  it('keeps the leading zeros a number format shows on an identifier cell (custom format 000000)', async () => {
    // Excel shows 000123; "Save as CSV" writes 000123; the reader gives 123.
    const styles =
      '<numFmts count="1"><numFmt numFmtId="164" formatCode="000000"/></numFmts>' +
      '<fonts count="1"><font><sz val="11"/></font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills>' +
      '<borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>' +
      '<cellXfs count="2"><xf numFmtId="0" xfId="0"/><xf numFmtId="164" xfId="0" applyNumberFormat="1"/></cellXfs>';
    const file = await buildZip(
      parts({
        styles,
        shared: '<si><t>socialCareSystemId</t></si>',
        sheet: `<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" s="1"><v>123</v></c></row>`,
      }),
    );
    const records = await read(file);
    expect(records.map((r) => r.cells)).toEqual([['socialCareSystemId'], ['000123']]);
  });

  it('keeps the leading zeros of a zero-padded format with more sections (000000;@, 000000;-000000)', async () => {
    // The positive section shows 123 as 000123 whatever the text or negative sections say.
    const formats = ['000000;@', '000000;-000000', '000000;-000000;000000;@'];
    expect(await shownInFormats(formats.map((format) => [format, '123']))).toEqual(formats.map(() => '000123'));
  });

  it('places a whole number’s digits in a format of placeholders and separators as Excel does', async () => {
    const cases: [format: string, value: string, shown: string][] = [
      ['000 000 0000', '9434765919', '943 476 5919'],
      ['0#### ######', '7700900123', '07700 900123'],
      ['(00000) 000000', '1632960001', '(01632) 960001'],
      ['00000\\ 000000', '7700900123', '07700 900123'],
      ['\\(00000\\)\\ 000\\-000', '1632960001', '(01632) 960-001'],
      ['000000;@', '123', '000123'],
      ['000', '1234567', '1234567'],
      ['0#', '0', '0'],
      ['0', '0', '0'],
      ['00000 000000', '1.5', '1.5'],
      ['#,##0', '12345', '12345'],
      ['# ##0', '12345', '12345'],
      ['### ###', '123456', '123456'],
    ];
    expect(await shownInFormats(cases.map(([format, value]) => [format, value]))).toEqual(
      cases.map(([, , shown]) => shown),
    );
  });

  it('reads date serials before 1 March 1900 as Excel shows them (its 1900 leap-year bug), not a day early', async () => {
    // Excel's serial 59 is 28/02/1900 and serial 1 is 01/01/1900 (it counts a 29/02/1900 as serial 60).
    const file = await buildZip(
      parts({
        shared: '<si><t>dateOfBirth</t></si>',
        sheet:
          '<row r="1"><c r="A1" t="s"><v>0</v></c></row>' +
          '<row r="2"><c r="A2" s="1"><v>1</v></c></row><row r="3"><c r="A3" s="1"><v>59</v></c></row>' +
          '<row r="4"><c r="A4" s="1"><v>61</v></c></row>',
      }),
    );
    const records = await read(file);
    expect(records.map((r) => r.cells)).toEqual([['dateOfBirth'], ['1900-01-01'], ['1900-02-28'], ['1900-03-01']]);
  });

  it('reads a date serial outside the dates Excel shows (before its first day, after 9999-12-31) as a bad cell', async () => {
    // Excel shows such a cell as ##### (or serial 0 as 00/01/1900); exceljs made -1 1899-12-30,
    // 3000000 a date of year 10113 ("+010113-09") and 1e300 an Invalid Date, read as `cell-error`.
    const sheet = (serials: readonly string[]) =>
      '<row r="1"><c r="A1" t="s"><v>0</v></c></row>' +
      serials.map((v, i) => `<row r="${i + 2}"><c r="A${i + 2}" s="1"><v>${v}</v></c></row>`).join('');
    const shown = async (serials: readonly string[], workbookPr?: string) =>
      (await read(await buildZip(parts({ workbookPr, shared: '<si><t>dateOfBirth</t></si>', sheet: sheet(serials) }))))
        .slice(1)
        .map((r) => r.cellProblems?.[0]?.reason ?? r.cells[0]);
    expect(await shown(['1', '2958465.5', '0', '0.5', '-1', '2958466', '3000000', '1e300'])).toEqual([
      '1900-01-01',
      '9999-12-31',
      ...Array<string>(6).fill('cell-unreadable'),
    ]);
    // In the 1904 date system serial 0 is 1904-01-01, and 9999-12-31 is serial 2957003.
    // -1402 is 1900-02-28 there, which is no phantom 29 February in the 1904 system: no date either.
    expect(await shown(['0', '2957003', '-1', '-1402', '-1462', '2957004'], '<workbookPr date1904="1"/>')).toEqual([
      '1904-01-01',
      '9999-12-31',
      ...Array<string>(4).fill('cell-unreadable'),
    ]);
  });

  it('reads a time-formatted cell as the time Excel shows, which a date column refuses as a date-format, not as a bad cell', async () => {
    // A partner's export of a time of day (12:00, serial 0.5), or of a date-time shown as its
    // time alone (15/03/2023 18:00 formatted h:mm: Excel shows 18:00, a CSV saved from it says
    // 18:00). exceljs made both Dates: 0.5 read as `cell-unreadable` (no day Excel shows) and
    // 45000.75 as 2023-03-15, a day the partner never sees in the cell.
    const styles =
      '<numFmts count="3"><numFmt numFmtId="164" formatCode="hh:mm"/><numFmt numFmtId="165" formatCode="dd/mm/yyyy hh:mm"/>' +
      '<numFmt numFmtId="166" formatCode="[$-409]h:mm:ss\\ AM/PM;@"/></numFmts>' +
      '<fonts count="1"><font><sz val="11"/></font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills>' +
      '<borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>' +
      '<cellXfs count="9"><xf numFmtId="0" xfId="0"/><xf numFmtId="14" xfId="0" applyNumberFormat="1"/>' +
      ['20', '21', '18', '46', '164', '165', '166']
        .map((id) => `<xf numFmtId="${id}" xfId="0" applyNumberFormat="1"/>`)
        .join('') +
      '</cellXfs>';
    // Styles: 1 d/m/yyyy (14), 2 h:mm (20), 3 h:mm:ss (21), 4 h:mm AM/PM (18), 5 [h]:mm:ss (46),
    // 6 hh:mm, 7 dd/mm/yyyy hh:mm, 8 h:mm:ss AM/PM in US English (as Excel's Time list writes it).
    const cells: [style: number, serial: string][] = [
      [2, '0.5'],
      [3, '0.75'],
      [4, '0.5'],
      [6, '0'],
      [8, '0.3333333333333333'],
      [2, '45000.75'],
      [6, '45000.75'],
      // Elapsed time: Excel shows the hours in all, 30:00:00 for a day and a quarter.
      [5, '1.25'],
      [5, '0.5'],
      // A date-time shown with its date reads as its day, as before; a time there shows no day.
      [1, '45000.75'],
      [7, '45000.75'],
      [7, '0.5'],
      // A negative time Excel shows as #####, as it does a negative date.
      [2, '-0.5'],
      [5, '-1.25'],
    ];
    const sheet = (workbookCells: readonly [number, string][]) =>
      '<row r="1"><c r="A1" t="s"><v>0</v></c></row>' +
      workbookCells.map(([s, v], i) => `<row r="${i + 2}"><c r="A${i + 2}" s="${s}"><v>${v}</v></c></row>`).join('');
    const shown = async (workbookCells: readonly [number, string][], workbookPr?: string) =>
      (
        await read(
          await buildZip(
            parts({ styles, workbookPr, shared: '<si><t>dateOfBirth</t></si>', sheet: sheet(workbookCells) }),
          ),
        )
      )
        .slice(1)
        .map((r) => r.cellProblems?.[0]?.reason ?? r.cells[0]);
    const read1900 = await shown(cells);
    expect(read1900).toEqual([
      '12:00:00',
      '18:00:00',
      '12:00:00',
      '00:00:00',
      '08:00:00',
      '18:00:00',
      '18:00:00',
      '30:00:00',
      '12:00:00',
      '2023-03-15',
      '2023-03-15',
      'cell-unreadable',
      'cell-unreadable',
      'cell-unreadable',
    ]);
    // A time is no date: the date column refuses it as it refuses 12:00 in a CSV, `date-format`.
    const date = codecFor({ name: 'dateOfBirth', type: 'date', required: true } as Field);
    expect(read1900.slice(0, 9).map((c) => date(c ?? ''))).toEqual(
      Array<unknown>(9).fill({ ok: false, reason: 'date-format' }),
    );
    // A time of day is the same in the 1904 date system: only the days are counted otherwise.
    expect(
      await shown(
        [
          [2, '0.5'],
          [5, '1.25'],
          [6, '40000.75'],
        ],
        '<workbookPr date1904="1"/>',
      ),
    ).toEqual(['12:00:00', '30:00:00', '18:00:00']);
  });

  it('reads the dates of a workbook in the 1904 date system however its date1904 is spelt, "1" or "true"', async () => {
    // A workbook begun in Excel for Mac counts days from 1904-01-01: serial 0 is 01/01/1904 and
    // 40000 is 07/07/2013. date1904 is an xsd:boolean; LibreOffice writes it "true", Excel "1".
    const sheet =
      '<row r="1"><c r="A1" t="s"><v>0</v></c></row>' +
      '<row r="2"><c r="A2" s="1"><v>0</v></c></row><row r="3"><c r="A3" s="1"><v>40000.75</v></c></row>';
    for (const date1904 of ['1', 'true', ' true ']) {
      const file = await buildZip(
        parts({ workbookPr: `<workbookPr date1904="${date1904}"/>`, shared: '<si><t>dateOfBirth</t></si>', sheet }),
      );
      expect(
        (await read(file)).map((r) => r.cells),
        `date1904="${date1904}"`,
      ).toEqual([['dateOfBirth'], ['1904-01-01'], ['2013-07-07']]);
    }
    for (const date1904 of ['0', 'false']) {
      const file = await buildZip(
        parts({ workbookPr: `<workbookPr date1904="${date1904}"/>`, shared: '<si><t>dateOfBirth</t></si>', sheet }),
      );
      expect((await read(file)).map((r) => r.cells[0])[2], `date1904="${date1904}"`).toBe('2009-07-06');
    }
  });

  it('reads a number whose format writes % as a literal (0.0\\%, 0.0"%") as the number, and only 0.0% as a percentage', async () => {
    // Excel shows 0.125 formatted 0.0% as 12.5%: the percentage, 12.5. A backslash or quotes make
    // the % a literal, not a scaling: 7.5 formatted 0.0\% shows 7.5% (a partner's way to mark a
    // column already in percent). exceljs took the backslashes out of every custom format as it
    // read the styles, so 0.0\% was 0.0% and 7.5 read as 750.
    const cells: [format: string, value: string, shown: string][] = [
      ['0.0%', '0.125', '12.5'],
      ['0%;[Red]\\-0%', '0.45', '45'],
      ['0.0\\%', '7.5', '7.5'],
      ['0.0"%"', '7.5', '7.5'],
      ['#,##0\\ \\%', '12', '12'],
    ];
    const shown = await shownInFormats(cells.map(([format, value]) => [format, value]));
    expect(cells.map(([format], i) => [format, shown[i]])).toEqual(cells.map(([format, , text]) => [format, text]));
  });

  it('reads a number whose format pads or fills with a % (0.0_%, 0.0*%) as the number, not as a percentage', async () => {
    // 0.0_% is how a column of numbers is lined up with a column of percentages beside it: the _
    // leaves a space as wide as the % after it, which Excel neither shows nor scales by, so 7.5
    // shows as "7.5 ". A * repeats the character after it to fill the cell, a literal too. Both
    // are literals (formatCodes) as the date codes already read them; the % test read them as a
    // percentage, and 7.5 loaded as 750.
    const cells: [format: string, value: string, shown: string][] = [
      ['0.0_%', '7.5', '7.5'],
      ['#,##0_%;[Red]\\-#,##0_%', '12', '12'],
      ['0.0*%', '7.5', '7.5'],
      // A percentage padded after its % is still the percentage.
      ['0.0%_)', '0.125', '12.5'],
      ['_(0.0%_)', '0.125', '12.5'],
    ];
    const shown = await shownInFormats(cells.map(([format, value]) => [format, value]));
    expect(cells.map(([format], i) => [format, shown[i]])).toEqual(cells.map(([format, , text]) => [format, text]));
  });

  it('reads a number whose format shows letters as literals (\\h, "hrs", _h, *s) as the number, and date formats as dates', async () => {
    // Excel shows 1.5 formatted 0.0\ \h\r\s as "1.5 hrs", a number: letters after a backslash,
    // in quotes, in brackets (a colour, a condition, a locale) or after _ and * (padding, fill)
    // are shown or skipped, not read as year, month, day, hour or second codes. exceljs took a
    // format with one of ymdhsb outside quotes and brackets for a date, so \h and _h made 1.5 a
    // Date, read as the time 12:00:00 or the day 1900-01-01.
    const cells: [format: string, value: string, shown: string][] = [
      ['0.0\\ \\h\\r\\s', '1.5', '1.5'],
      ['0.0" hrs"', '1.5', '1.5'],
      ['#,##0\\ "days"', '12', '12'],
      ['#,##0\\ \\d\\a\\y\\s', '12', '12'],
      ['[Red]0.0', '1.5', '1.5'],
      ['[>=100][Red]0.0\\ \\d;0.0\\ \\m\\t\\h\\s', '1.5', '1.5'],
      ['0.0_h', '1.5', '1.5'],
      ['0.0_);[Red]\\(0.0\\)\\ \\h', '1.5', '1.5'],
      ['0.0*s', '1.5', '1.5'],
      // A percentage with letters after it is still the percentage (0.125 shown as 12.5% of hours).
      ['0.0%\\ \\o\\f\\ \\h\\o\\u\\r\\s', '0.125', '12.5'],
      ['0.0%" of days"', '0.125', '12.5'],
      // Date and time formats stay dates and times, with their escaped separators, locales, literals.
      ['dd/mm/yyyy', '45000.75', '2023-03-15'],
      ['[$-809]dd mmmm yyyy', '45000.75', '2023-03-15'],
      ['yyyy-mm-dd;@', '45000.75', '2023-03-15'],
      ['d\\-mmm\\-yy', '45000.75', '2023-03-15'],
      ['dd\\.mm\\.yyyy', '45000.75', '2023-03-15'],
      ['dd" of "mmmm yyyy', '45000.75', '2023-03-15'],
      ['[Blue]dd/mm/yyyy_)', '45000.75', '2023-03-15'],
      ['h:mm', '0.5', '12:00:00'],
      ['[h]:mm:ss', '1.25', '30:00:00'],
      ['h:mm\\ "hrs"', '0.75', '18:00:00'],
      ['[$-409]h:mm:ss\\ AM/PM;@', '0.75', '18:00:00'],
    ];
    const shown = await shownInFormats(cells.map(([format, value]) => [format, value]));
    expect(cells.map(([format], i) => [format, shown[i]])).toEqual(cells.map(([format, , text]) => [format, text]));
  });

  it('reads a number whose format is an elapsed time alone ([h], [mm], [ss]) as the time Excel shows, not as the number', async () => {
    // A partner's hours of support, typed as durations and formatted [h]: Excel shows a day (1)
    // as 24 and a day and a quarter as 30, the hours in all. The elapsed bracket is the format's
    // only code, and brackets were taken out before the date letters were looked for, so the
    // cell loaded as the serial, 1 or 1.25, a number the partner does not see, which a count
    // column took as one hour. It reads as [h]:mm:ss does, the elapsed time to the second.
    const cells: [format: string, value: string, shown: string][] = [
      ['[h]', '1', '24:00:00'],
      ['[h]', '1.25', '30:00:00'],
      ['[hh]', '0.5', '12:00:00'],
      ['[mm]', '0.0625', '01:30:00'],
      ['[ss]', '0.0010416666666666667', '00:01:30'],
      ['[h]" hrs"', '1.25', '30:00:00'],
      ['[h]\\ \\h\\r\\s', '1.25', '30:00:00'],
      // An elapsed code with others after it was a time already; other brackets are no codes.
      ['[h]:mm', '1.25', '30:00:00'],
      ['[Red][h]', '1.25', '30:00:00'],
      ['[Red]0.0', '1.25', '1.25'],
      ['[>=1]0.0;0.00', '1.25', '1.25'],
      ['[$-809]0.0', '1.25', '1.25'],
      ['[Color10]0', '24', '24'],
    ];
    const shown = await shownInFormats(cells.map(([format, value]) => [format, value]));
    expect(cells.map(([format], i) => [format, shown[i]])).toEqual(cells.map(([format, , text]) => [format, text]));
    // A count column refuses the duration, as it refuses 24:00 in a CSV, rather than take 1 hour.
    const count = codecFor({ name: 'supportHours', type: 'count', required: true } as Field);
    expect(count(shown[0] ?? '')).toEqual({ ok: false, reason: 'count-format' });
  });

  it('reads a number whose format writes its date codes in upper case (YYYY, DD, HH) as the date or time Excel shows', async () => {
    // Excel reads y, d, h, s (and m, month or minute by its place) in either case: a partner's
    // date of birth column formatted DD/MM/YYYY (as report tools and SQL's TO_CHAR spell it)
    // shows 15/03/2023, and one formatted YYYY shows 2023. The date letters were exceljs's, lower
    // case but for M, so DD/MM/YYYY and YYYY-MM-DD were dates by their MM alone, and YYYY, DD or
    // HH, with no M, loaded as the serial, 45000.75: a number no date column takes (date-format),
    // a row lost where the same format in lower case loads the day, as every date format does.
    const cells: [format: string, value: string, shown: string][] = [
      ['DD/MM/YYYY', '45000.75', '2023-03-15'],
      ['YYYY-MM-DD', '45000.75', '2023-03-15'],
      ['YYYY', '45000.75', '2023-03-15'],
      ['YY', '45000.75', '2023-03-15'],
      ['DD', '45000.75', '2023-03-15'],
      ['DDDD', '45000.75', '2023-03-15'],
      ['D\\.YYYY', '45000.75', '2023-03-15'],
      ['[$-809]YYYY', '45000.75', '2023-03-15'],
      ['HH', '0.75', '18:00:00'],
      ['H:MM', '0.75', '18:00:00'],
      ['HH:MM:SS', '45000.75', '18:00:00'],
      ['MM:SS', '0.0625', '01:30:00'],
      ['[H]', '1.25', '30:00:00'],
      ['[HH]:MM', '1.25', '30:00:00'],
      // Upper case letters that are no date codes: General, scientific notation, brackets, literals.
      ['General', '1.5', '1.5'],
      ['GENERAL', '1.5', '1.5'],
      ['0.00E+00', '1234.5', '1234.5'],
      ['##0.0E+0', '1234.5', '1234.5'],
      ['[RED]0.0', '1.5', '1.5'],
      ['[$USD-409]#,##0.00', '1.5', '1.5'],
      ['0.0\\ \\H\\R\\S', '1.5', '1.5'],
      ['0.0" DAYS"', '1.5', '1.5'],
    ];
    const shown = await shownInFormats(cells.map(([format, value]) => [format, value]));
    expect(cells.map(([format], i) => [format, shown[i]])).toEqual(cells.map(([format, , text]) => [format, text]));
    const date = codecFor({ name: 'dateOfBirth', type: 'date', required: true } as Field);
    expect(date(shown[2] ?? '')).toEqual({ ok: true, value: '2023-03-15' });
  });

  it('reads a number formatted BOOLEAN, LibreOffice’s name for its boolean format, as TRUE/FALSE, not as a date', async () => {
    // BOOLEAN is the code LibreOffice gives a TRUE/FALSE cell's format, 1 or 0 shown as TRUE or
    // FALSE (it writes "TRUE";"TRUE";"FALSE" for Excel; writers that copy its codes write BOOLEAN).
    // Its B is the Buddhist year code in either case, so since date codes are read in upper case
    // too the format was a date: 1 loaded as 1900-01-01 and 0 as a bad cell.
    const cells: [format: string, value: string, shown: string][] = [
      ['BOOLEAN', '1', 'TRUE'],
      ['BOOLEAN', '0', 'FALSE'],
      ['Boolean', '1', 'TRUE'],
      ['boolean', '0', 'FALSE'],
      ['BOOLEAN', '-1', 'TRUE'],
      // A Buddhist year is still a date, in either case.
      ['[$-41E]d/m/bbbb', '45000.75', '2023-03-15'],
      ['[$-41E]D/M/BBBB', '45000.75', '2023-03-15'],
      ['[$-41E]B2yyyy', '45000.75', '2023-03-15'],
    ];
    const shown = await shownInFormats(cells.map(([format, value]) => [format, value]));
    expect(cells.map(([format], i) => [format, shown[i]])).toEqual(cells.map(([format, , text]) => [format, text]));
    const flag = codecFor({ name: 'inRentArrears', type: 'flag', required: true } as Field);
    expect(shown.slice(0, 2).map((c) => flag(c))).toEqual([
      { ok: true, value: true },
      { ok: true, value: false },
    ]);
  });

  it('reads a number whose format shows words in place of every number ("Yes";"Yes";"No", \\T\\R\\U\\E) as those words', async () => {
    // A partner's flag column of 1 and 0 formatted "Yes";"Yes";"No" shows Yes and No, and a CSV
    // saved from it says Yes and No; a format of literals alone shows them whatever the number.
    // Only LibreOffice's "TRUE";"TRUE";"FALSE" was read so: the others loaded 1 and 0, which the
    // flag codec refuses (flag-value), every row lost. The section is the number's, as Excel picks
    // it: one for all (a negative number with a minus before it), two for not below zero and
    // below it, three for above, below and zero.
    const cells: [format: string, value: string, shown: string][] = [
      ['"Yes";"Yes";"No"', '1', 'Yes'],
      ['"Yes";"Yes";"No"', '0', 'No'],
      ['"Yes";"Yes";"No"', '-1', 'Yes'],
      ['"Y";"N"', '0', 'Y'],
      ['"Y";"N"', '-1', 'N'],
      ['[Green]"Yes";[Red]"Yes";[Red]"No"', '0', 'No'],
      ['\\T\\R\\U\\E', '0', 'TRUE'],
      ['"TRUE"', '1', 'TRUE'],
      ['"TRUE"', '-1', '-TRUE'],
      ['_("Yes"_);_("Yes"_);_("No"_)', '1', ' Yes '],
      ['"Yes";"Yes";"No";@', '1', 'Yes'],
      ['"TRUE";"TRUE";"FALSE"', '2', 'TRUE'],
      // A format with a number in any section is read as before, as the number: one with words
      // beside it, the accountants' dash for zero (Excel shows -, the number is 0), and a format
      // that hides zeros or every value (an empty section is no words: the value held loads).
      ['#,##0;(#,##0);"-"', '0', '0'],
      ['_-* #,##0_-;-* #,##0_-;_-* "-"_-;_-@_-', '0', '0'],
      ['0;-0;;@', '0', '0'],
      [';;;', '5', '5'],
      ['0" Yes"', '1', '1'],
      ['"Yes";0;"No"', '1', '1'],
    ];
    const shown = await shownInFormats(cells.map(([format, value]) => [format, value]));
    expect(cells.map(([format, value], i) => [format, value, shown[i]])).toEqual(
      cells.map(([format, value, text]) => [format, value, text]),
    );
    const flag = codecFor({ name: 'inRentArrears', type: 'flag', required: true } as Field);
    expect(shown.slice(0, 2).map((c) => flag(c))).toEqual([
      { ok: true, value: true },
      { ok: true, value: false },
    ]);
  });

  it('reads a number whose format of words has a text section (@) last as the words, by the sections before it', async () => {
    // A last section holding `@` shows text cells, not numbers: `"Yes";"No";@` shows 1 as Yes, -1
    // as No, and typed text as itself. It was taken for a number's section, no words, and 1 loaded 1.
    const cells: [format: string, value: string, shown: string][] = [
      ['"Yes";"No";@', '1', 'Yes'],
      ['"Yes";"No";@', '-1', 'No'],
      ['"Yes";"No";@', '0', 'Yes'],
      ['[Green]"Yes";[Red]"No";"@"@', '-1', 'No'],
      ['"TRUE";@', '-1', '-TRUE'],
    ];
    const shown = await shownInFormats(cells.map(([format, value]) => [format, value]));
    expect(cells.map(([format, value], i) => [format, value, shown[i]])).toEqual(
      cells.map(([format, value, text]) => [format, value, text]),
    );
  });

  it('reads a number by the section of its format Excel shows it by, a date or time only where that section is one', async () => {
    // Excel shows a number by its format's section for its sign: 1.5 formatted General;;hh:mm
    // (a time for zero alone) shows as 1.5, and 0 as 00:00. A date or time code in any section
    // made the whole format a date, read by its first section: 1.5 loaded as the day 1900-01-01,
    // a hoursWorked of 1.5 refused as no count where the partner sees 1.5, and 0 as a bad cell.
    const cells: [format: string, value: string, shown: string][] = [
      ['General;;hh:mm', '1.5', '1.5'],
      ['General;;hh:mm', '0', '00:00:00'],
      ['0;-0;[h]:mm', '12', '12'],
      ['0;-0;[h]:mm', '-1.5', '-1.5'],
      ['0;-0;[h]:mm', '0', '00:00:00'],
      ['General;dd/mm/yyyy', '45000.75', '45000.75'],
      ['0.0" hrs";\\-h:mm', '7.5', '7.5'],
      // Formats whose number sections are all dates or times read as before, their text section aside.
      ['dd/mm/yyyy;@', '45000.75', '2023-03-15'],
      ['hh:mm;@', '0.75', '18:00:00'],
      ['[h]:mm;-[h]:mm', '1.5', '36:00:00'],
      ['[h]:mm;-[h]:mm', '-1.25', 'cell-unreadable'],
      ['dd/mm/yyyy;;', '45000.75', '2023-03-15'],
      ['dd/mm/yyyy;[Red]dd/mm/yyyy;"none"', '45000.75', '2023-03-15'],
    ];
    const shown = await shownInFormats(cells.map(([format, value]) => [format, value]));
    expect(cells.map(([format, value], i) => [format, value, shown[i]])).toEqual(
      cells.map(([format, value, text]) => [format, value, text]),
    );
  });

  it('reads a number shown by the words of its date format’s section for it as those words, not as the number', async () => {
    // A date or time format may give zero or negative numbers words (`d/m/yy;;"none"`): Excel
    // shows the words, and a CSV saved from the cell says them. The section was picked, but the
    // number was read by the whole format, whose other sections are dates, not words: 0 loaded
    // as 0. A section of a number with words beside it shows the number, as in a number format.
    const cells: [format: string, value: string, shown: string][] = [
      ['hh:mm;;"—"', '0', '—'],
      ['hh:mm;;"—"', '0.75', '18:00:00'],
      ['d/m/yy;;"none"', '0', 'none'],
      ['d/m/yy;;"none"', '45000', '2023-03-15'],
      ['dd/mm/yyyy;"before 1900"', '-5', 'before 1900'],
      ['dd/mm/yyyy;[Red]"before 1900";"none";@', '-5', 'before 1900'],
      ['dd/mm/yyyy;[Red]"before 1900";"none";@', '0', 'none'],
      ['dd/mm/yyyy;"short by "0', '-5', '-5'],
    ];
    const shown = await shownInFormats(cells.map(([format, value]) => [format, value]));
    expect(cells.map(([format, value], i) => [format, value, shown[i]])).toEqual(
      cells.map(([format, value, text]) => [format, value, text]),
    );
  });

  it('reads a negative time in a workbook of the 1904 date system as Excel shows it there, with a minus, not as a bad cell', async () => {
    // Excel shows a negative time as ##### in the 1900 date system, and with a minus in the 1904
    // one (the usual way to show a timesheet's hours short: 7:30 worked of 9:00 is -1:30). It
    // loaded as a bad cell in either; in the 1900 system it still is, as Excel shows no time.
    const cells: [format: string, value: string, shown: string][] = [
      ['[h]:mm', '-0.0625', '-01:30:00'],
      ['[h]:mm:ss', '-1.25', '-30:00:00'],
      ['h:mm', '-0.25', '-06:00:00'],
      ['h:mm', '-1.25', '-06:00:00'],
      ['[h]:mm;-[h]:mm', '-0.0625', '-01:30:00'],
      ['[h]:mm', '0.0625', '01:30:00'],
      // A negative date is no day, in either system.
      ['dd/mm/yyyy', '-1', 'cell-unreadable'],
    ];
    const values = cells.map(([format, value]) => [format, value] as const);
    const shown = await shownInFormats(values, '<workbookPr date1904="1"/>');
    expect(cells.map(([format, value], i) => [format, value, shown[i]])).toEqual(
      cells.map(([format, value, text]) => [format, value, text]),
    );
    expect(await shownInFormats(values.slice(0, 5))).toEqual(Array<string>(5).fill('cell-unreadable'));
  });
});

describe('text written indented, as pretty-printed XML lays it out', () => {
  beforeAll(() => {
    useTempDirForThisThread(mkdtempSync(join(tmpdir(), 'xlsx-indented-')));
  });

  it('reads an indented shared string, plain or in formatted runs, as the text of its <t> elements alone', async () => {
    // The white space between the elements lays the XML out; only a <t> holds the text Excel shows,
    // spaces it keeps (xml:space="preserve") and all. A phonetic run's <t> is its reading, not text.
    const shared = `
  <si>
    <t>lastName</t>
  </si>
  <si>
    <r>
      <rPr>
        <b/>
        <sz val="11"/>
      </rPr>
      <t>Anna</t>
    </r>
    <r>
      <t xml:space="preserve"> Maria </t>
    </r>
    <rPh sb="0" eb="1">
      <t>アンナ</t>
    </rPh>
    <phoneticPr fontId="1"/>
  </si>
`;
    const sheet = '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>';
    expect((await read(await buildZip(parts({ shared, sheet })))).map((r) => r.cells)).toEqual([
      ['lastName'],
      ['Anna Maria '],
    ]);
  });

  it('reads text written as CDATA in a <t> or <v> as the cell’s, and CDATA between elements as layout', async () => {
    // Some writers wrap cell text in CDATA; exceljs heard only saxes's text events, so Ann read as empty.
    const shared =
      '<si><t><![CDATA[lastName]]></t></si><si><t>A<![CDATA[n&amp;]]>n</t></si>' +
      '<si><![CDATA[stray]]><r><t><![CDATA[Lee]]></t></r><![CDATA[ ]]></si>';
    const sheet =
      '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t><![CDATA[firstName]]></t></is></c>' +
      '<c r="C1" t="inlineStr"><is><t>householdSize</t></is></c></row>' +
      '<row r="2"><![CDATA[stray]]><c r="A2" t="s"><v><![CDATA[1]]></v></c>' +
      '<c r="B2" t="inlineStr"><is><![CDATA[stray]]><t><![CDATA[Ann]]></t></is></c><c r="C2"><v><![CDATA[4]]></v></c></row>' +
      '<row r="3"><c r="A3" t="s"><v><![CDATA[2]]></v></c></row>';
    expect((await read(await buildZip(parts({ shared, sheet })))).map((r) => r.cells)).toEqual([
      ['lastName', 'firstName', 'householdSize'],
      ['An&amp;n', 'Ann', '4'],
      ['Lee'],
    ]);
  });

  it('reads a worksheet whose comments or CDATA hold what looks like a date cell or a second text, not refusing it', async () => {
    // In a comment or a CDATA section `<` is not escaped: the byte scan took `<c t="d">` written
    // there for a date cell (xlsx-date-cells) and `<t>` for an inline string's second run
    // (xlsx-inline-rich-text), and refused good workbooks. The parser reads them as the text they are.
    const sheet =
      '<!-- <c r="A1" t="d"> --><row r="1"><c r="A1" t="inlineStr"><is><t>lastName</t></is></c>' +
      '<c r="B1" t="inlineStr"><is><t>note</t></is></c></row>' +
      '<row r="2"><c r="A2" t="inlineStr"><is><t><![CDATA[a<t>b]]></t></is></c>' +
      '<c r="B2" t="inlineStr"><is><t><![CDATA[<c t="d">]]></t></is></c></row>';
    expect((await read(await buildZip(parts({ sheet })))).map((r) => r.cells)).toEqual([
      ['lastName', 'note'],
      ['a<t>b', '<c t="d">'],
    ]);
  });

  it('reads an indented inline string as the text of its <t> alone', async () => {
    const sheet = `
    <row r="1">
      <c r="A1" t="inlineStr">
        <is>
          <t>lastName</t>
        </is>
      </c>
    </row>
    <row r="2">
      <c r="A2" t="inlineStr">
        <is>
          <t xml:space="preserve">Lee </t>
        </is>
      </c>
    </row>
`;
    expect((await read(await buildZip(parts({ sheet })))).map((r) => r.cells)).toEqual([['lastName'], ['Lee ']]);
  });
});

describe('a cell naming a shared string the workbook does not have', () => {
  beforeAll(() => {
    useTempDirForThisThread(mkdtempSync(join(tmpdir(), 'xlsx-missing-string-')));
  });
  const rejection = (file: Buffer) =>
    read(file).then(
      () => undefined,
      (err: unknown) => ({ reason: (err as { reason?: unknown }).reason, at: (err as { at?: unknown }).at }),
    );
  const shared = '<si><t>lastName</t></si><si><t>Lee</t></si>';
  const sheetNaming = (index: string) =>
    '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>' +
    `<row r="3"><c r="A3" t="s"><v>${index}</v></c></row>`;

  it('refuses the workbook, with the row, when an index is past the end of the shared strings', async () => {
    // Index 2 of two strings: the table is not the one the worksheet was written with.
    const sources = parts({ shared, sheet: sheetNaming('2') });
    expect(await rejection(await buildZip(sources))).toEqual({ reason: 'xlsx-shared-string-missing', at: { row: 3 } });
    // Excel's order: the worksheet first, copied aside and read once the strings after it are.
    const sheetFirst = [
      ...sources.filter((p) => p.name !== 'xl/sharedStrings.xml'),
      ...sources.filter((p) => p.name === 'xl/sharedStrings.xml'),
    ];
    expect(await rejection(await buildZip(sheetFirst))).toEqual({
      reason: 'xlsx-shared-string-missing',
      at: { row: 3 },
    });
  });

  it('refuses the workbook when an index is no whole number (exceljs read 1.5 as 1, x as nothing)', async () => {
    for (const index of ['1.5', 'x', '', '-1', '1e0']) {
      expect(await rejection(await buildZip(parts({ shared, sheet: sheetNaming(index) }))), `index "${index}"`).toEqual(
        { reason: 'xlsx-shared-string-missing', at: { row: 3 } },
      );
    }
  });

  it('reads an index written as an inline string’s text by the same rule, not as what parseInt makes of it', async () => {
    // exceljs takes an inline string's <t> for a cell's value whatever its type: a shared string
    // cell holding <is><t>1.5</t></is> named string 1, and <t>0x</t> string 0, silently.
    const inlineNaming = (index: string) =>
      '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>' +
      `<row r="3"><c r="A3" t="s"><is><t>${index}</t></is></c></row>`;
    for (const index of ['1.5', '0x', 'x', '', '2']) {
      expect(
        await rejection(await buildZip(parts({ shared, sheet: inlineNaming(index) }))),
        `index "${index}"`,
      ).toEqual({ reason: 'xlsx-shared-string-missing', at: { row: 3 } });
    }
    // A whole number names its string, as it does in a <v>.
    const file = await buildZip(parts({ shared, sheet: inlineNaming(' 1 ') }));
    expect((await read(file)).map((r) => r.cells)).toEqual([['lastName'], ['Lee'], ['Lee']]);
  });

  it('refuses the workbook when it has no shared strings at all', async () => {
    const sources = parts({ sheet: sheetNaming('1') }).filter((p) => p.name !== 'xl/sharedStrings.xml');
    expect(await rejection(await buildZip(sources))).toEqual({ reason: 'xlsx-shared-string-missing', at: { row: 1 } });
  });

  it('still reads the last string, and an index written with white space around it', async () => {
    const file = await buildZip(parts({ shared, sheet: sheetNaming(' 1 ') }));
    expect((await read(file)).map((r) => r.cells)).toEqual([['lastName'], ['Lee'], ['Lee']]);
  });
});

describe('SpreadsheetML written with a namespace prefix, which exceljs does not read', () => {
  beforeAll(() => {
    useTempDirForThisThread(mkdtempSync(join(tmpdir(), 'xlsx-prefixed-')));
  });
  const MAIN = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
  const reasonOf = (file: Buffer) =>
    read(file).then(
      () => 'read',
      (err: unknown) => (err as { reason?: unknown }).reason,
    );

  it('refuses rows a writer appended with a prefix to a template sheet, rather than drop them unseen', async () => {
    // The Open XML SDK writes the elements it adds as x:row, x:c, x:v: exceljs skips them.
    const sheet =
      '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>' +
      `<x:row r="3" xmlns:x="${MAIN}"><x:c r="A3" t="s"><x:v>2</x:v></x:c></x:row>`;
    const file = await buildZip(
      parts({ sheet, shared: '<si><t>lastName</t></si><si><t>Lee</t></si><si><t>Ng</t></si>' }),
    );
    expect(await reasonOf(file)).toBe('xlsx-prefixed-xml');
  });

  it('refuses shared strings of which some are prefixed, rather than read every later cell as another string', async () => {
    // exceljs skips the x:si, so index 1 read the third string and index 2 nothing.
    const shared = `<si><t>lastName</t></si><x:si xmlns:x='${MAIN}'><x:t>Lee</x:t></x:si><si><t>Ng</t></si>`;
    const sheet = [0, 1, 2].map((i) => `<row r="${i + 1}"><c r="A${i + 1}" t="s"><v>${i}</v></c></row>`).join('');
    expect(await reasonOf(await buildZip(parts({ sheet, shared })))).toBe('xlsx-prefixed-xml');
  });

  it('still reads a workbook whose parts bind other namespaces to prefixes, as Excel writes them', async () => {
    const sheet =
      '<row r="1" x14ac:dyDescent="0.25" xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac">' +
      '<c r="A1" t="s"><v>0</v></c></row>';
    expect(await reasonOf(await buildZip(parts({ sheet, shared: '<si><t>lastName</t></si>' })))).toBe('read');
  });

  it('still reads a workbook whose comments or CDATA text hold a prefixed declaration, which binds nothing', async () => {
    // In a comment or CDATA section the declaration is text the parser never reads as one.
    const sheet =
      `<!-- <x:row xmlns:x="${MAIN}"> --><row r="1"><c r="A1" t="s"><v>0</v></c></row>` +
      `<row r="2"><c r="A2" t="inlineStr"><is><t><![CDATA[xmlns:x="${MAIN}"]]></t></is></c></row>`;
    const shared = `<si><t><![CDATA[xmlns:s='${MAIN}']]></t></si>`;
    expect(await reasonOf(await buildZip(parts({ sheet, shared })))).toBe('read');
  });

  it('still reads a workbook whose cells hold a prefixed declaration as plain text, which binds nothing', async () => {
    // Excel writes `"` in text as it is: a cell reading xmlns:x="…/main" was taken for a binding
    // and the good workbook refused, as was one whose text merely looks like a tag's attributes.
    const sheet =
      '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>' +
      `<row r="3"><c r="A3" t="inlineStr"><is><t>x&gt; xmlns:x="${MAIN}"</t></is></c></row>`;
    const shared = `<si><t>lastName</t></si><si><t xml:space="preserve">a"&gt; xmlns:s = '${MAIN}'</t></si>`;
    expect(await reasonOf(await buildZip(parts({ sheet, shared })))).toBe('read');
    const urn = `<si><t>lastName</t></si><si><t>xmlns:x="urn:y"</t></si>`;
    expect(await reasonOf(await buildZip(parts({ sheet: sheet.replace(MAIN, 'urn:y'), shared: urn })))).toBe('read');
  });

  it('refuses a binding the bytes do not spell out, as the parser reads it, rather than drop its rows unseen', async () => {
    // XML reads a character reference in an attribute's value as the character: these bind the
    // main namespace to x and s as surely as the namespace written out, but the byte scan looks
    // for it written out, and exceljs skipped the x:row and the s:si as before.
    const escaped = MAIN.replace('h', '&#104;');
    const sheet =
      '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>' +
      `<x:row r="3" xmlns:x="${escaped}"><x:c r="A3" t="s"><x:v>2</x:v></x:c></x:row>`;
    const shared = '<si><t>lastName</t></si><si><t>Lee</t></si><si><t>Ng</t></si>';
    expect(await reasonOf(await buildZip(parts({ sheet, shared })))).toBe('xlsx-prefixed-xml');
    const sharedPrefixed = `<si><t>lastName</t></si><s:si xmlns:s='${MAIN.replace('main', 'm&#x61;in')}'><s:t>Lee</s:t></s:si><si><t>Ng</t></si>`;
    const plain = [0, 1, 2].map((i) => `<row r="${i + 1}"><c r="A${i + 1}" t="s"><v>${i}</v></c></row>`).join('');
    expect(await reasonOf(await buildZip(parts({ sheet: plain, shared: sharedPrefixed })))).toBe('xlsx-prefixed-xml');
  });

  it('is refused by the parser too, should the byte scan not see the binding', async () => {
    // The scan keeps 512 bytes of a part from one chunk to the next: a binding whose prefix (or
    // the white space around its `=`) is longer, with the namespace at the start of a chunk, is
    // not told from text by what is kept. exceljs's parse-sax, as useTempDirForThisThread
    // replaced it (exceljs-xml-decoding.ts), reads the attribute whole.
    const parseSax = createRequire(import.meta.url)(excelJsFile('lib/utils/parse-sax.js')) as (
      bytes: AsyncIterable<Buffer>,
    ) => AsyncIterable<unknown>;
    const events = async (xml: string) => {
      for await (const batch of parseSax(Readable.from([Buffer.from(xml, 'utf8')]))) void batch;
      return 'parsed';
    };
    const prefix = 'x'.repeat(600);
    await expect(events(`<sst xmlns:${prefix}="${MAIN}"><${prefix}:si/></sst>`)).rejects.toMatchObject({
      reason: 'xlsx-prefixed-xml',
    });
    await expect(events(`<x:sst xmlns:x="http://purl.oclc.org/ooxml/spreadsheetml/main"/>`)).rejects.toMatchObject({
      reason: 'xlsx-prefixed-xml',
    });
    // The default namespace, another bound to a prefix, and the namespace as text bind nothing exceljs misreads.
    await expect(
      events(
        `<sst xmlns="${MAIN}" xmlns:${prefix}="urn:y" a='xmlns:x="${MAIN}"'><si><t>xmlns:x="${MAIN}"</t></si></sst>`,
      ),
    ).resolves.toBe('parsed');
  });
});

describe('PrefixedSpreadsheetMlScan', () => {
  const MAIN = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
  const found = (xml: string, size: number) => {
    const scan = new PrefixedSpreadsheetMlScan();
    const bytes = Buffer.from(xml, 'utf8');
    let seen = false;
    for (let at = 0; at < bytes.length; at += size) seen = scan.push(bytes.subarray(at, at + size)) || seen;
    return seen;
  };

  it('finds it after a comment or CDATA section however the chunks split them, and none in them', () => {
    const text = `<!-- xmlns:x="${MAIN}" <![CDATA[ --><t><![CDATA[<x:sst xmlns:x="${MAIN}">]]]]><![CDATA[>]]></t>`;
    const after = `${text}<x:si xmlns:x="${MAIN}"/>`;
    for (let size = 1; size <= after.length; size++) {
      expect(found(text, size), `chunks of ${size}`).toBe(false);
      expect(found(after, size), `chunks of ${size}`).toBe(true);
    }
  });

  it('finds none in text, however long the tag before it and however the chunks split them', () => {
    // In text `"` and `>` may be written as they are, and only `<` tells a tag: a root element
    // longer than what is kept of the part hid the tag's start, and text was taken for one.
    const long = ` xmlns:a${'b'.repeat(700)}="urn:a"`;
    const text = `<sst xmlns="${MAIN}"${long} a=">"><si><t>a"> xmlns:x="${MAIN}"</t></si><si><t>${'z'.repeat(700)} xmlns:y='${MAIN}'</t></si></sst>`;
    const bound = `<sst xmlns="${MAIN}"><si${long} a='"&gt;>' xmlns:x="${MAIN}"><t>a</t></si></sst>`;
    for (let size = 1; size <= text.length; size++) {
      expect(found(text, size), `chunks of ${size}`).toBe(false);
      expect(found(bound, size), `chunks of ${size}`).toBe(true);
    }
  });

  it('finds the main namespace bound to a prefix however the chunks split it, and nothing else', () => {
    const bound = `<worksheet xmlns="${MAIN}"><sheetData><x:row xmlns:x = '${MAIN}' r="2"/></sheetData></worksheet>`;
    const unbound = `<worksheet xmlns="${MAIN}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheetData/></worksheet>`;
    const strict = '<x:sst xmlns:x="http://purl.oclc.org/ooxml/spreadsheetml/main"/>';
    for (let size = 1; size <= bound.length; size++) {
      expect(found(bound, size), `chunks of ${size}`).toBe(true);
      expect(found(unbound, size), `chunks of ${size}`).toBe(false);
      expect(found(strict, size), `chunks of ${size}`).toBe(true);
    }
  });
});

describe('worksheets whose writer left out the references (r), which ECMA-376 makes optional', () => {
  beforeAll(() => {
    useTempDirForThisThread(mkdtempSync(join(tmpdir(), 'xlsx-references-')));
  });
  const inline = (v: string) => `<c t="inlineStr"><is><t>${v}</t></is></c>`;
  const header = '<row>' + ['firstName', 'lastName', 'dateOfBirth'].map(inline).join('') + '</row>';

  it('places each row after the one before and each cell after the cell before', async () => {
    const sheet =
      header +
      `<row>${inline('Ann')}${inline('Lee')}${inline('2001-02-03')}</row>` +
      // An empty cell still takes its column.
      `<row>${inline('Bob')}<c/>${inline('2001-02-04')}</row>`;
    expect((await read(await buildZip(parts({ sheet })))).map((r) => [r.row, r.cells])).toEqual([
      [1, ['firstName', 'lastName', 'dateOfBirth']],
      [2, ['Ann', 'Lee', '2001-02-03']],
      [3, ['Bob', '', '2001-02-04']],
    ]);
  });

  it('reads a cell whose CDATA text holds `<c>` as that text, and the cells after it where they are', async () => {
    // The reference filler took `<c>` written in CDATA for a cell: it wrote a reference into the
    // text (`<c r="B2">`) and counted it, so every later cell of the row loaded a column too far.
    const sheet = header + `<row>${inline('<![CDATA[<c>]]>')}${inline('Lee')}<!-- <c> -->${inline('2001-02-03')}</row>`;
    expect((await read(await buildZip(parts({ sheet })))).map((r) => [r.row, r.cells])).toEqual([
      [1, ['firstName', 'lastName', 'dateOfBirth']],
      [2, ['<c>', 'Lee', '2001-02-03']],
    ]);
  });

  it('reads row and cell tags whose attribute values hold `>`, each placed by the reference after it', async () => {
    // An attribute's value may hold `>` as it is. The filler took it for the tag's end: it did not
    // see the `r` after it, wrote a second one in, and the good workbook was refused as unreadable.
    const sheet =
      header +
      `<row x="a>b">${inline('Ann')}<c x='>' r="C2" t="inlineStr"><is><t>2001-02-03</t></is></c></row>` +
      `<row x=">" r="5"><c y="1>0" t="inlineStr"><is><t>Bob</t></is></c>${inline('Lee')}</row>`;
    expect((await read(await buildZip(parts({ sheet })))).map((r) => [r.row, r.cells])).toEqual([
      [1, ['firstName', 'lastName', 'dateOfBirth']],
      [2, ['Ann', '', '2001-02-03']],
      [5, ['Bob', 'Lee']],
    ]);
  });

  it('reads no reference from inside another attribute’s value, placing the row and cell as if it were not there', async () => {
    // ` r='Z9'` written inside another attribute's value is that value's text. The filler read it
    // as the cell's reference: it wrote none in, and counted on from column Z.
    const sheet =
      header +
      `<row>${inline('Ann')}<c x="a r='Z9'" t="inlineStr"><is><t>Lee</t></is></c>${inline('2001-02-03')}</row>` +
      `<row y=" r='7'">${inline('Bob')}</row>`;
    expect((await read(await buildZip(parts({ sheet })))).map((r) => [r.row, r.cells])).toEqual([
      [1, ['firstName', 'lastName', 'dateOfBirth']],
      [2, ['Ann', 'Lee', '2001-02-03']],
      [3, ['Bob']],
    ]);
  });

  it('reads rows numbered by their writer whose cells are not, and cells placed by reference after ones that are not', async () => {
    const sheet =
      `<row r="1">${['firstName', 'lastName', 'dateOfBirth'].map(inline).join('')}</row>` +
      `<row r="4">${inline('Ann')}<c r="C4" t="inlineStr"><is><t>2001-02-03</t></is></c></row>`;
    expect((await read(await buildZip(parts({ sheet })))).map((r) => [r.row, r.cells])).toEqual([
      [1, ['firstName', 'lastName', 'dateOfBirth']],
      [4, ['Ann', '', '2001-02-03']],
    ]);
  });

  it('reads rows whose first cells carry references and the cells after them none, each after the cell before', async () => {
    // The first row and cell carrying `r` were taken to say every one did: the rest of the
    // worksheet passed unfilled, and the workbook was refused as xlsx-unreadable.
    const cell = (ref: string, v: string) => `<c r="${ref}" t="inlineStr"><is><t>${v}</t></is></c>`;
    const sheet =
      `<row r="1">${cell('A1', 'firstName')}${inline('lastName')}${inline('dateOfBirth')}</row>` +
      `<row r="2">${cell('A2', 'Ann')}${inline('Lee')}${inline('2001-02-03')}</row>` +
      `<row r="3">${cell('B3', 'Bo')}${inline('2001-02-04')}</row>`;
    expect((await read(await buildZip(parts({ sheet })))).map((r) => [r.row, r.cells])).toEqual([
      [1, ['firstName', 'lastName', 'dateOfBirth']],
      [2, ['Ann', 'Lee', '2001-02-03']],
      [3, ['', 'Bo', '2001-02-04']],
    ]);
  });
});

describe('processing instructions, whose content the parser never reads as markup', () => {
  beforeAll(() => {
    useTempDirForThisThread(mkdtempSync(join(tmpdir(), 'xlsx-instructions-')));
  });
  const MAIN = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
  const inline = (v: string) => `<c t="inlineStr"><is><t>${v}</t></is></c>`;
  const header = '<row>' + ['firstName', 'lastName', 'dateOfBirth'].map(inline).join('') + '</row>';
  // XML lets a processing instruction's content hold `<` and `>` as they are, as a comment's.
  const instruction = `<?lintel-note <row><c t="d"> <is><t>a</t><t>b</t></is> <rPh> xmlns:x="${MAIN}" ?>`;
  const stylesheet = '<?xml-stylesheet type="text/xsl" href="cells.xsl"?>';

  it('reads a worksheet and shared strings with instructions in them as if they had none', async () => {
    // The byte scans took the instruction's `<c t="d">` for a date cell, its `<t>`s for rich
    // text and its declaration for a binding, and refused the workbook; the reference filler
    // counted its `<c>` as a cell, so every later cell of the row loaded a column too far; the
    // phonetic filter took its `<rPh>` for a run and dropped what came after it.
    const sheet =
      instruction +
      header +
      `<row>${inline('Ann')}${instruction}<c t="s"><v>1</v></c>${inline('2001-02-03')}</row>` +
      `<row><c t="s"><v>0</v></c>${instruction}</row>`;
    const shared = `<si><t>Bo</t></si>${instruction}<si><t>Lee</t>${instruction}</si>`;
    const file = await buildZip(
      parts({ sheet, shared }).map((part) =>
        part.name === 'xl/worksheets/sheet1.xml' || part.name === 'xl/sharedStrings.xml'
          ? {
              ...part,
              content: () => [
                Buffer.from(
                  Buffer.concat(part.content() as Buffer[])
                    .toString('utf8')
                    .replace('?>', `?>${stylesheet}`),
                  'utf8',
                ),
              ],
            }
          : part,
      ),
    );
    expect((await read(file)).map((r) => [r.row, r.cells])).toEqual([
      [1, ['firstName', 'lastName', 'dateOfBirth']],
      [2, ['Ann', 'Lee', '2001-02-03']],
      [3, ['Bo']],
    ]);
  });

  it('passes an instruction to each byte scan as it is, however the chunks split it', () => {
    const declaring = `<?lintel-note xmlns:x="${MAIN}"?>`;
    const sheet = `<sheetData>${instruction}<row r="1"><c r="A1"/></row>${declaring}${instruction}</sheetData>`;
    const unnumbered = `<row>${instruction}<c/>${instruction}<c/></row>`;
    const numbered = `<row r="1">${instruction}<c r="A1"/>${instruction}<c r="B1"/></row>`;
    const shared = `<si><t>山田</t>${instruction}<rPh sb="0" eb="2"><t>ヤマダ</t></rPh></si>`;
    const pass = <T>(make: () => { push(chunk: Buffer): T }, xml: string, size: number): T[] => {
      const scan = make();
      const bytes = Buffer.from(xml, 'utf8');
      const out: T[] = [];
      for (let at = 0; at < bytes.length; at += size) out.push(scan.push(bytes.subarray(at, at + size)));
      return out;
    };
    for (let size = 1; size <= unnumbered.length; size++) {
      expect(pass(() => new WorksheetScan(), sheet, size).filter(Boolean), `chunks of ${size}`).toEqual([]);
      expect(pass(() => new PrefixedSpreadsheetMlScan(), sheet, size).filter(Boolean), `chunks of ${size}`).toEqual([]);
      expect(
        Buffer.concat(pass(() => new CellReferenceFiller(), unnumbered, size)).toString(),
        `chunks of ${size}`,
      ).toBe(numbered);
      expect(Buffer.concat(pass(() => new PhoneticRunFilter(), shared, size)).toString(), `chunks of ${size}`).toBe(
        `<si><t>山田</t>${instruction}</si>`,
      );
    }
  });
});

describe('a worksheet whose XML ends unfinished', () => {
  beforeAll(() => {
    useTempDirForThisThread(mkdtempSync(join(tmpdir(), 'xlsx-unfinished-')));
  });
  const inline = (v: string) => `<c t="inlineStr"><is><t>${v}</t></is></c>`;
  const rows = `<row r="1">${inline('firstName')}</row><row r="2">${inline('Ann')}</row>`;
  const worksheet = (xml: string) =>
    parts({ sheet: '' }).map((part) =>
      part.name === 'xl/worksheets/sheet1.xml'
        ? { ...part, content: text(`<?xml version="1.0" encoding="UTF-8"?><worksheet ${NS}><sheetData>${xml}`) }
        : part,
    );

  it('refuses one that ends inside a comment, CDATA section, instruction or `<!`, or before its elements close, rather than load the rows before', async () => {
    // Well-formed XML ends once its root element has closed and nothing is left open. These end
    // early (a writer stopped, its zip finished all the same): the rows before the end loaded,
    // and the rows the writer never finished, or wrote inside what was left open, were lost unseen.
    for (const ending of [
      `<!-- <row r="3">${inline('Bob')}</row></sheetData></worksheet>`,
      `<row r="3"><c t="inlineStr"><is><t><![CDATA[Bo`,
      `<?lintel-note <row r="3"></row></sheetData></worksheet>`,
      '<!',
      `</sheetData></worksheet><!-- `,
      `</sheetData></worksheet><?lintel-note `,
      `<row r="3">${inline('Bob')}</row>`,
    ]) {
      await expect(read(await buildZip(worksheet(rows + ending))), ending).rejects.toMatchObject({
        reason: 'xlsx-unreadable',
      });
    }
    // Finished, it loads.
    const records = await read(await buildZip(worksheet(`${rows}<!-- a note --></sheetData></worksheet><?done?>`)));
    expect(records.map((r) => r.cells)).toEqual([['firstName'], ['Ann']]);
  });
});

describe('a document type declaration, which no spreadsheet writer puts in a part', () => {
  beforeAll(() => {
    useTempDirForThisThread(mkdtempSync(join(tmpdir(), 'xlsx-doctype-')));
  });
  const reasonOf = (file: Buffer) =>
    read(file).then(
      () => 'read',
      (err: unknown) => (err as { reason?: unknown }).reason,
    );
  const sheet = '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>';
  const shared = '<si><t>lastName</t></si><si><t>Lee</t></si>';
  /** The workbook with `declaration` after the XML declaration of `part`. */
  const declaring = (part: string, declaration: string, opts: { sheet: string; shared: string } = { sheet, shared }) =>
    buildZip(
      parts(opts).map((source) =>
        source.name === part
          ? {
              ...source,
              content: () => [
                Buffer.from(
                  Buffer.concat([...source.content()])
                    .toString('utf8')
                    .replace('?>', `?>${declaration}`),
                  'utf8',
                ),
              ],
            }
          : source,
      ),
    );

  it('refuses a DOCTYPE in any part exceljs parses, rather than read it otherwise than XML would', async () => {
    // An XML processor applies the internal subset's attribute defaults and expands its
    // entities; saxes does neither (an entity it refused as unreadable, a default it dropped
    // unseen). A DOCTYPE loaded, or was refused with a reason that did not say why.
    const cases: [string, string][] = [
      ['xl/worksheets/sheet1.xml', '<!DOCTYPE worksheet>'],
      ['xl/worksheets/sheet1.xml', '<!DOCTYPE worksheet [<!ATTLIST c t CDATA "inlineStr">]>'],
      ['xl/worksheets/sheet1.xml', `<!DOCTYPE worksheet [<!ENTITY d '<c t="d"><is><t>a</t><t>b</t></is></c>'>]>`],
      ['xl/sharedStrings.xml', '<!DOCTYPE sst SYSTEM "file:///etc/passwd">'],
      ['xl/workbook.xml', '<!DOCTYPE workbook [<!ENTITY a "a"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'],
      ['xl/styles.xml', '<!DOCTYPE styleSheet>'],
      ['xl/_rels/workbook.xml.rels', '<!DOCTYPE Relationships>'],
    ];
    const reasons: string[][] = [];
    for (const [part, declaration] of cases)
      reasons.push([part, declaration, String(await reasonOf(await declaring(part, declaration)))]);
    expect(reasons).toEqual(cases.map(([part, declaration]) => [part, declaration, 'xlsx-doctype']));
  });

  it('refuses one whose entity a cell uses, and one written in another case or with a space', async () => {
    // XML is case-sensitive and allows no space after `<!`: these are no DOCTYPE to a conforming
    // parser but a fatal error, refused all the same, and for the same reason, whatever the scans
    // before the parser would make of what follows.
    const entity = { sheet, shared: '<si><t>lastName</t></si><si><t>&n;</t></si>' };
    const written = ['<!doctype worksheet>', '<!DocType worksheet>', '<! DOCTYPE worksheet>', '<!\nDOCTYPE worksheet>'];
    const reasons: string[][] = [
      [
        'entity',
        String(await reasonOf(await declaring('xl/sharedStrings.xml', '<!DOCTYPE sst [<!ENTITY n "Lee">]>', entity))),
      ],
    ];
    for (const declaration of written)
      reasons.push([declaration, String(await reasonOf(await declaring('xl/worksheets/sheet1.xml', declaration)))]);
    expect(reasons).toEqual(['entity', ...written].map((declaration) => [declaration, 'xlsx-doctype']));
  });

  it('is refused by the parser too, should a part reach it unscanned', async () => {
    // exceljs's parse-sax, as useTempDirForThisThread replaced it (exceljs-xml-decoding.ts).
    const parseSax = createRequire(import.meta.url)(excelJsFile('lib/utils/parse-sax.js')) as (
      bytes: AsyncIterable<Buffer>,
    ) => AsyncIterable<unknown>;
    const events = async (xml: string) => {
      for await (const batch of parseSax(Readable.from([Buffer.from(xml, 'utf8')]))) void batch;
      return 'parsed';
    };
    await expect(events('<?xml version="1.0"?><x/>')).resolves.toBe('parsed');
    await expect(events('<?xml version="1.0"?><!DOCTYPE x><x/>')).rejects.toMatchObject({ reason: 'xlsx-doctype' });
  });

  it('still reads a part whose comment, CDATA or instruction holds what looks like one', async () => {
    const looksLike = '<!-- <!DOCTYPE worksheet> --><?note <!DOCTYPE worksheet>?>';
    const text = { sheet, shared: '<si><t>lastName</t></si><si><t><![CDATA[<!DOCTYPE x>]]>&lt;!DOCTYPE</t></si>' };
    expect(await reasonOf(await declaring('xl/worksheets/sheet1.xml', looksLike, text))).toBe('read');
  });
});

describe('CellReferenceFiller', () => {
  const xml =
    '<worksheet><cols><col min="1" max="2"/></cols><sheetData><row spans="1:2"><c t="s"><v>0</v></c><c/></row>' +
    '<row><c s="1"><v>2</v></c><c r="D2"><v>3</v></c><c><v>4</v></c></row><rowBreaks/></sheetData></worksheet>';
  const expected =
    '<worksheet><cols><col min="1" max="2"/></cols><sheetData><row r="1" spans="1:2"><c r="A1" t="s"><v>0</v></c><c r="B1"/></row>' +
    '<row r="2"><c r="A2" s="1"><v>2</v></c><c r="D2"><v>3</v></c><c r="E2"><v>4</v></c></row><rowBreaks/></sheetData></worksheet>';

  it('fills in every missing reference, however the chunks split the bytes', () => {
    const bytes = Buffer.from(xml, 'latin1');
    for (let size = 1; size <= bytes.length; size++) {
      const filler = new CellReferenceFiller();
      const out: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += size) out.push(filler.push(bytes.subarray(at, at + size)));
      expect(Buffer.concat(out).toString('latin1')).toBe(expected);
    }
  });

  it('fills in no reference in a comment or CDATA section, however the chunks split them', () => {
    // Text there may hold `<c>` or `<row>` as it is: no cell or row, and not to be rewritten.
    const literal = '<!-- <row><c> --><row><c><is><t><![CDATA[<c>]]]]><![CDATA[><row>]]></t></is></c><c/></row>';
    const filled =
      '<!-- <row><c> --><row r="1"><c r="A1"><is><t><![CDATA[<c>]]]]><![CDATA[><row>]]></t></is></c><c r="B1"/></row>';
    const bytes = Buffer.from(literal, 'latin1');
    for (let size = 1; size <= bytes.length; size++) {
      const filler = new CellReferenceFiller();
      const out: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += size) out.push(filler.push(bytes.subarray(at, at + size)));
      expect(Buffer.concat(out).toString('latin1'), `chunks of ${size}`).toBe(filled);
    }
  });

  it('ends a tag at its own `>`, not at one in a quoted value, however the chunks split them', () => {
    const quoted = `<row x="a>b"><c y='>'><v>1</v></c><c y=">" r="D1"/><c/></row><row z='>' r="4"><c/></row>`;
    const filled =
      `<row r="1" x="a>b"><c r="A1" y='>'><v>1</v></c><c y=">" r="D1"/><c r="E1"/></row>` +
      `<row z='>' r="4"><c r="A4"/></row>`;
    const bytes = Buffer.from(quoted, 'latin1');
    for (let size = 1; size <= bytes.length; size++) {
      const filler = new CellReferenceFiller();
      const out: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += size) out.push(filler.push(bytes.subarray(at, at + size)));
      expect(Buffer.concat(out).toString('latin1'), `chunks of ${size}`).toBe(filled);
    }
  });

  it('holds no more than a tag can be: a tag megabytes long passes as it is, searched once', () => {
    const filler = new CellReferenceFiller();
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    let out = filler.push(Buffer.from('<sheetData><row><c x="'));
    let held = 0;
    for (let k = 0; k < 256; k++) {
      out = Buffer.concat([out, filler.push(chunk)]);
      held = Math.max(held, filler.heldBytes);
    }
    expect(held).toBeLessThanOrEqual(4096 + chunk.length);
    expect(filler.heldBytes).toBe(0);
    expect(out.length).toBe('<sheetData><row r="1"><c x="'.length + 256 * chunk.length);
  });

  it('fills in a cell after one that carries its reference, as after one that does not', () => {
    const sheet = '<sheetData><row r="1"><c r="A1"><v>1</v></c><c><v>2</v></c></row></sheetData>';
    const filler = new CellReferenceFiller();
    expect(filler.push(Buffer.from(sheet)).toString()).toBe(sheet.replace('<c>', '<c r="B1">'));
  });
});

describe('PhoneticRunFilter', () => {
  const xml =
    '<sst><si><t>山田</t><rPh sb="0" eb="2"><t>ヤマダ</t></rPh><phoneticPr fontId="1"/></si>' +
    '<si><r><t>Ann</t></r><rPh sb="0" eb="1"/><t>e</t></si><si><rPhx>kept</rPhx></si></sst>';
  const expected =
    '<sst><si><t>山田</t><phoneticPr fontId="1"/></si>' +
    '<si><r><t>Ann</t></r><t>e</t></si><si><rPhx>kept</rPhx></si></sst>';

  it('drops a run whose tag is megabytes long as it comes, holding only a few bytes', () => {
    const filter = new PhoneticRunFilter();
    const out: Buffer[] = [filter.push(Buffer.from('<si><t>A</t><rPh sb="'))];
    for (let k = 0; k < 256; k++) {
      out.push(filter.push(Buffer.alloc(16 * 1024, 0x61)));
      expect(filter.heldBytes).toBeLessThanOrEqual(6);
    }
    out.push(filter.push(Buffer.from('"><t>x</t></rPh></si>')));
    expect(Buffer.concat(out).toString()).toBe('<si><t>A</t></si>');
  });

  it('drops no run written in a comment or CDATA section, nor ends one at a `</rPh>` written so', () => {
    // `<` is not escaped there: `a<rPh>b</rPh>c` in CDATA is a name, not a name and its reading.
    const literal =
      '<si><t><![CDATA[a<rPh>b</rPh>c]]></t></si>' +
      '<si><t>山田</t><!-- <rPh> --><rPh sb="0" eb="2"><t><![CDATA[</rPh>]]></t></rPh></si>';
    const dropped = '<si><t><![CDATA[a<rPh>b</rPh>c]]></t></si><si><t>山田</t><!-- <rPh> --></si>';
    const bytes = Buffer.from(literal, 'utf8');
    for (let size = 1; size <= bytes.length; size++) {
      const filter = new PhoneticRunFilter();
      const out: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += size) out.push(filter.push(bytes.subarray(at, at + size)));
      expect(Buffer.concat(out).toString('utf8'), `chunks of ${size}`).toBe(dropped);
    }
  });

  it("ends a run's tag at its own `>`, not at one in a quoted attribute value, however the chunks split it", () => {
    const quoted =
      '<si><t>A</t><rPh sb="0" eb="1" x="a>b"/></si><si><t>B</t></si>' +
      '<si><t>C</t><rPh x=\'/>\' sb="0"><t>c</t></rPh><t>D</t></si><si><t>E</t><rPh x="\'>" y=\'">\'><t>e</t></rPh></si>';
    const kept = '<si><t>A</t></si><si><t>B</t></si><si><t>C</t><t>D</t></si><si><t>E</t></si>';
    const bytes = Buffer.from(quoted, 'utf8');
    for (let size = 1; size <= bytes.length; size++) {
      const filter = new PhoneticRunFilter();
      const out: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += size) out.push(filter.push(bytes.subarray(at, at + size)));
      expect(Buffer.concat(out).toString('utf8'), `chunks of ${size}`).toBe(kept);
    }
  });

  it('drops every phonetic run and nothing else, however the chunks split the bytes', () => {
    const bytes = Buffer.from(xml, 'utf8');
    for (let size = 1; size <= bytes.length; size++) {
      const filter = new PhoneticRunFilter();
      const out: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += size) out.push(filter.push(bytes.subarray(at, at + size)));
      expect(Buffer.concat(out).toString('utf8')).toBe(expected);
    }
  });
});
