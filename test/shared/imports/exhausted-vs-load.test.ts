import { createHash } from 'node:crypto';
import { BlockBlobClient } from '@azure/storage-blob';
import { afterEach, expect, it, vi } from 'vitest';
import { PhaseClock } from '../../../shared/imports/import-phases.js';
import { claimRun } from '../../../shared/imports/import-runs.js';
import type { SecretSource } from '../../../shared/secrets/secret-source.js';
import { createImportHarness, importFixture, storedRecords, type ImportHarness } from './import-harness.js';

/**
 * Two hosts: the fifth attempt at a file is loading when the queue hands the message over again
 * (a big file outlives the visibility timeout). The second host counts a sixth attempt and
 * rejects with `import-attempts-exhausted`, writing its report in rejected/ first; by the time it
 * finishes the run, the first host has committed, so the rejection stands down and the file is
 * loaded. The rejected report it wrote must not stay: a loaded file with a report in rejected/
 * saying it was rejected contradicts what loaded.
 */
const MDI = 'multiple-disadvantage-indicators';
const file = `la-housing/${MDI}/extract.csv`;
let h: ImportHarness;
afterEach(async () => {
  vi.restoreAllMocks();
  await h?.close();
});

it('leaves no rejected report for a file that loaded while a redelivery found its attempts spent', async () => {
  h = await createImportHarness();
  const content = importFixture('good.csv');
  await h.drop(file, content);
  const claim = {
    runId: 'earlier',
    partyId: 'la-housing',
    datasetId: MDI,
    blobName: file,
    sha256: createHash('sha256').update(content).digest('hex'),
    now: new Date().toISOString(),
  };
  // Four earlier attempts broke off (crashed, run left loading): the next delivery is the fifth.
  for (let i = 0; i < 4; i++) await claimRun(h.store.db, claim);

  let secondAtReport!: () => void;
  const secondReportPending = new Promise<void>((r) => (secondAtReport = r));
  let firstDone!: () => void;
  const firstFinished = new Promise<void>((r) => (firstDone = r));
  const upload = BlockBlobClient.prototype.upload;
  vi.spyOn(BlockBlobClient.prototype, 'upload').mockImplementation(async function (
    this: BlockBlobClient,
    ...args: Parameters<typeof upload>
  ) {
    if (this.containerName === h.containers.rejected) {
      secondAtReport();
      await firstFinished;
    }
    return upload.apply(this, args);
  });
  // The first host waits (reading its key) until the second has claimed and is writing its report.
  const slowSecrets: SecretSource = Object.create(h.secrets, {
    get: {
      value: async (...args: Parameters<SecretSource['get']>) => {
        await secondReportPending;
        return h.secrets.get(...args);
      },
    },
  });
  let second: Promise<unknown> | undefined;
  const clock = new PhaseClock();
  const lap = clock.lap.bind(clock);
  clock.lap = (phase) => {
    lap(phase);
    if (phase === 'claim run' && second === undefined) second = h.run(file);
  };
  const first = await h.run(file, { secrets: slowSecrets, hooks: { phases: clock } });
  firstDone();
  expect(first).toMatchObject({ outcome: 'loaded', loaded: 40 });
  await expect(second).resolves.toMatchObject({ outcome: 'duplicate', of: 'loaded' });
  expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(40);
  expect(await h.exists('processed', file)).toBe(true);
  expect(await h.report('processed', file)).toMatchObject({ outcome: 'loaded' });
  expect(
    await h.report('rejected', file),
    'a loaded file must not also have a report in rejected/ saying it was rejected',
  ).toBeUndefined();
});
