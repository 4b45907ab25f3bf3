import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { COUNTS_FILE, exportCurated } from '../../../shared/curated/curated-export.js';
import { agreementsFolderWith } from '../agreements/agreement-files.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';

const FOLDER = 'la-housing/service-planning/multiple-disadvantage-indicators/';

/**
 * The ISA's planning grant naming gender values that begin as a spreadsheet formula does: the
 * categories are the agreement's labels, published as they are written, in a CSV an analyst may
 * open in Excel rather than Power BI.
 */
const FORMULA_LIKE = ['=1+2', '+3', '-4', '@SUM(5)'];

describe("the planning export's CSV opened in a spreadsheet", () => {
  let h: ImportHarness;

  beforeAll(async () => {
    h = await createImportHarness();
  });
  afterAll(() => h?.close());

  it('holds no category a spreadsheet would run as a formula: each such label is text, begun with an apostrophe', async () => {
    const agreements = loadAgreements(
      agreementsFolderWith([
        {
          agreement: 'isa',
          from: 'gender: [Female, Male]',
          to: `gender: [${FORMULA_LIKE.map((c) => `'${c}'`).join(', ')}, Female, Male]`,
        },
      ]),
    );
    const container = await h.exportContainer();
    const [summary] = (await exportCurated(h.exportDeps(container, { agreements }))).summaries;
    expect(summary).toMatchObject({ partyId: 'la-housing', outcome: 'written' });

    const csv = (
      await h.blobs.getContainerClient(container).getBlobClient(`${FOLDER}latest/${COUNTS_FILE}`).downloadToBuffer()
    ).toString('utf8');
    const rows = csv
      .trimEnd()
      .split('\r\n')
      .slice(1)
      .map((row) => row.split(','));
    for (const cells of rows) for (const cell of cells) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    expect(rows.filter(([, , measure]) => measure === 'gender').map(([, , , category]) => category)).toEqual([
      ...FORMULA_LIKE.map((c) => `'${c}`),
      'Female',
      'Male',
      'other values',
      'not recorded',
    ]);
  });
});
