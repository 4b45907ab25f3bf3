import { afterEach, expect, it } from 'vitest';
import { progressBlobName } from '../../../shared/imports/handled-names.js';
import { blobProgressSink } from '../../../shared/imports/import-progress.js';
import { createImportHarness, importFixture, theRun, type ImportHarness } from './import-harness.js';
import { killImportAtPhase } from './kill-at-phase.js';

/**
 * A load's progress blob, `processed/<file>.progress.json`, is what `npm run import` shows while
 * the host imports: it is deleted when the import ends. A process killed after the file was moved
 * to processed/ (while its records were being linked, the longest step after the move) left it
 * there: every later delivery of the event found the file gone and returned before touching it,
 * so processed/ said for good that the file was still loading, and the next upload of that name
 * was shown the old load's rows as its own while it waited to start.
 */
const file = 'la-housing/multiple-disadvantage-indicators/extract.csv';
let h: ImportHarness;
afterEach(async () => {
  await h?.close();
});

it('takes away the progress blob a process killed after moving the file left, on the next delivery', async () => {
  h = await createImportHarness();
  await h.drop(file, importFixture('good.csv'));
  await killImportAtPhase(h, 'move blob', file, { progress: true });
  expect(await theRun(h)).toMatchObject({ status: 'loaded', rows_loaded: 40 });
  expect(await h.exists('incoming', file)).toBe(false);
  expect(await h.exists('processed', progressBlobName(file)), 'the killed load wrote its progress').toBe(true);

  // Event Grid delivers the event again, to an instance whose imports write progress as the host's do.
  const outcome = await h.run(file, {
    hooks: { progress: (name) => blobProgressSink(h.blobs, name, undefined, h.containers.processed) },
  });

  expect(outcome).toEqual({ outcome: 'gone' });
  expect(await h.blobNames('processed')).toEqual([file, `${file}.report.json`]);
});
