import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_REPORTED_ROW_ERRORS } from '../../../shared/imports/import-report.js';
import { createImportHarness, type ImportHarness } from './import-harness.js';

/**
 * The `import.loaded` line counts the bad rows (`rejected`) and, by reason, their errors
 * (`rowErrors.<reason>`): what an operator watching the logs reads of a partner's extract, the
 * report in processed/ listing only its first 1,000 errors. The counts by reason were taken from
 * that list, so a load of 1,500 bad postcodes logged `rejected: 1500` beside
 * `rowErrors.postcode-format: 1000`.
 */
const MDI = 'multiple-disadvantage-indicators';
const name = `la-housing/${MDI}/many-bad-postcodes.csv`;

describe('the import.loaded line', () => {
  let h: ImportHarness;
  beforeEach(async () => {
    h = await createImportHarness({ maxBadRowShare: 0.5 });
  });
  afterEach(async () => {
    await h?.close();
  });

  it('counts every row error by reason, not only the first 1,000 the report lists', async () => {
    const bad = MAX_REPORTED_ROW_ERRORS + 500;
    const lines = ['firstName,lastName,dateOfBirth,homePostcode'];
    for (let i = 0; i < 2000; i++) lines.push(`Ann${i},Lee,1980-01-01,ME14 1XX`);
    for (let i = 0; i < bad; i++) lines.push(`Bo${i},Lee,1980-01-01,NOT A POSTCODE`);
    const outcome = await h.importFile(name, lines.join('\n'));
    expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 2000, rejected: bad });
    const report = await h.report('processed', name);
    expect({ listed: report?.rowErrors.length, notListed: report?.rowErrorsNotListed }).toEqual({
      listed: MAX_REPORTED_ROW_ERRORS,
      notListed: 500,
    });
    const loaded = h.logLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.event === 'import.loaded');
    expect(loaded).toMatchObject({ rejected: bad, 'rowErrors.postcode-format': bad });
  });
});
