import ExcelJS from 'exceljs';
import { beforeAll, describe, expect, it } from 'vitest';
import { WorksheetScan } from '../../../shared/imports/worksheet-scan.js';
import { oneHarness, storedRecords, type ImportHarness } from './import-harness.js';
import { buildZip, sourcesOf, workbookSources, type ZipOptions, type ZipSource } from './zip-builder.js';

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

/**
 * One harness for the file, put back afresh before each suite: a suite's cases share it, as they
 * shared one of the suite's own.
 */
let h: ImportHarness;
const afresh = oneHarness((shared) => (h = shared));

describe('spreadsheet cells at import', () => {
  beforeAll(afresh);

  const attributesOf = async (partyId: string) => (await storedRecords(h.store, partyId, MDI)).map((r) => r.attributes);

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

  it('reads a number Excel stores in full binary precision as the 15 digits it shows, not as a bad count', async () => {
    // Values pasted from a calculation: Excel (and exceljs) write each double in full, 17 digits
    // where it needs them, and Excel shows them, and saves them as CSV, as 435 and 0.3.
    const file = await workbook((sheet) => {
      sheet.addRow(['firstName', 'lastName', 'dateOfBirth', 'schoolTotalAbsencePercent', 'exclusionsThisAcademicYear']);
      sheet.addRow(['Ann', 'Smith', '2010-01-01', 0.1 + 0.2, 4.35 * 100]);
      sheet.addRow(['Ben', 'Smith', '2010-01-02', 12.5, 2]);
    });
    expect(await h.importFile(`la-education/${MDI}/calculated.xlsx`, file)).toMatchObject({
      outcome: 'loaded',
      loaded: 2,
      rejected: 0,
    });
    const stored = (await attributesOf('la-education')).sort((a, b) =>
      String(a.firstName).localeCompare(String(b.firstName)),
    );
    expect(stored.map((a) => [a.schoolTotalAbsencePercent, a.exclusionsThisAcademicYear])).toEqual([
      [0.3, 435],
      [12.5, 2],
    ]);
  });

  it('keeps the leading zero a telephone number format shows on a number typed without its quote', async () => {
    // Typed as 07700900123, Excel keeps the number 7700900123; the column's format shows it, and
    // saves it as CSV, as 07700 900123.
    const contacts = 'housing-first-participant-contacts';
    const file = await workbook((sheet) => {
      sheet.addRow(['name', 'telephoneNumber', 'caseReference']);
      sheet.addRow(['Gil Hart', 7700900123, 'HO-1']);
      sheet.addRow(['Ida Hart', 7700900456, 'HO-2']);
      sheet.addRow(['Jo Hart', 1632960001, 'HO-3']);
      sheet.getCell('B2').numFmt = '00000 000000';
      sheet.getCell('B3').numFmt = '0#### ######';
      // As Excel stores a format typed with brackets and a space: escaped.
      sheet.getCell('B4').numFmt = '\\(00000\\)\\ 000000';
    });
    expect(await h.importFile(`dudley-housing-options/${contacts}/contacts.xlsx`, file)).toMatchObject({
      outcome: 'loaded',
      loaded: 3,
    });
    const stored = await storedRecords(h.store, 'dudley-housing-options', contacts);
    expect(stored.map((r) => r.attributes.telephoneNumber).sort()).toEqual([
      '(01632) 960001',
      '07700 900123',
      '07700 900456',
    ]);
  });

  it('loads a count whose format only spaces its digits (# ##0) as the number, not a refused count', async () => {
    // Excel shows 1234 as 1 234; the format pads no zero, so it shows the count's own digits.
    const file = await workbook((sheet) => {
      sheet.addRow(['firstName', 'lastName', 'dateOfBirth', 'exclusionsThisAcademicYear']);
      sheet.addRow(['Kit', 'Lowe', '2010-01-01', 1234]);
      sheet.addRow(['Lee', 'Lowe', '2010-01-02', 0]);
      sheet.getColumn(4).numFmt = '# ##0';
    });
    expect(await h.importFile(`la-education/${MDI}/spaced-counts.xlsx`, file)).toMatchObject({
      outcome: 'loaded',
      loaded: 2,
      rejected: 0,
    });
    const stored = (await attributesOf('la-education')).filter((a) => a.lastName === 'Lowe');
    expect(stored.map((a) => a.exclusionsThisAcademicYear).sort()).toEqual([0, 1234]);
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

  it('loads text with an escaped entity as the partner typed it, whichever kind of text cell holds it', async () => {
    // The partner typed `AT&amp;T House` (an HTML entity, as text) and `AT&T House`: the XML
    // escapes each `&` once. Inline and formula strings were decoded a second time (`AT&T House`,
    // `Unit <3>`); shared strings once.
    const address = (ref: string, kind: string, xml: string) =>
      kind === 'inlineStr'
        ? `<c r="${ref}" t="inlineStr"><is><t>${xml}</t></is></c>`
        : `<c r="${ref}" t="${kind}"><v>${xml}</v></c>`;
    const cases = [
      ['inlineStr', 'AT&amp;amp;T House', 'AT&amp;T House'],
      ['inlineStr', 'Unit &amp;lt;3&amp;gt;', 'Unit &lt;3&gt;'],
      ['inlineStr', 'AT&amp;T House', 'AT&T House'],
      ['str', 'AT&amp;amp;T House', 'AT&amp;T House'],
      ['str', 'Unit &amp;lt;3&amp;gt; &#38;quot;', 'Unit &lt;3&gt; &quot;'],
      ['str', 'AT&amp;T House', 'AT&T House'],
      ['s', '0', 'AT&amp;T Tower'],
      ['s', '1', 'AT&T Tower'],
    ] as const;
    const sheet =
      inlineRow(1, [...HEADER, 'homeAddress']) +
      cases
        .map(
          ([kind, xml], i) =>
            `<row r="${i + 2}">${inline(`A${i + 2}`, `Ada${i}`)}${inline(`B${i + 2}`, 'Lamb')}` +
            `${inline(`C${i + 2}`, '2010-01-01')}${address(`D${i + 2}`, kind, xml)}</row>`,
        )
        .join('');
    const file = await storedIn([...FRONT, WORKBOOK, RELS, SHARED, STYLE, SHEET], sheet, [
      'AT&amp;amp;T Tower',
      'AT&amp;T Tower',
    ]);
    expect(await h.importFile(`la-adult-social-care/${MDI}/entities.xlsx`, file)).toMatchObject({
      outcome: 'loaded',
      loaded: cases.length,
    });
    expect((await attributesOf('la-adult-social-care')).map((a) => a.homeAddress)).toEqual(
      cases.map(([, , shown]) => shown),
    );
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

/**
 * Workbooks exceljs's streaming reader would load as other data than the partner's, silently:
 * refused whole, with a reason that says how to send them again.
 */
const NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"';
const HEADER = ['firstName', 'lastName', 'dateOfBirth'];
const text = (s: string) => () => [Buffer.from(s, 'utf8')];
const inline = (ref: string, v: string) => `<c r="${ref}" t="inlineStr"><is><t>${v}</t></is></c>`;
const inlineRow = (r: number, values: readonly string[]) =>
  `<row r="${r}">${values.map((v, i) => inline(`${String.fromCharCode(65 + i)}${r}`, v)).join('')}</row>`;
const sheetXml = (rows: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><worksheet ${NS}><sheetData>${rows}</sheetData></worksheet>`;

/** Cell style 1: a date (numFmtId 14); style 2: a percentage (numFmtId 9, `0%`). */
const STYLES: ZipSource = {
  name: 'xl/styles.xml',
  content: text(
    `<?xml version="1.0" encoding="UTF-8"?><styleSheet ${NS}>` +
      '<fonts count="1"><font><sz val="11"/></font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills>' +
      '<borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>' +
      '<cellXfs count="3"><xf numFmtId="0" xfId="0"/><xf numFmtId="14" xfId="0" applyNumberFormat="1"/>' +
      '<xf numFmtId="9" xfId="0" applyNumberFormat="1"/></cellXfs></styleSheet>',
  ),
};

/** A workbook of `sheet`, its styles, and `strings` as shared strings, its parts stored in `order`. */
async function storedIn(
  order: readonly string[],
  sheet: string,
  strings: readonly string[] = [],
  zip: ZipOptions = {},
): Promise<Buffer> {
  const shared = {
    content: text(
      `<?xml version="1.0" encoding="UTF-8"?><sst ${NS} count="${strings.length}" uniqueCount="${strings.length}">` +
        strings.map((s) => `<si><t>${s}</t></si>`).join('') +
        '</sst>',
    ),
  };
  const parts = [...workbookSources(text(sheetXml(sheet)), undefined, shared), STYLES];
  return buildZip(
    order.map((name) => parts.find((p) => p.name === name) ?? expect.fail(`no part ${name}`)),
    zip,
  );
}

const [CONTENT_TYPES, ROOT_RELS] = ['[Content_Types].xml', '_rels/.rels'];
const FRONT = [CONTENT_TYPES, ROOT_RELS];
const SHEET = 'xl/worksheets/sheet1.xml';
const [WORKBOOK, RELS, SHARED, STYLE] = [
  'xl/workbook.xml',
  'xl/_rels/workbook.xml.rels',
  'xl/sharedStrings.xml',
  'xl/styles.xml',
];

/** Shared strings 0–3: the header, then a percentage column's name. */
const PERCENT_STRINGS = [...HEADER, 'schoolTotalAbsencePercent'];
/** Rows 2–4: a date cell (2010-01-01 to 2010-01-03) and a 0% cell of 0.45. */
const percentSheet =
  `<row r="1">${PERCENT_STRINGS.map((_, i) => `<c r="${String.fromCharCode(65 + i)}1" t="s"><v>${i}</v></c>`).join('')}</row>` +
  [2, 3, 4]
    .map(
      (r) =>
        `<row r="${r}">${inline(`A${r}`, `Eli${r}`)}${inline(`B${r}`, 'Ward')}` +
        `<c r="C${r}" s="1"><v>${40177 + r}</v></c><c r="D${r}" s="2"><v>0.45</v></c></row>`,
    )
    .join('');

describe('workbooks the reader would load wrong are refused', () => {
  beforeAll(afresh);

  const stored = (partyId: string) => storedRecords(h.store, partyId, MDI);

  it('refuses ISO 8601 date cells (t="d") rather than load them as dates in 1905', async () => {
    const sheet =
      inlineRow(1, HEADER) +
      [2, 3, 4]
        .map(
          (r) =>
            `<row r="${r}">${inline(`A${r}`, `Ivy${r}`)}${inline(`B${r}`, 'Kerr')}` +
            `<c r="C${r}" s="1" t="d"><v>2010-03-0${r}T00:00:00Z</v></c></row>`,
        )
        .join('');
    const file = await storedIn([...FRONT, WORKBOOK, RELS, STYLE, SHEET], sheet);
    const blob = `social-housing-providers/${MDI}/iso-date-cells.xlsx`;
    expect(await h.importFile(blob, file)).toMatchObject({ outcome: 'rejected', reasons: ['xlsx-date-cells'] });
    expect(await h.report('rejected', blob)).toMatchObject({ fileErrors: [{ reason: 'xlsx-date-cells' }] });
    expect(await stored('social-housing-providers')).toEqual([]);
    // Written t = "d", which the worksheet's bytes do not show as t="d": the same rejection, found
    // as the row worker's parser reads the cell, not a bad cell in each row.
    const spaced = await storedIn([...FRONT, WORKBOOK, RELS, STYLE, SHEET], sheet.replaceAll('t="d"', 't = "d"'));
    const spacedBlob = `social-housing-providers/${MDI}/iso-date-cells-spaced.xlsx`;
    expect(await h.importFile(spacedBlob, spaced)).toMatchObject({ outcome: 'rejected', reasons: ['xlsx-date-cells'] });
    expect(await stored('social-housing-providers')).toEqual([]);
  });

  it('refuses an inline string of several runs, of which only the last would load, and loads one of a single run', async () => {
    const rows = (cell: (r: number) => string) =>
      inlineRow(1, HEADER) +
      [2, 3, 4]
        .map((r) => `<row r="${r}">${cell(r)}${inline(`B${r}`, 'Smith')}${inline(`C${r}`, `2010-01-1${r}`)}</row>`)
        .join('');
    const runs = await storedIn(
      [...FRONT, WORKBOOK, RELS, SHEET],
      rows((r) => `<c r="A${r}" t="inlineStr"><is><r><t>Anna</t></r><r><rPr><b/></rPr><t>bel${r}</t></r></is></c>`),
    );
    const blob = `la-adult-social-care/${MDI}/rich-text.xlsx`;
    expect(await h.importFile(blob, runs)).toMatchObject({ outcome: 'rejected', reasons: ['xlsx-inline-rich-text'] });
    expect(await stored('la-adult-social-care')).toEqual([]);

    const oneRun = await storedIn(
      [...FRONT, WORKBOOK, RELS, SHEET],
      rows((r) => `<c r="A${r}" t="inlineStr"><is><r><rPr><b/></rPr><t>Annabel${r}</t></r></is></c>`),
    );
    expect(await h.importFile(`la-adult-social-care/${MDI}/one-run.xlsx`, oneRun)).toMatchObject({
      outcome: 'loaded',
      loaded: 3,
    });
    expect((await stored('la-adult-social-care')).map((r) => r.given_name).sort()).toEqual([
      'ANNABEL2',
      'ANNABEL3',
      'ANNABEL4',
    ]);
  });

  it('rejects a workbook whose row numbers repeat at once, naming the row, rather than fail every attempt', async () => {
    const sheet =
      inlineRow(1, HEADER) + inlineRow(2, ['Ann', 'Lee', '2001-02-03']) + inlineRow(2, ['Bob', 'Lee', '2001-02-04']);
    const file = await storedIn([...FRONT, WORKBOOK, RELS, SHEET], sheet);
    const blob = `la-housing/${MDI}/row-twice.xlsx`;
    expect(await h.importFile(blob, file)).toMatchObject({ outcome: 'rejected', reasons: ['xlsx-row-order'] });
    expect(await h.report('rejected', blob)).toMatchObject({ fileErrors: [{ reason: 'xlsx-row-order', row: 2 }] });
    expect(await stored('la-housing')).toEqual([]);
  });

  it('rejects a workbook with a cell given twice in a row, or naming another row, naming the row, rather than keep one value unseen', async () => {
    // exceljs places a cell by its column alone: Bob replaced Ann in row 2, and row 3's cell
    // naming row 7 loaded in row 3. Cells merely out of column order lose nothing and load.
    const twice =
      inlineRow(1, HEADER) +
      `<row r="2">${inline('A2', 'Ann')}${inline('A2', 'Bob')}${inline('B2', 'Lee')}${inline('C2', '2001-02-03')}</row>`;
    const elsewhere =
      inlineRow(1, HEADER) +
      inlineRow(2, ['Ann', 'Lee', '2001-02-03']) +
      `<row r="3">${inline('A7', 'Bob')}${inline('B3', 'Lee')}${inline('C3', '2001-02-04')}</row>`;
    for (const [name, sheet, row] of [
      ['cell-twice.xlsx', twice, 2],
      ['cell-elsewhere.xlsx', elsewhere, 3],
    ] as const) {
      const blob = `la-housing/${MDI}/${name}`;
      const file = await storedIn([...FRONT, WORKBOOK, RELS, SHEET], sheet);
      expect(await h.importFile(blob, file)).toMatchObject({ outcome: 'rejected', reasons: ['xlsx-cell-reference'] });
      expect(await h.report('rejected', blob)).toMatchObject({ fileErrors: [{ reason: 'xlsx-cell-reference', row }] });
      expect(await stored('la-housing')).toEqual([]);
    }
    const unordered =
      inlineRow(1, HEADER) +
      `<row r="2">${inline('C2', '2001-02-03')}${inline('A2', 'Ann')}${inline('B2', 'Lee')}</row>`;
    const blob = `la-housing/${MDI}/cells-unordered.xlsx`;
    expect(await h.importFile(blob, await storedIn([...FRONT, WORKBOOK, RELS, SHEET], unordered))).toMatchObject({
      outcome: 'loaded',
      loaded: 1,
    });
    expect((await stored('la-housing')).map((r) => r.given_name)).toEqual(['ANN']);
  });

  it("rejects a workbook with a row past Excel's last, naming the row, and loads one whose last row is Excel's last", async () => {
    // Excel drops every row past 1,048,576 on opening the file: the partner could not see it.
    const sheet = (last: number) =>
      inlineRow(1, HEADER) + inlineRow(2, ['Ann', 'Lee', '2001-02-03']) + inlineRow(last, ['Bob', 'Lee', '2001-02-04']);
    const past = `la-housing/${MDI}/past-last-row.xlsx`;
    expect(await h.importFile(past, await storedIn([...FRONT, WORKBOOK, RELS, SHEET], sheet(1_048_577)))).toMatchObject(
      {
        outcome: 'rejected',
        reasons: ['xlsx-too-many-rows'],
      },
    );
    expect(await h.report('rejected', past)).toMatchObject({
      fileErrors: [{ reason: 'xlsx-too-many-rows', row: 1_048_577 }],
    });
    const last = `la-housing/${MDI}/at-last-row.xlsx`;
    expect(await h.importFile(last, await storedIn([...FRONT, WORKBOOK, RELS, SHEET], sheet(1_048_576)))).toMatchObject(
      {
        outcome: 'loaded',
        loaded: 2,
      },
    );
  });

  it('refuses a workbook whose styles or workbook part is stored after a worksheet read as it inflates', async () => {
    for (const [file, late] of [
      ['styles-last.xlsx', [...FRONT, WORKBOOK, RELS, SHARED, SHEET, STYLE]],
      ['workbook-last.xlsx', [...FRONT, RELS, SHARED, STYLE, SHEET, WORKBOOK]],
    ] as const) {
      const blob = `la-education/${MDI}/${file}`;
      expect(await h.importFile(blob, await storedIn(late, percentSheet, PERCENT_STRINGS))).toMatchObject({
        outcome: 'rejected',
        reasons: ['xlsx-part-order'],
      });
    }
    expect(await stored('la-education')).toEqual([]);
  });

  it('reads a worksheet stored before its styles and workbook part when the reader holds it back, as exceljs and Excel store them', async () => {
    const file = await workbook((sheet) => {
      sheet.addRow([...HEADER, 'schoolTotalAbsencePercent']);
      for (const day of [1, 2, 3]) sheet.addRow([`Eli${day}`, 'Ward', new Date(Date.UTC(2010, 0, day)), 0.45]);
      sheet.getColumn(3).numFmt = 'dd/mm/yyyy';
      sheet.getColumn(4).numFmt = '0%';
    });
    // The shared strings after the worksheet hold it back until every other part is read.
    const at = (name: string) => file.indexOf(name);
    expect([SHARED, STYLE, WORKBOOK].map(at).every((p) => p > at(SHEET))).toBe(true);
    expect(await h.importFile(`la-education/${MDI}/held-back.xlsx`, file)).toMatchObject({
      outcome: 'loaded',
      loaded: 3,
    });
    const records = await stored('la-education');
    expect(records.map((r) => r.date_of_birth).sort()).toEqual(['2010-01-01', '2010-01-02', '2010-01-03']);
    expect(records.map((r) => r.attributes.schoolTotalAbsencePercent)).toEqual([45, 45, 45]);
  });
});

/**
 * A worksheet held back (copied to a temporary file) is read after every entry, but unzipper
 * announced its end as soon as it had read the zip's last bytes, and entries it had inflated
 * while exceljs was still copying the worksheet were lost: the less stored after the worksheet,
 * the surer. Its shared strings and styles lost, its header was refused as unreadable, or (styles
 * alone lost) its dates and percentages loaded as day counts and fractions.
 */
describe('parts stored after a held-back worksheet', () => {
  beforeAll(afresh);

  /** The latest snapshot's rows: name, date of birth and percentage as stored. */
  const latestValues = async () => {
    const records = await storedRecords(h.store, 'la-education', MDI);
    return records
      .filter((r) => r.import_run_id === records.at(-1)?.import_run_id)
      .map((r) => [r.given_name, r.date_of_birth, r.attributes.schoolTotalAbsencePercent]);
  };
  /** {@link percentSheet}'s rows, as the workbook holds them. */
  const ELI_VALUES = [
    ['ELI2', '2010-01-01', 45],
    ['ELI3', '2010-01-02', 45],
    ['ELI4', '2010-01-03', 45],
  ];

  it.each([
    ['excel.xlsx', [...FRONT, WORKBOOK, RELS, SHEET, STYLE, SHARED], {}],
    ['strings-last.xlsx', [...FRONT, WORKBOOK, RELS, STYLE, SHEET, SHARED], {}],
    ['styles-last.xlsx', [...FRONT, WORKBOOK, RELS, SHEET, SHARED, STYLE], {}],
    ['openpyxl.xlsx', [SHEET, SHARED, STYLE, ROOT_RELS, WORKBOOK, RELS, CONTENT_TYPES], {}],
    // Sizes in data descriptors, as Apache POI streams a deflated entry.
    ['poi.xlsx', [...FRONT, WORKBOOK, RELS, SHEET, STYLE, SHARED], { dataDescriptors: true }],
    ['poi-strings-last.xlsx', [...FRONT, WORKBOOK, RELS, STYLE, SHEET, SHARED], { dataDescriptors: true }],
    // ZIP64 descriptors (8-byte sizes), as a streaming writer that uses ZIP64 writes them.
    ['zip64-streamed.xlsx', [...FRONT, WORKBOOK, RELS, SHEET, STYLE, SHARED], { zip64: 'ones' }],
    ['zip64-streamed-strings-last.xlsx', [...FRONT, WORKBOOK, RELS, STYLE, SHEET, SHARED], { zip64: 'zero' }],
  ] as const)('reads them all: %s', async (name, order, zip: ZipOptions) => {
    const file = await storedIn(order, percentSheet, PERCENT_STRINGS, zip);
    const at = (part: string) => file.indexOf(part);
    expect(at(SHARED)).toBeGreaterThan(at(SHEET));
    expect(await h.importFile(`la-education/${MDI}/${name}`, file)).toMatchObject({
      outcome: 'loaded',
      rows: 3,
      loaded: 3,
      rejected: 0,
    });
    expect(await latestValues()).toEqual(ELI_VALUES);
  });

  it('reads the styles stored after the worksheet of a workbook of inline strings, whose percentages loaded as fractions', async () => {
    // No shared strings at all: the worksheet is held back for the workbook's relationships. The
    // dates are text, so nothing but the lost `0%` format told the rows apart from good ones.
    const sheet =
      inlineRow(1, PERCENT_STRINGS) +
      [2, 3, 4]
        .map(
          (r) =>
            `<row r="${r}">${inline(`A${r}`, `Eli${r}`)}${inline(`B${r}`, 'Ward')}` +
            `${inline(`C${r}`, `2010-01-0${r - 1}`)}<c r="D${r}" s="2"><v>0.45</v></c></row>`,
        )
        .join('');
    const file = await storedIn([...FRONT, WORKBOOK, SHEET, RELS, STYLE], sheet);
    expect(await h.importFile(`la-education/${MDI}/inline-styles-last.xlsx`, file)).toMatchObject({
      outcome: 'loaded',
      loaded: 3,
    });
    expect(await latestValues()).toEqual(ELI_VALUES);
  });
});

/**
 * A streaming zip writer that uses ZIP64 (Python's zipfile writing to a pipe, .NET's ZipArchive
 * on an unseekable stream) puts each entry's sizes in a ZIP64 data descriptor after its data:
 * unzipper read the descriptor short, and such a workbook was refused as unreadable.
 */
describe('a workbook zipped by a streaming ZIP64 writer', () => {
  beforeAll(afresh);

  /** The records of the party's latest snapshot, without what differs from one import to the next. */
  const latest = async (partyId: string) => {
    const records = await storedRecords(h.store, partyId, MDI);
    return records
      .filter((r) => r.import_run_id === records.at(-1)?.import_run_id)
      .map(({ import_run_id: _, as_of: __, ...rest }) => rest);
  };

  it.each([
    // exceljs's order: the worksheet before the shared strings, so it is copied and read last.
    ['held back', 'ones', 'la-childrens-social-care'],
    // The shared strings first: the worksheet is read as it inflates.
    ['streamed', 'zero', 'la-education'],
  ] as const)('loads as the same workbook written normally (worksheet %s)', async (how, zip64, party) => {
    const normal =
      how === 'held back'
        ? await workbook((sheet) => {
            sheet.addRow([...HEADER, 'homeAddress']);
            for (const day of [1, 2, 3])
              sheet.addRow([`Ida${day}`, 'Moss', new Date(Date.UTC(2010, 0, day)), `${day} Mill Lane`]);
            sheet.getColumn(3).numFmt = 'dd/mm/yyyy';
          })
        : await storedIn([...FRONT, WORKBOOK, RELS, SHARED, STYLE, SHEET], percentSheet, PERCENT_STRINGS);
    const streamed = await buildZip(sourcesOf(normal), { zip64 });
    // The ZIP64 form it is meant to be: version 4.5, bit 3, a ZIP64 extra and end of directory.
    expect(streamed.readUInt16LE(4)).toBe(45);
    expect(streamed.readUInt16LE(6) & 0x08).toBe(0x08);
    expect(streamed.indexOf(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBeGreaterThan(0);

    expect(await h.importFile(`${party}/${MDI}/normal-2025-01-01.xlsx`, normal)).toMatchObject({
      outcome: 'loaded',
      loaded: 3,
    });
    const expected = await latest(party);
    expect(expected).toHaveLength(3);
    expect(await h.importFile(`${party}/${MDI}/zip64-2025-01-02.xlsx`, streamed)).toMatchObject({
      outcome: 'loaded',
      rows: 3,
      loaded: 3,
      rejected: 0,
    });
    expect(await latest(party)).toEqual(expected);
  });
});

/**
 * A streaming writer (Apache POI, zip-stream) puts each entry's sizes in a data descriptor after
 * its data. unzipper found the end of such an entry by scanning its compressed bytes for the
 * descriptor's signature, `PK\x07\x08`, which compressed bytes hold by chance (some 2% of 84 MB
 * workbooks): the entry was cut short there and a good workbook refused as unreadable.
 */
describe('an entry whose compressed bytes hold a data descriptor signature', () => {
  beforeAll(afresh);

  const SIGNATURE = Buffer.from([0x50, 0x4b, 0x07, 0x08]);
  /**
   * A thumbnail (Excel saves one with "Save Thumbnail"): a JPEG is as good as random bytes, so
   * deflate stores it as it is, these 4 KiB with the signature in their middle. Chance puts the
   * signature in a large worksheet's compressed XML the same way, but not in a small one: XML
   * cannot hold the bytes 0x07 and 0x08 themselves.
   */
  const thumbnail: ZipSource = {
    name: 'docProps/thumbnail.jpeg',
    content: () => {
      const bytes = Buffer.alloc(4096);
      let x = 0x2545f491;
      for (let i = 0; i < bytes.length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        bytes[i] = x & 0xff;
      }
      SIGNATURE.copy(bytes, 2048);
      return [bytes];
    },
  };

  it('loads as the same workbook with sizes in its local headers', async () => {
    // Excel's order: the worksheet held back until the shared strings after it are read.
    const excel = await storedIn([...FRONT, WORKBOOK, RELS, STYLE, SHEET, SHARED], percentSheet, PERCENT_STRINGS);
    const sources = sourcesOf(excel);
    sources.splice(2, 0, thumbnail);
    const count = (zipBytes: Buffer) => {
      let n = 0;
      for (let p = zipBytes.indexOf(SIGNATURE); p !== -1; p = zipBytes.indexOf(SIGNATURE, p + 1)) n++;
      return n;
    };
    const normal = await buildZip(sources);
    // The signature is in the thumbnail's compressed bytes.
    expect(count(normal)).toBe(1);
    expect(await h.importFile(`la-education/${MDI}/normal-2025-01-01.xlsx`, normal)).toMatchObject({
      outcome: 'loaded',
      loaded: 3,
    });
    const latestRows = async () => {
      const records = await storedRecords(h.store, 'la-education', MDI);
      return records
        .filter((r) => r.import_run_id === records.at(-1)?.import_run_id)
        .map((r) => [r.given_name, r.date_of_birth]);
    };
    const expected = await latestRows();
    expect(expected).toHaveLength(3);

    for (const [day, zip] of [
      ['2025-01-02', { dataDescriptors: true }],
      ['2025-01-03', { zip64: 'ones' }],
    ] as const) {
      const streamed = await buildZip(sources, zip);
      // Each entry's descriptor on top of the thumbnail's bytes.
      expect(count(streamed)).toBe(1 + sources.length);
      expect(await h.importFile(`la-education/${MDI}/streamed-${day}.xlsx`, streamed)).toEqual({
        outcome: 'loaded',
        runId: expect.any(String),
        rows: 3,
        loaded: 3,
        rejected: 0,
      });
      expect(await latestRows()).toEqual(expected);
    }
  });
});

/**
 * Two more forms APPNOTE gives a writer that sets bit 3 (sizes in a data descriptor): the real
 * sizes in the local header as well, and a descriptor without its optional signature `PK\x07\x08`
 * (4.3.9.3: 12 bytes, or 20 for ZIP64). unzipper read the first by the local header's size and
 * then took the descriptor for the next record (`invalid signature: 0x8074b50`); it read the
 * second as if it had its signature, four bytes of the next header with it. Either workbook was
 * refused as unreadable.
 */
describe('a workbook whose data descriptors take another form APPNOTE allows', () => {
  let expected: unknown[];
  const SIGNATURE = Buffer.from([0x50, 0x4b, 0x07, 0x08]);
  // Excel's order: the worksheet held back until the shared strings after it are read.
  const order = [...FRONT, WORKBOOK, RELS, STYLE, SHEET, SHARED];
  /**
   * The workbook's parts and an empty one, whose sizes in a ZIP64 descriptor begin as they would
   * in a 4-byte one (compressed 2, then zero): only its ZIP64 extra field tells them apart.
   */
  const written = async (zip: ZipOptions = {}) => {
    const sources = sourcesOf(await storedIn(order, percentSheet, PERCENT_STRINGS));
    sources.splice(2, 0, { name: 'customXml/item1.xml', content: () => [] });
    return buildZip(sources, zip);
  };

  /** The records of the latest snapshot, without what differs from one import to the next. */
  const latest = async () => {
    const records = await storedRecords(h.store, 'la-education', MDI);
    return records
      .filter((r) => r.import_run_id === records.at(-1)?.import_run_id)
      .map(({ import_run_id: _, as_of: __, ...rest }) => rest);
  };

  beforeAll(async () => {
    await afresh();
    const normal = await written();
    expect(await h.importFile(`la-education/${MDI}/normal-2025-01-01.xlsx`, normal)).toMatchObject({
      outcome: 'loaded',
      loaded: 3,
    });
    expected = await latest();
    expect(expected).toHaveLength(3);
  });

  it.each([
    ['2025-01-02', 'sizes in the local headers as well', { dataDescriptors: true, localSizes: true }],
    ['2025-01-03', 'descriptors without their signature', { dataDescriptors: true, descriptorSignature: false }],
    ['2025-01-04', 'both', { dataDescriptors: true, localSizes: true, descriptorSignature: false }],
    ['2025-01-05', 'ZIP64, sizes in the local headers as well', { zip64: 'zero', localSizes: true }],
    ['2025-01-06', 'ZIP64 descriptors without their signature', { zip64: 'ones', descriptorSignature: false }],
  ] as const)('loads as the same workbook written normally (%s: %s)', async (day, _, zip: ZipOptions) => {
    const file = await written(zip);
    // The form it is meant to be: bit 3, and the local header's sizes or no descriptor signature.
    expect(file.readUInt16LE(6) & 0x08).toBe(0x08);
    if (zip.localSizes === true) expect(file.readUInt32LE(18)).toBeGreaterThan(0);
    if (zip.descriptorSignature === false) expect(file.indexOf(SIGNATURE)).toBe(-1);
    else expect(file.indexOf(SIGNATURE)).toBeGreaterThan(0);

    expect(await h.importFile(`la-education/${MDI}/streamed-${day}.xlsx`, file)).toEqual({
      outcome: 'loaded',
      runId: expect.any(String),
      rows: 3,
      loaded: 3,
      rejected: 0,
    });
    expect(await latest()).toEqual(expected);
  });

  it.each([
    ['2025-02-01', 'with its signature', { dataDescriptors: true }],
    ['2025-02-02', 'without its signature', { dataDescriptors: true, descriptorSignature: false }],
    ['2025-02-03', 'sizes in the local header as well', { dataDescriptors: true, localSizes: true }],
  ] as const)(
    'refuses a descriptor that disagrees with the central directory (%s: %s)',
    async (day, _, zip: ZipOptions) => {
      const file = await written(zip);
      // The first entry's descriptor, after its data: its CRC changed, the directory's left as it was.
      const data = 30 + file.readUInt16LE(26) + file.readUInt16LE(28);
      // Its central header: the first, where the end of central directory (no comment) says.
      const first = file.readUInt32LE(file.length - 22 + 16);
      const crc = data + file.readUInt32LE(first + 20) + (zip.descriptorSignature === false ? 0 : 4);
      expect(file.readUInt32LE(crc)).toBe(file.readUInt32LE(first + 16));
      file.writeUInt32LE((file.readUInt32LE(crc) ^ 1) >>> 0, crc);
      expect(await h.importFile(`la-education/${MDI}/mismatched-${day}.xlsx`, file)).toMatchObject({
        outcome: 'rejected',
        reasons: ['xlsx-unreadable'],
      });
    },
  );
});

describe('WorksheetScan', () => {
  /** The reason for `xml` fed in chunks of `size` bytes (every split of a pattern, for small sizes). */
  const scan = (xml: string, size: number) => {
    const bytes = Buffer.from(xml);
    const s = new WorksheetScan();
    for (let i = 0; i < bytes.length; i += size) {
      const reason = s.push(bytes.subarray(i, i + size));
      if (reason !== undefined) return reason;
    }
    return undefined;
  };
  const sizes = [1, 2, 3, 5, 7, 1 << 16];

  it('finds a date cell and a several-run inline string however the chunks split them', () => {
    for (const size of sizes) {
      expect(scan(sheetXml(`<row r="2"><c r="C2" s="1" t="d"><v>2010-03-02</v></c></row>`), size)).toBe(
        'xlsx-date-cells',
      );
      expect(scan(sheetXml(`<row r="2"><c r='C2' t='d'><v>2010-03-02</v></c></row>`), size)).toBe('xlsx-date-cells');
      expect(
        scan(sheetXml(`<row r="2"><c r="A2" t="inlineStr"><is><r><t>A</t></r>\n<r><t>b</t></r></is></c></row>`), size),
      ).toBe('xlsx-inline-rich-text');
      expect(scan(sheetXml(`<c t="inlineStr"><is><t>A</t><rPh sb="0" eb="1"><t>a</t></rPh></is></c>`), size)).toBe(
        'xlsx-inline-rich-text',
      );
    }
  });

  it('passes what looks like them in a comment or a CDATA section, however the chunks split them', () => {
    // Neither escapes `<`: a tag written there is text, which the parser never takes for a cell.
    const long = 'x'.repeat(1500);
    for (const size of sizes) {
      const xml = sheetXml(
        `<!-- <c r="A1" t="d"> ${long} <![CDATA[ --><row r="2"><!----><!-- <is><t>a</t><t>b</t></is> -->` +
          `<c r="A2" t="inlineStr"><is><t><![CDATA[a<t>b</t>${long}<c t="d">]]></t></is></c>` +
          `<c r="B2" t="inlineStr"><is><t><![CDATA[]]]]><![CDATA[></is><is><t>]]></t></is></c>` +
          // Looking back from text after a long comment finds no `<` or `>` but the comment's.
          `<c r="C2" t="inlineStr"><is><t><!-- ${long} --> t="d"</t></is></c></row>`,
      );
      expect(scan(xml, size), `chunks of ${size}`).toBeUndefined();
    }
  });

  it('still finds a date cell and a second text after a comment or a CDATA section ends', () => {
    for (const size of sizes) {
      const after = (cells: string) => sheetXml(`<!-- a -> b --><row r="2"><!-- <c -->${cells}</row>`);
      expect(scan(after(`<c r="C2" t="d"><v>2010-03-02</v></c>`), size)).toBe('xlsx-date-cells');
      expect(scan(after(`<c t="inlineStr"><is><t><![CDATA[A]]></t><t>b</t></is></c>`), size)).toBe(
        'xlsx-inline-rich-text',
      );
      expect(scan(after(`<c t="inlineStr"><is><t><![CDATA[<t>]]></t></is></c><c t="d"/>`), size)).toBe(
        'xlsx-date-cells',
      );
    }
  });

  it('finds a date cell after an attribute value holding `>`, and no type in a value, however the chunks split them', () => {
    for (const size of sizes) {
      expect(scan(sheetXml(`<row r="2"><c r="C2" x="a>b" t="d"><v>2010-03-02</v></c></row>`), size)).toBe(
        'xlsx-date-cells',
      );
      expect(scan(sheetXml(`<row r="2"><c x='>' t="d"/></row>`), size)).toBe('xlsx-date-cells');
      expect(scan(sheetXml(`<row r="2"><c r="C2" x='a t="d"' y="b > t=&quot;d&quot;"><v>1</v></c></row>`), size)).toBe(
        undefined,
      );
    }
  });

  it('passes text that only looks like them, and inline strings of one text each', () => {
    const long = 'x'.repeat(500);
    for (const size of sizes) {
      const xml = sheetXml(
        `<row r="2"><c r="A2" t="inlineStr"><is><t xml:space="preserve">${long} t="d" ${long}</t></is></c>` +
          `<c r="B2" t="inlineStr"><is/></c><c r="C2" t="inlineStr"><is><r><t>one run</t></r></is></c>` +
          `<c r="D2" t="s"><v>0</v></c><c r="E2" t="inlineStr"><is><t>a &gt; t="d"</t></is></c></row>`,
      );
      expect(scan(xml, size)).toBeUndefined();
    }
  });
});
