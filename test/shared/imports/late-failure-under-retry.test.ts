import { createHash } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { claimRun, type RunClaim } from '../../../shared/imports/import-runs.js';
import type { SecretSource } from '../../../shared/secrets/secret-source.js';
import { gate } from '../../support/gate.js';
import {
  createImportHarness,
  heldAtKeyRead,
  importFixture,
  runEntries,
  storedRecords,
  theRun,
  type ImportHarness,
} from './import-harness.js';
import { killImportAtPhase } from './kill-at-phase.js';

/**
 * Two hosts: the first delivery of a file is slow to break off (its store or Key Vault call hangs
 * until the queue hands the message over again), and the second delivery takes the run up again
 * (claimRun: `loading`, attempt 2) while the first is still going. The first then breaks off and
 * marks the run `failed` — which matched the run's id and `loading` only, so it failed the
 * second delivery's live attempt: the ledger said `failed`, finished, while the file was being
 * loaded, and a file deleted from incoming under the second attempt was no longer told apart
 * from one whose attempt had failed (the removal check wants this attempt's `loading` run), so
 * the run stayed `failed` for good, with no report, which retention reads as an extract still to
 * come. An attempt that breaks off now fails only the attempt it took up.
 */
const MDI = 'multiple-disadvantage-indicators';
const file = `la-housing/${MDI}/extract.csv`;
let h: ImportHarness;
beforeEach(async () => {
  h = await createImportHarness();
  await h.drop(file, importFixture('good.csv'));
});
afterEach(async () => h?.close());

/**
 * The two deliveries, each held where it reads the key (after its claim, before the rows): the
 * first until `breakFirst` is opened, then it throws; the second signals `secondHolding` and waits
 * for `releaseSecond`, then runs `beforeSecondReads` and carries on.
 */
function twoDeliveries(beforeSecondReads: () => Promise<void> = async () => undefined) {
  const breakFirst = gate();
  const secondHolding = gate();
  const releaseSecond = gate();
  const slowFailingSecrets: SecretSource = Object.create(h.secrets, {
    get: {
      value: async () => {
        await breakFirst.opened;
        throw Object.assign(new Error('Key Vault timed out'), { name: 'TimeoutError' });
      },
    },
  });
  const heldSecrets: SecretSource = Object.create(h.secrets, {
    get: {
      value: async (...args: Parameters<SecretSource['get']>) => {
        secondHolding.open();
        await releaseSecond.opened;
        await beforeSecondReads();
        return h.secrets.get(...args);
      },
    },
  });
  return { breakFirst, secondHolding, releaseSecond, slowFailingSecrets, heldSecrets };
}

/**
 * `outcome` is the delivery's that rejected the file as removed mid-import: the run rejected with
 * nothing loaded (and `run`'s fields), its report in rejected/, one deny entry, no records.
 */
async function expectRejectedAsRemoved(outcome: unknown, run: Record<string, unknown>): Promise<void> {
  expect(outcome).toMatchObject({ outcome: 'rejected', reasons: ['removed-during-import'] });
  const rejected = await theRun(h);
  expect(rejected).toMatchObject({ status: 'rejected', rows_loaded: 0, ...run });
  expect(await h.report('rejected', file)).toMatchObject({
    runId: rejected.id,
    fileErrors: [{ reason: 'removed-during-import' }],
  });
  expect(await runEntries(h, rejected.id)).toEqual([['deny', 'removed-during-import']]);
  expect(await storedRecords(h.store, 'la-housing', MDI)).toEqual([]);
}

it('leaves a later delivery’s attempt loading when an earlier one breaks off late, and loads the file once', async () => {
  const d = twoDeliveries();
  const first = h.run(file, { secrets: d.slowFailingSecrets }).then(
    () => 'finished',
    (err: Error) => err.message,
  );
  // The first has claimed (its key read is after the claim); the second takes the run up again.
  await expect.poll(async () => (await theRun(h)).attempt).toBe(1);
  const second = h.run(file, { secrets: d.heldSecrets });
  await d.secondHolding.opened;
  expect(await theRun(h)).toMatchObject({ status: 'loading', attempt: 2 });

  d.breakFirst.open();
  expect(await first).toMatch(/^Import failed: TimeoutError/);
  // The second delivery is still loading the file: its run must say so.
  expect(await theRun(h), 'the first delivery’s failure must not fail the second’s attempt').toMatchObject({
    status: 'loading',
    attempt: 2,
    finished_at: null,
  });

  d.releaseSecond.open();
  await expect(second).resolves.toMatchObject({ outcome: 'loaded', loaded: 40 });
  expect(await theRun(h)).toMatchObject({ status: 'loaded', attempt: 2, rows_loaded: 40 });
  expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(40);
  expect(await h.report('processed', file)).toMatchObject({ outcome: 'loaded' });
});

