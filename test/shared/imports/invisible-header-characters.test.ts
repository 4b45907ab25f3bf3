import ExcelJS from 'exceljs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createImportHarness, storedRecords, type ImportHarness } from './import-harness.js';

/**
 * A header cell pasted from a web page or a document can carry characters that show as nothing: a
 * zero-width space (U+200B), a zero-width non-joiner or joiner (U+200C/D), a word joiner (U+2060),
 * a byte order mark inside the text (U+FEFF). "first\u200BName" looks exactly like firstName, yet
 * the file was refused as `column-not-in-agreement` (found by a review), while spaces and
 * non-breaking spaces in a name were already ignored. Header names are matched without them; a
 * data value keeps every character it was sent with.
 */
const MDI = 'multiple-disadvantage-indicators';
const blob = (file: string) => `la-housing/${MDI}/${file}`;

const HEADER = ['first\u200BName', 'last\u200CName', 'dateOf\u2060Birth', 'gen\uFEFFder', 'home\u200DPostcode'];
const rows = Array.from({ length: 20 }, (_, i) => [`Ann${i}`, 'Smith', '1980-01-01', 'Fe\u200Bmale', 'ME1 0AA']);

describe('a header name holding invisible format characters', () => {
  let h: ImportHarness;
  beforeEach(async () => {
    h = await createImportHarness();
  });
  afterEach(async () => {
    await h?.close();
  });

  const expectLoadedAsSent = async (file: string) => {
    const report = (await h.report('processed', blob(file))) ?? (await h.report('rejected', blob(file)));
    expect(report, JSON.stringify(report?.fileErrors)).toMatchObject({ outcome: 'loaded', counts: { loaded: 20 } });
    const [first] = await storedRecords(h.store, 'la-housing', MDI);
    expect(first).toMatchObject({ given_name: 'ANN0', family_name: 'SMITH', date_of_birth: '1980-01-01' });
    // Only the names are matched without them: a value is stored as sent.
    expect(first!.attributes.gender).toBe('Fe\u200Bmale');
  };

  it('CSV: matches the column it looks like', async () => {
    await h.importFile(blob('h.csv'), [HEADER, ...rows].map((r) => r.join(',')).join('\n'));
    await expectLoadedAsSent('h.csv');
  });

  it('XLSX: matches the column it looks like', async () => {
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet('Extract');
    sheet.addRow(HEADER);
    for (const row of rows) sheet.addRow(row);
    await h.importFile(blob('h.xlsx'), Buffer.from(await book.xlsx.writeBuffer()));
    await expectLoadedAsSent('h.xlsx');
  });

  it('still refuses a name that differs by a visible character', async () => {
    const outcome = await h.importFile(
      blob('v.csv'),
      [['first\u200BNames', 'lastName', 'dateOfBirth'], ...rows.map((r) => r.slice(0, 3))]
        .map((r) => r.join(','))
        .join('\n'),
    );
    expect(outcome).toMatchObject({ outcome: 'rejected' });
    expect((await h.report('rejected', blob('v.csv')))?.fileErrors).toEqual([
      { reason: 'column-not-in-agreement', columnIndex: 1 },
      { reason: 'missing-required-column', column: 'firstName' },
    ]);
  });
});
