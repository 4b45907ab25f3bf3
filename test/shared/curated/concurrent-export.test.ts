import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COUNTS_FILE,
  COUNTS_PARQUET_FILE,
  exportCurated,
  MANIFEST_FILE,
} from '../../../shared/curated/curated-export.js';
import type { ImportHarness } from '../imports/import-harness.js';
import {
  blobsWithEtags,
  curatedHarness,
  DATASET,
  FOLDER,
  housing as housingOf,
  importHousing,
  releasesInView,
  startHeldRun,
} from './curated-runs.js';

/** Housing's extract of `n` children, its NHS numbers this file's own. */
const housing = (n: number) => housingOf(n, 700);

/**
 * The monthly timer and an operator's `npm run curate` (or two hosts) run the planning export at
 * once. Each run heals what it takes for a dead run's leftovers (a release in latest/ the SQL view
 * does not hold), so the second, meeting the first between its latest/ write and its SQL commit,
 * put latest/ back and emptied the first's dated folder, wrote its own release, and the first then
 * committed its SQL release: Power BI's files and its SQL view showed two different releases.
 */
describe('two planning exports at once', () => {
  let h: ImportHarness;
  let container: string;
  const read = async (name: string) => h.blobs.getContainerClient(container).getBlobClient(name).downloadToBuffer();
  const contents = () => blobsWithEtags(h, container);
  const view = () => releasesInView(h);

  beforeAll(async () => {
    ({ h, container } = await curatedHarness(housing(40)));
    await exportCurated(h.exportDeps(container, { now: () => new Date('2026-11-01T06:00:00.000Z') }));
    await importHousing(h, housing(55));
  });
  afterAll(() => h?.close());

  it('lets a second run touch nothing while the first is between its latest/ write and its SQL commit, and says it is busy', async () => {
    // Run A (the timer) writes its dated folder and latest/, and is held as it opens the SQL
    // release's transaction.
    const { run: runA, letGo } = await startHeldRun(h, container, '2026-12-01T06:00:00.000Z');
    const before = await contents();
    const viewBefore = await view();
    const logLinesBefore = h.logLines.length;

    // Run B (an operator's `npm run curate`) starts meanwhile.
    const runB = await exportCurated(h.exportDeps(container, { now: () => new Date('2026-12-01T06:10:00.000Z') }));
    expect(runB.summaries.map((s) => [s.partyId, s.outcome])).toEqual([['la-housing', 'busy']]);
    expect(await contents()).toEqual(before);
    expect(await view()).toEqual(viewBefore);
    // For the operator: which target the run passed over, by its ids; nothing healed.
    const bLines = h.logLines.slice(logLinesBefore).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(bLines.filter((l) => String(l.event).startsWith('curated.'))).toEqual([
      {
        time: expect.any(String) as unknown,
        level: 'warn',
        event: 'curated.export-busy',
        agreementId: 'social-care-education-housing',
        purposeId: 'service-planning',
        datasetId: DATASET,
        partyId: 'la-housing',
      },
    ]);

    // A goes on and commits: its files and the view hold the same release.
    letGo();
    const { summaries } = await runA;
    expect(summaries.map((s) => s.outcome)).toEqual(['written']);
    const manifest = JSON.parse((await read(`${FOLDER}latest/${MANIFEST_FILE}`)).toString('utf8')) as {
      generatedAt: string;
      files: Record<string, string>;
    };
    const sha = async (name: string) =>
      createHash('sha256')
        .update(await read(name))
        .digest('hex');
    const newest = (await view()).at(-1)!;
    expect({ generatedAt: manifest.generatedAt, counts: manifest.files[COUNTS_FILE] }).toEqual({
      generatedAt: newest.generated_at,
      counts: newest.counts_sha256,
    });
    for (const sub of ['latest', '2026-12-01'])
      for (const file of [COUNTS_FILE, COUNTS_PARQUET_FILE])
        expect(await sha(`${FOLDER}${sub}/${file}`)).toBe(manifest.files[file]);
    expect(newest.generated_at).toBe('2026-12-01T06:00:00.000Z');

    // With A done, the next run exports again.
    const next = await exportCurated(h.exportDeps(container, { now: () => new Date('2026-12-01T07:00:00.000Z') }));
    expect(next.summaries.map((s) => s.outcome)).toEqual(['written']);
  });
});