it('rejects the file as removed when it is deleted from incoming under the later attempt, not left failed for good', async () => {
  const d = twoDeliveries(() => h.blobs.getContainerClient(h.containers.incoming).getBlobClient(file).delete().then());
  const first = h.run(file, { secrets: d.slowFailingSecrets }).catch((err: Error) => err.message);
  await expect.poll(async () => (await theRun(h)).attempt).toBe(1);
  const second = h.run(file, { secrets: d.heldSecrets }).catch((err: Error) => err.message);
  await d.secondHolding.opened;
  d.breakFirst.open();
  expect(await first).toMatch(/^Import failed: TimeoutError/);

  // The partner deletes the file while the second delivery reads it.
  d.releaseSecond.open();
  await expectRejectedAsRemoved(await second, { attempt: 2 });
});

it('gives each of two deliveries taking up one run at the same moment an attempt of its own', async () => {
  const claim = (runId: string): RunClaim => ({
    runId,
    partyId: 'la-housing',
    datasetId: MDI,
    blobName: file,
    sha256: createHash('sha256').update(importFixture('good.csv')).digest('hex'),
    now: new Date().toISOString(),
  });
  // Both find no run and insert; the unique key lets one in, the other takes its row up.
  const fresh = await Promise.all([claimRun(h.store.db, claim('a')), claimRun(h.store.db, claim('b'))]);
  expect(fresh.map((r) => [r.status, r.attempt]).sort()).toEqual([
    ['loading', 1],
    ['loading', 2],
  ]);
  // Both find the unfinished run and take it up again.
  const again = await Promise.all([claimRun(h.store.db, claim('c')), claimRun(h.store.db, claim('d'))]);
  expect(again.map((r) => [r.status, r.attempt]).sort()).toEqual([
    ['loading', 3],
    ['loading', 4],
  ]);
  expect(await theRun(h)).toMatchObject({ status: 'loading', attempt: 4 });
});

// Found by import-properties (seed 3003): the order the other way round. The first delivery is
// held where it reads the key while a second takes the run up and breaks off (`failed`, attempt
// 2); the partner then deletes the file, and the first carries on. Its removal check wanted its
// own attempt `loading`, found the second's `failed`, and broke off too: the run stayed `failed`
// for good, with no report, though no delivery could ever read the file again.
it('rejects the file as removed when a later delivery broke off before the held one found it deleted', async () => {
  const firstHeld = heldAtKeyRead(h);
  const failingSecrets: SecretSource = Object.create(h.secrets, {
    get: {
      value: async () => {
        throw Object.assign(new Error('Key Vault timed out'), { name: 'TimeoutError' });
      },
    },
  });
  const first = h.run(file, { secrets: firstHeld.secrets }).catch((err: Error) => err.message);
  await firstHeld.holding;
  await expect(h.run(file, { secrets: failingSecrets })).rejects.toThrow(/^Import failed: TimeoutError/);
  expect(await theRun(h)).toMatchObject({ status: 'failed', attempt: 2 });

  await h.blobs.getContainerClient(h.containers.incoming).getBlobClient(file).delete();
  firstHeld.release();
  await expectRejectedAsRemoved(await first, { rejection_reason: 'removed-during-import' });
});

// Found by import-properties (seed -1441563869, path 207:4:1:7:4): as above, but the second
// delivery's instance dies (a crash: out of memory, a host restart) after taking the run up, which
// stays `loading` at attempt 2. The partner deletes the file, and the held first delivery carries
// on: its removal check wanted its own attempt `loading` or a later one `failed`, found a later one
// `loading`, took it for a renamed copy still reading its file, and broke off. But the later take-up
// was of this very file, now gone: no delivery could ever finish the run, which stayed `loading`
// for good, with no report and no access-log entry.
it('rejects the file as removed when a later delivery of it crashed before the held one found it deleted', async () => {
  const firstHeld = heldAtKeyRead(h);
  const first = h.run(file, { secrets: firstHeld.secrets }).catch((err: Error) => err.message);
  await firstHeld.holding;
  await killImportAtPhase(h, 'claim run', file);
  expect(await theRun(h)).toMatchObject({ status: 'loading', attempt: 2 });

  await h.blobs.getContainerClient(h.containers.incoming).getBlobClient(file).delete();
  firstHeld.release();
  await expectRejectedAsRemoved(await first, { rejection_reason: 'removed-during-import' });
});
