import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { seedExtracts, type SeededExtract } from '../../../shared/synthetic/extracts/demo-seed.js';
import { AGREEMENTS_DIR, createImportHarness, type ImportHarness } from './import-harness.js';

/** The seed generator's extracts are what `npm start` loads: every one must import. */
describe('seeded extracts', () => {
  let h: ImportHarness;
  let seeded: SeededExtract[];
  let outDir: string;

  beforeAll(async () => {
    h = await createImportHarness();
    outDir = mkdtempSync(join(tmpdir(), 'lintel-seed-'));
    seeded = await seedExtracts({
      agreements: loadAgreements(AGREEMENTS_DIR),
      outDir,
      blobs: h.blobs,
      container: h.containers.incoming,
      size: 400,
      asOf: '2025-03-31',
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('writes one extract for every source party of every dataset in the agreements', () => {
    const agreements = loadAgreements(AGREEMENTS_DIR);
    const expected = agreements
      .all()
      .flatMap(({ agreement }) =>
        agreement.datasets.flatMap((d) => d.sources.map((party) => `${party}/${d.id}/extract-2025-03-31.csv`)),
      );
    expect(seeded.map((s) => s.blobName).sort()).toEqual(expected.sort());
    expect(seeded.every((s) => s.rows === 120)).toBe(true);
  });

  it('imports every extract, with only the bad rows its error profile puts there', async () => {
    for (const extract of seeded) {
      const outcome = await h.run(extract.blobName);
      expect(outcome, extract.blobName).toMatchObject({ outcome: 'loaded', rows: 120 });
      if (outcome.outcome === 'loaded') expect(outcome.rejected, extract.blobName).toBeLessThanOrEqual(6);
    }
  });

  it('writes the truth of every row beside the extracts', () => {
    const truth = readFileSync(join(outDir, 'truth.csv'), 'utf8').trim().split('\n').slice(1);
    expect(truth).toHaveLength(seeded.reduce((n, s) => n + s.rows, 0));
    expect(truth[0]).toMatch(/^[a-z-]+\/[a-z-]+\/extract-2025-03-31\.csv,2,P\d+,\d+$/);
  });
});
