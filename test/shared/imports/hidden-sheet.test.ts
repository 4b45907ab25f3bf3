import ExcelJS from 'exceljs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createImportHarness, storedRecords, type ImportHarness } from './import-harness.js';

/**
 * A partner's workbook holds its extract on the one sheet Excel shows, and a hidden one beside it
 * (the lists behind a drop-down, a working sheet). It is refused, as any workbook of several
 * sheets is: which sheet is the extract is not guessed, and a hidden sheet's rows are no less
 * personal. But its report said `xlsx-multiple-sheets`, and the partner, seeing one sheet tab,
 * could not tell what to mend. It now says `xlsx-hidden-sheet`.
 */
const MDI = 'multiple-disadvantage-indicators';
let h: ImportHarness;
beforeAll(async () => {
  h = await createImportHarness();
});
afterAll(async () => h?.close());

async function workbookWith(...others: { name: string; state: 'visible' | 'hidden' | 'veryHidden' }[]) {
  const workbook = new ExcelJS.Workbook();
  const extract = workbook.addWorksheet('Extract');
  extract.addRow(['firstName', 'lastName', 'dateOfBirth', 'inTemporaryAccommodation']);
  extract.addRow(['Ann', 'Smith', '2010-01-01', 'Y']);
  for (const { name, state } of others) workbook.addWorksheet(name, { state }).addRow(['Y', 'N']);
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

it.each(['hidden', 'veryHidden'] as const)(
  'names a %s sheet beside the one shown as the reason the workbook is refused',
  async (state) => {
    const file = `la-housing/${MDI}/with-${state}-sheet.xlsx`;
    const outcome = await h.importFile(file, await workbookWith({ name: 'Lists', state }));

    expect(outcome).toMatchObject({ outcome: 'rejected', reasons: ['xlsx-hidden-sheet'] });
    expect(await h.report('rejected', file)).toMatchObject({ fileErrors: [{ reason: 'xlsx-hidden-sheet' }] });
    expect(await storedRecords(h.store, 'la-housing', MDI)).toEqual([]);
  },
);

it('still says several sheets where more than one is shown, a hidden one beside them or not', async () => {
  const file = `la-housing/${MDI}/two-shown.xlsx`;
  const outcome = await h.importFile(
    file,
    await workbookWith({ name: 'Notes', state: 'visible' }, { name: 'Lists', state: 'hidden' }),
  );

  expect(outcome).toMatchObject({ outcome: 'rejected', reasons: ['xlsx-multiple-sheets'] });
});
