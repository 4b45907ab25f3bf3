import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import {
  COUNTS_FILE,
  COUNTS_PARQUET_FILE,
  exportCurated,
  healCurated,
  MANIFEST_FILE,
  scheduledExport,
  type CuratedExportSummary,
} from '../../../shared/curated/curated-export.js';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { healCuratedAtStart } from '../../../local/heal-at-start.js';
import { pruneReleases, storeRelease } from '../../../shared/curated/curated-releases.js';
import type { Store } from '../../../shared/store/database.js';
import type { LockEpoch } from '../../../shared/store/lock-epochs.js';
import { agreementsFolderWithout } from '../agreements/agreement-files.js';
import type { ImportHarness } from '../imports/import-harness.js';
import {
  blobsWithEtags,
  breakExportLease,
  curatedHarness,
  FOLDER,
  housing as housingOf,
  importHousing,
  overBlockBlobs,
  releasesInView,
  renewingThrough,
  startHeldRun,
  storeHoldingTransactions,
  storeNotingTransactions,
} from './curated-runs.js';

/** Housing's extract of `n` children, its NHS numbers this file's own. */
const housing = (n: number) => housingOf(n, 800);

/** The shortest lease Blob Storage grants, so a test sees it lapse, or outlast it, in seconds. */
const TEST_LEASE_SECONDS = 15;

/**
 * A run whose process stalls (a slow upload, a long pause) past its lease's minute, the lease
 * broken or lapsed meanwhile, while another run takes it and publishes: the first run's writes
 * still in flight landed over the other's release, and its catch then put back the files it had
 * found, over the other run's release, leaving Power BI's files and its SQL view apart.
 */
describe('a planning export that lost its lease while it wrote', () => {
  let h: ImportHarness;
  let container: string;
  const read = async (name: string) => h.blobs.getContainerClient(container).getBlobClient(name).downloadToBuffer();
  const contents = () => blobsWithEtags(h, container);
  const view = () => releasesInView(h);
  /** What an analyst reads in latest/, and whether the view's newest release is the same one. */
  const latestAgreesWithView = async () => {
    const manifest = JSON.parse((await read(`${FOLDER}latest/${MANIFEST_FILE}`)).toString('utf8')) as {
      generatedAt: string;
      files: Record<string, string>;
    };
    const counts = createHash('sha256')
      .update(await read(`${FOLDER}latest/${COUNTS_FILE}`))
      .digest('hex');
    const newest = (await view()).at(-1)!;
    return {
      latest: manifest.generatedAt,
      view: newest.generated_at,
      countsDescribed: counts === manifest.files[COUNTS_FILE],
      viewHoldsLatest: newest.counts_sha256 === counts,
    };
  };
  const breakLease = () => breakExportLease(h, container);
  /**
   * The export's blob client, every upload of `blob` preceded by someone putting a file there by
   * hand: the run's upload is refused (412) while its lease is still its own.
   */
  const uploadsPutBackByHand = (blob: string) =>
    overBlockBlobs(h.blobs, (name, real) => {
      const client = real() as { upload: (...args: unknown[]) => Promise<unknown> };
      if (name !== blob) return client;
      return new Proxy(client, {
        get: (target, prop, recv) =>
          prop !== 'upload'
            ? (Reflect.get(target, prop, recv) as unknown)
            : async (...args: unknown[]) => {
                await h.blobs.getContainerClient(container).getBlockBlobClient(blob).upload('x', 1);
                return target.upload(...args);
              },
      });
    });
  /** The log's lines since line `since` whose event is one of `events`, in order. */
  const logEvents = (since: number, ...events: string[]) =>
    h.logLines
      .slice(since)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((l) => events.includes(String(l.event)));
  /** What the log has said since line `since` of a withdrawal that stopped part way. */
  const withdrawalStops = (since: number) => logEvents(since, 'curated.withdrawal-stopped');
  const noticed = (since: number) =>
    h.logLines.slice(since).some((line) => line.includes('"curated.export-lease-lost"'));
  /** Until the run has noticed its lease is gone (a renewal refused), or `ms` have passed. */
  const untilNoticed = async (since: number, ms: number) => {
    for (const end = Date.now() + ms; Date.now() < end && !noticed(since);)
      await new Promise((resolve) => setTimeout(resolve, 100));
  };

  beforeAll(async () => {
    ({ h, container } = await curatedHarness(housing(40)));
    await exportCurated(h.exportDeps(container, { now: () => new Date('2026-11-01T06:00:00.000Z') }));
    await importHousing(h, housing(55));
  });
  afterAll(() => h?.close());

  it('neither lands an upload in flight nor puts back files over the run that took the lease, and says it stopped', async () => {
    // Run A writes its dated folder, and its upload of latest/'s counts stalls.
    let letGo!: () => void;
    const stalled = new Promise<void>((resolve) => (letGo = resolve));
    let reach!: () => void;
    const reached = new Promise<void>((resolve) => (reach = resolve));
    const stalling = overBlockBlobs(h.blobs, (blob, real) => {
      const client = real() as { upload: (...args: unknown[]) => Promise<unknown> };
      if (blob !== `${FOLDER}latest/${COUNTS_FILE}`) return client;
      return new Proxy(client, {
        get: (target, prop, recv) =>
          prop !== 'upload'
            ? (Reflect.get(target, prop, recv) as unknown)
            : async (...args: unknown[]) => {
                reach();
                await stalled;
                return target.upload(...args);
              },
      });
    });
    const logFrom = h.logLines.length;
    const runA = exportCurated(
      h.exportDeps(container, {
        blobs: stalling,
        leaseSeconds: TEST_LEASE_SECONDS,
        now: () => new Date('2026-12-01T06:00:00.000Z'),
      }),
    );
    await reached;

    // Its lease goes (broken here, as it lapses when no renewal reaches the service), and run B
    // takes it and publishes the day's release.
    await breakLease();
    const runB = await exportCurated(h.exportDeps(container, { now: () => new Date('2026-12-01T06:10:00.000Z') }));
    expect(runB.summaries.map((s) => s.outcome)).toEqual(['written']);
    expect(await latestAgreesWithView()).toEqual({
      latest: '2026-12-01T06:10:00.000Z',
      view: '2026-12-01T06:10:00.000Z',
      countsDescribed: true,
      viewHoldsLatest: true,
    });
    const afterB = await contents();
    const viewAfterB = await view();

    // A's stalled upload goes on once A has had the chance to see its lease gone.
    await untilNoticed(logFrom, TEST_LEASE_SECONDS * 1000);
    letGo();
    const summariesA: readonly CuratedExportSummary[] = await runA.then(
      (run) => run.summaries,
      (err: unknown) => [String(err)] as never,
    );
    // B's release is what latest/, its dated folder and the view hold: A wrote and put back nothing.
    expect(await contents()).toEqual(afterB);
    expect(await view()).toEqual(viewAfterB);
    expect(summariesA.map((s) => [s.partyId, s.outcome])).toEqual([['la-housing', 'lease-lost']]);
    // For the operator: the run's lease went, and which target it stopped at, by ids alone.
    const events = logEvents(logFrom, 'curated.export-stopped');
    expect(events).toEqual([expect.objectContaining({ level: 'warn', partyId: 'la-housing', reason: 'lease-lost' })]);
  }, 60_000);

  it('does not commit its SQL release over the one of the run that took its lease', async () => {
    // Run A writes its dated folder and latest/, and stalls as it opens the SQL release's
    // transaction; its lease goes, and run B publishes.
    const { run: runA, letGo } = await startHeldRun(h, container, '2026-12-02T06:00:00.000Z', {
      leaseSeconds: TEST_LEASE_SECONDS,
    });
    await breakLease();
    const runB = await exportCurated(h.exportDeps(container, { now: () => new Date('2026-12-02T06:10:00.000Z') }));
    expect(runB.summaries.map((s) => s.outcome)).toEqual(['written']);
    const afterB = await contents();

    letGo();
    const summariesA = await runA.then(
      (run) => run.summaries,
      (err: unknown) => [String(err)] as never,
    );
    expect(await latestAgreesWithView()).toEqual({
      latest: '2026-12-02T06:10:00.000Z',
      view: '2026-12-02T06:10:00.000Z',
      countsDescribed: true,
      viewHoldsLatest: true,
    });
    expect(await contents()).toEqual(afterB);
    expect(summariesA.map((s: CuratedExportSummary) => s.outcome)).toEqual(['lease-lost']);
  }, 60_000);

  it('keeps its lease through a stall longer than the lease lasts: a second run meanwhile is busy', async () => {
    const { run: runA, letGo } = await startHeldRun(h, container, '2026-12-03T06:00:00.000Z', {
      leaseSeconds: TEST_LEASE_SECONDS,
    });
    // A took its lease before it reached the stall: a second past the term from here outlasts it.
    await new Promise((resolve) => setTimeout(resolve, (TEST_LEASE_SECONDS + 1) * 1000));
    const runB = await exportCurated(h.exportDeps(container, { now: () => new Date('2026-12-03T06:10:00.000Z') }));
    expect(runB.summaries.map((s) => s.outcome)).toEqual(['busy']);
    letGo();
    expect((await runA).summaries.map((s) => s.outcome)).toEqual(['written']);
    expect(await latestAgreesWithView()).toMatchObject({ latest: '2026-12-03T06:00:00.000Z', viewHoldsLatest: true });
  }, 60_000);

  /**
   * Run A, at 06:00 on `day`, has its first upload of latest/'s counts held on the wire; its lease
   * is broken (as when it lapsed) and run B publishes the day's release at 06:10; A's upload then
   * reaches the service, once A has noticed its lease gone (`afterNotice`) or before it has. It
   * must be refused, and A stop, with B's release left whole, and say it stopped rather than failed:
   * an operator reading a failure would look for a fault where another run is publishing.
   */
  const lateUploadAfterTakeover = async (day: string, afterNotice: boolean) => {
    const { onTheWire, reached, letGo, lateUpload } = lateFirstUpload(h, `${FOLDER}latest/${COUNTS_FILE}`);
    const logFrom = h.logLines.length;
    const runA = exportCurated(
      h.exportDeps(container, {
        blobs: onTheWire,
        // The lease's default minute where A is not to notice: no background renewal comes meanwhile.
        leaseSeconds: afterNotice ? TEST_LEASE_SECONDS : undefined,
        now: () => new Date(`${day}T06:00:00.000Z`),
      }),
    );
    await reached;
    await breakLease();
    const runB = await exportCurated(h.exportDeps(container, { now: () => new Date(`${day}T06:10:00.000Z`) }));
    expect(runB.summaries.map((s) => s.outcome)).toEqual(['written']);
    const afterB = await contents();
    const viewAfterB = await view();

    if (afterNotice) await untilNoticed(logFrom, TEST_LEASE_SECONDS * 1000);
    // Else the refusal is the first A hears of the takeover: no renewal of its has failed yet.
    else expect(noticed(logFrom)).toBe(false);
    letGo();
    const summariesA = await runA.then(
      (run) => run.summaries.map((s) => s.outcome),
      (err: unknown) => `threw ${String(err)}`,
    );
    expect(await lateUpload).toBe('refused 412');
    expect(await contents()).toEqual(afterB);
    expect(await view()).toEqual(viewAfterB);
    expect(await latestAgreesWithView()).toMatchObject({ latest: `${day}T06:10:00.000Z`, countsDescribed: true });
    expect(summariesA).toEqual(['lease-lost']);
    const events = logEvents(logFrom, 'curated.export-stopped', 'curated.export-failed');
    expect(events).toEqual([
      expect.objectContaining({ event: 'curated.export-stopped', level: 'warn', reason: 'lease-lost' }),
    ]);
  };

  it('does not land an upload the service gets only after the run that took the lease has published', async () => {
    // Run A's upload of latest/'s counts has left (the bytes are on the wire: aborting it then
    // recalls nothing), and reaches the service late, once its lease has gone and run B has
    // published the day's release.
    await lateUploadAfterTakeover('2026-12-04', true);
  }, 60_000);

  it('does not land a heal upload the service gets only after the run that took the lease has published', async () => {
    // latest/ is left without its manifest (a run died there), so run A heals it first, and its
    // heal's upload of latest/'s counts reaches the service late, once its lease has gone and run
    // B has published.
    await h.blobs.getContainerClient(container).getBlobClient(`${FOLDER}latest/${MANIFEST_FILE}`).delete();
    await lateUploadAfterTakeover('2026-12-05', true);
  }, 60_000);

  it('does not commit its SQL release once its lease is taken between its last renewal and the commit', async () => {
    // Run A's renewal before its SQL release is granted, but the answer is slow to come back (a
    // busy network, a long pause): meanwhile its lease is broken (as when it lapses) and run B
    // takes the lock. A's answer then arrives, and its commit reaches the store after B's takeover.
    let armed = false;
    const opening = overBlockBlobs(h.blobs, (blob, real) => {
      if (blob === `${FOLDER}latest/${MANIFEST_FILE}`) armed = true;
      return real();
    });
    let reach!: () => void;
    const reached = new Promise<void>((resolve) => (reach = resolve));
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    // The lease's default minute: no background renewal comes between latest/'s manifest and the release.
    const slowAnswers = renewingThrough(opening, async (_n, real) => {
      if (!armed) return real();
      const renewal = real();
      await renewal.catch(() => undefined);
      reach();
      await answered;
      return renewal;
    });
    const runA = exportCurated(
      h.exportDeps(container, { blobs: slowAnswers, now: () => new Date('2026-12-06T06:00:00.000Z') }),
    );
    await reached;
    await breakLease();
    const b = storeNotingTransactions(h);
    const runB = exportCurated(
      h.exportDeps(container, { store: b.store, now: () => new Date('2026-12-06T06:10:00.000Z') }),
    );
    // Once B has taken the lock and gone to write to the store (or, should A's open transaction
    // hold B back, after a while), A's answer arrives.
    await Promise.race([b.began, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    answer();
    const summariesA = await runA.then(
      (run) => run.summaries,
      (err: unknown) => [String(err)] as never,
    );
    expect({
      outcome: summariesA.map((s: CuratedExportSummary) => s.outcome),
      inView: (await view()).some((r) => r.generated_at === '2026-12-06T06:00:00.000Z'),
    }).toEqual({ outcome: ['lease-lost'], inView: false });
    expect((await runB).summaries.map((s) => s.outcome)).toEqual(['written']);
    expect(await latestAgreesWithView()).toEqual({
      latest: '2026-12-06T06:10:00.000Z',
      view: '2026-12-06T06:10:00.000Z',
      countsDescribed: true,
      viewHoldsLatest: true,
    });
  }, 60_000);

  /**
   * Run A, at 06:00 on `day`, no longer has the ISA (its agreement ended, as this run's files say),
   * so it withdraws the target's release: its delete of latest/'s manifest leaves, and is held on
   * the wire while its lease is broken and run B, which has the ISA again (re-signed), publishes
   * the day's release at 06:10. The delete then reaches the service, once A has noticed its lease
   * gone (`afterNotice`) or before it has: it must be refused, and A end as stopped, not crash.
   */
  const lateDeleteAfterTakeover = async (day: string, afterNotice: boolean) => {
    const withoutIsa = loadAgreements(agreementsFolderWithout(['isa']));
    const latestManifest = `${FOLDER}latest/${MANIFEST_FILE}`;
    let letGo!: () => void;
    const stalled = new Promise<void>((resolve) => (letGo = resolve));
    let reach!: () => void;
    const reached = new Promise<void>((resolve) => (reach = resolve));
    let landed!: (outcome: string) => void;
    const lateDelete = new Promise<string>((resolve) => (landed = resolve));
    const onTheWire = overBlockBlobs(
      h.blobs,
      (name, real) => {
        const client = real() as { deleteIfExists: (options?: Record<string, unknown>) => Promise<unknown> };
        if (name !== latestManifest) return client;
        return new Proxy(client, {
          get: (target, prop, recv) =>
            prop !== 'deleteIfExists'
              ? (Reflect.get(target, prop, recv) as unknown)
              : async (options: Record<string, unknown> = {}) => {
                  reach();
                  await stalled;
                  const sent = target.deleteIfExists({ ...options, abortSignal: undefined });
                  sent.then(
                    () => landed('landed'),
                    (err: unknown) => landed(`refused ${String((err as { statusCode?: unknown }).statusCode)}`),
                  );
                  return sent;
                },
        });
      },
      'getBlobClient',
    );
    const logFrom = h.logLines.length;
    const runA = exportCurated(
      h.exportDeps(container, {
        agreements: withoutIsa,
        blobs: onTheWire,
        // The lease's default minute where A is not to notice: no background renewal comes meanwhile.
        leaseSeconds: afterNotice ? TEST_LEASE_SECONDS : undefined,
        now: () => new Date(`${day}T06:00:00.000Z`),
      }),
    );
    await reached;
    await breakLease();
    const runB = await exportCurated(h.exportDeps(container, { now: () => new Date(`${day}T06:10:00.000Z`) }));
    expect(runB.summaries.map((s) => s.outcome)).toEqual(['written']);
    const afterB = await contents();

    if (afterNotice) await untilNoticed(logFrom, TEST_LEASE_SECONDS * 1000);
    // Else the refusal is the first A hears of the takeover: no renewal of its has failed yet.
    else expect(noticed(logFrom)).toBe(false);
    letGo();
    // No target is left to name (the ISA's is A's only one): what A gives the operator is a run
    // that ended, not a crash, and says its withdrawal stopped.
    expect(await runA.catch((err: unknown) => `threw ${String(err)}`)).toEqual({
      summaries: [],
      withdrawalStopped: 'lease-lost',
    });
    expect(await lateDelete).toBe('refused 412');
    expect(withdrawalStops(logFrom)).toEqual([expect.objectContaining({ level: 'warn', reason: 'lease-lost' })]);
    expect(await contents()).toEqual(afterB);
    expect(await latestAgreesWithView()).toEqual({
      latest: `${day}T06:10:00.000Z`,
      view: `${day}T06:10:00.000Z`,
      countsDescribed: true,
      viewHoldsLatest: true,
    });
  };

  it('does not delete a file of a withdrawn export that the run which took its lease has published since', async () => {
    await lateDeleteAfterTakeover('2026-12-07', true);
  }, 60_000);

  /**
   * Run A, started by `start` on a store that holds its second transaction (its withdrawal's: the
   * first takes the lock's epoch), has its lease broken while run B publishes `day`'s release;
   * `letGo` then lets A's withdrawal reach the store, to find the lock taken.
   */
  const withdrawalHeldWhileTakenOver = async <T>(day: string, start: (store: Store) => Promise<T>) => {
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    let transactions = 0;
    const { store, reached } = storeHoldingTransactions(h.store, () => ++transactions === 2, held);
    const runA = start(store);
    await reached;
    await breakLease();
    const runB = await exportCurated(h.exportDeps(container, { now: () => new Date(`${day}T06:10:00.000Z`) }));
    expect(runB.summaries.map((s) => s.outcome)).toEqual(['written']);
    return { runA, letGo };
  };

  it('does not take the release of the run that took its lease out of the view when its withdrawal reaches the store late', async () => {
    // Run A no longer has the ISA, so it withdraws the target's releases from the view; its
    // withdrawal's transaction (its second: the first takes the lock's epoch) is held while its
    // lease is broken and run B, which has the ISA again, publishes the day's release.
    const { runA, letGo } = await withdrawalHeldWhileTakenOver('2026-12-08', (store) =>
      exportCurated(
        h.exportDeps(container, {
          agreements: loadAgreements(agreementsFolderWithout(['isa'])),
          store,
          now: () => new Date('2026-12-08T06:00:00.000Z'),
        }),
      ),
    );
    const viewAfterB = await view();

    letGo();
    await runA.catch(() => undefined);
    expect(await view()).toEqual(viewAfterB);
    expect(await latestAgreesWithView()).toEqual({
      latest: '2026-12-08T06:10:00.000Z',
      view: '2026-12-08T06:10:00.000Z',
      countsDescribed: true,
      viewHoldsLatest: true,
    });
  }, 60_000);

  it('says it stopped, target by target, when its withdrawal finds its lease lost, rather than crashing', async () => {
    // Run A's withdrawal (its second transaction: the first takes the lock's epoch) is held while
    // its lease is broken and run B publishes the day's release; A's withdrawal then finds the
    // lock taken, as a release's commit would.
    const logFrom = h.logLines.length;
    const { runA, letGo } = await withdrawalHeldWhileTakenOver('2026-12-09', (store) =>
      exportCurated(h.exportDeps(container, { store, now: () => new Date('2026-12-09T06:00:00.000Z') })),
    );
    const afterB = await contents();

    letGo();
    // What `npm run curate` prints from, and the timer retries on: not a crash.
    const summariesA = await runA.then(
      (run) => run.summaries.map((s) => [s.partyId, s.outcome]),
      (err: unknown) => `threw ${String(err)}`,
    );
    expect(summariesA).toEqual([['la-housing', 'lease-lost']]);
    expect(await contents()).toEqual(afterB);
    const events = logEvents(logFrom, 'curated.export-stopped');
    expect(events).toEqual([expect.objectContaining({ level: 'warn', partyId: 'la-housing', reason: 'lease-lost' })]);
  }, 60_000);

  it('ends as stopped when a delete of its withdrawal is refused before it has noticed its lease gone', async () => {
    await lateDeleteAfterTakeover('2026-12-10', false);
  }, 60_000);

  it('does not commit its SQL release once the heal-only pass has taken its lease and healed its files away', async () => {
    // Run A writes its dated folder and latest/ and stalls as it opens its SQL release's
    // transaction; its lease goes, and the host's heal pass takes the lock and puts latest/ back
    // on the view's release, taking A's files for a dead run's.
    const { run: runA, letGo } = await startHeldRun(h, container, '2026-12-11T06:00:00.000Z');
    await breakLease();
    expect(await healCurated(h.exportDeps(container, { now: () => new Date('2026-12-11T06:10:00.000Z') }))).toBe(
      'healed',
    );
    const afterHeal = await contents();
    const viewAfterHeal = await view();

    letGo();
    const summariesA = await runA.then(
      (run) => run.summaries,
      (err: unknown) => [String(err)] as never,
    );
    // What Power BI reads, files and view, is still one release: A's is in neither.
    expect({
      outcome: summariesA.map((s: CuratedExportSummary) => s.outcome),
      inView: (await view()).some((r) => r.generated_at === '2026-12-11T06:00:00.000Z'),
    }).toEqual({ outcome: ['lease-lost'], inView: false });
    expect(await view()).toEqual(viewAfterHeal);
    expect(await contents()).toEqual(afterHeal);
    expect(await latestAgreesWithView()).toMatchObject({ countsDescribed: true, viewHoldsLatest: true });
  }, 60_000);

  it('ends as stopped, not failed, when an upload of its release is refused before it has noticed its lease gone', async () => {
    await lateUploadAfterTakeover('2026-12-12', false);
  }, 60_000);

  it('ends as stopped, not failed, when a heal upload is refused before it has noticed its lease gone', async () => {
    await h.blobs.getContainerClient(container).getBlobClient(`${FOLDER}latest/${MANIFEST_FILE}`).delete();
    await lateUploadAfterTakeover('2026-12-13', false);
  }, 60_000);

  it('says its withdrawal stopped when it finds its lease lost with no export left to name', async () => {
    // Run A no longer has the ISA (its only export), so all it does is withdraw; its withdrawal's
    // transaction (its second: the first takes the lock's epoch) is held while its lease is broken
    // and run B publishes, and then finds the lock taken. No target is left for A to say it stopped
    // for: the operator must still learn that what was to be withdrawn may still be published.
    const logFrom = h.logLines.length;
    const { runA, letGo } = await withdrawalHeldWhileTakenOver('2026-12-15', (store) =>
      exportCurated(
        h.exportDeps(container, {
          agreements: loadAgreements(agreementsFolderWithout(['isa'])),
          store,
          now: () => new Date('2026-12-15T06:00:00.000Z'),
        }),
      ),
    );

    letGo();
    // What `npm run curate` tells the operator from, and the timer retries on.
    expect(await runA.catch((err: unknown) => `threw ${String(err)}`)).toEqual({
      summaries: [],
      withdrawalStopped: 'lease-lost',
    });
    expect(withdrawalStops(logFrom)).toEqual([expect.objectContaining({ level: 'warn', reason: 'lease-lost' })]);
  }, 60_000);

  it("has the timer's run tried again when its withdrawal finds its lease lost with no export left to name", async () => {
    // As above, from the monthly timer: a run that ended without a retry would leave what it was
    // to withdraw published until next month's run.
    const { runA, letGo } = await withdrawalHeldWhileTakenOver('2026-12-17', (store) =>
      scheduledExport(
        h.exportDeps(container, {
          agreements: loadAgreements(agreementsFolderWithout(['isa'])),
          store,
          now: () => new Date('2026-12-17T06:00:00.000Z'),
        }),
      ),
    );

    letGo();
    await expect(runA).rejects.toMatchObject({ name: 'ExportBusyError' });
  }, 60_000);

  it('says the heal-only pass stopped, not failed, when its heal upload is refused before it has noticed its lease gone', async () => {
    // latest/ is left without its manifest (a run died there), so the host's heal pass puts it
    // back; its upload of latest/'s counts is held on the wire while its lease is broken and run B
    // takes the lock and publishes, and then reaches the service: the refusal is the first the pass
    // hears of the takeover (its lease's default minute: no renewal of its has failed yet).
    await h.blobs.getContainerClient(container).getBlobClient(`${FOLDER}latest/${MANIFEST_FILE}`).delete();
    const { onTheWire, reached, letGo, lateUpload } = lateFirstUpload(h, `${FOLDER}latest/${COUNTS_FILE}`);
    const logFrom = h.logLines.length;
    const heal = healCurated(
      h.exportDeps(container, { blobs: onTheWire, now: () => new Date('2026-12-16T05:00:00.000Z') }),
    ).catch(() => undefined);
    await reached;
    await breakLease();
    const runB = await exportCurated(h.exportDeps(container, { now: () => new Date('2026-12-16T06:10:00.000Z') }));
    expect(runB.summaries.map((s) => s.outcome)).toEqual(['written']);
    const afterB = await contents();
    expect(noticed(logFrom)).toBe(false);

    letGo();
    await heal;
    expect(await lateUpload).toBe('refused 412');
    expect(await contents()).toEqual(afterB);
    // An operator reading a failure would look for a fault where another run is publishing.
    const events = logEvents(logFrom, 'curated.heal-stopped', 'curated.heal-failed');
    expect(events).toEqual([
      expect.objectContaining({
        event: 'curated.heal-stopped',
        level: 'warn',
        partyId: 'la-housing',
        reason: 'lease-lost',
      }),
    ]);
  }, 60_000);

  it('still ends as failed when an upload is refused while its lease is its own', async () => {
    // Someone puts a file back by hand in latest/ as the run writes there: its upload is refused,
    // but no run took the lock, so it is a failure for the operator to look into, not a stop.
    const parquet = `${FOLDER}latest/${COUNTS_PARQUET_FILE}`;
    const byHand = uploadsPutBackByHand(parquet);
    const logFrom = h.logLines.length;
    const outcome = await exportCurated(
      h.exportDeps(container, { blobs: byHand, now: () => new Date('2026-12-14T06:00:00.000Z') }),
    ).then(
      () => 'written',
      (err: unknown) => `threw ${String((err as { statusCode?: unknown }).statusCode)}`,
    );
    expect(outcome).toBe('threw 412');
    const events = logEvents(logFrom, 'curated.export-stopped', 'curated.export-failed', 'curated.export-lease-lost');
    expect(events).toEqual([expect.objectContaining({ event: 'curated.export-failed', level: 'error' })]);
  }, 60_000);

  it('ends the daily heal as stopped for the run that took the lock, not failed, when its heal upload is refused', async () => {
    // As above: the heal pass's upload of latest/'s counts reaches the service after run B has
    // taken the lock and published. The daily timer recorded the heal as failed, and `npm start`
    // printed "curated files not healed", for an operator to look into while run B heals.
    await h.blobs.getContainerClient(container).getBlobClient(`${FOLDER}latest/${MANIFEST_FILE}`).delete();
    const { onTheWire, reached, letGo, lateUpload } = lateFirstUpload(h, `${FOLDER}latest/${COUNTS_FILE}`);
    const heal = healCurated(
      h.exportDeps(container, { blobs: onTheWire, now: () => new Date('2026-12-19T05:00:00.000Z') }),
    ).then(
      (outcome) => outcome,
      (err: unknown) => `threw ${err instanceof Error ? err.name : 'error'}`,
    );
    await reached;
    await breakLease();
    const runB = await exportCurated(h.exportDeps(container, { now: () => new Date('2026-12-19T06:10:00.000Z') }));
    expect(runB.summaries.map((s) => s.outcome)).toEqual(['written']);

    letGo();
    expect(await lateUpload).toBe('refused 412');
    expect(await heal).toBe('lease-lost');
  }, 60_000);

  it('still ends the heal pass as failed when its heal upload is refused while its lease is its own', async () => {
    // Someone puts latest/'s counts back by hand as the pass heals there: no run took the lock,
    // so it is a failure for the operator to look into, not a stop.
    const counts = `${FOLDER}latest/${COUNTS_FILE}`;
    await h.blobs.getContainerClient(container).getBlobClient(`${FOLDER}latest/${MANIFEST_FILE}`).delete();
    const byHand = uploadsPutBackByHand(counts);
    const logFrom = h.logLines.length;
    const outcome = await healCurated(
      h.exportDeps(container, { blobs: byHand, now: () => new Date('2026-12-20T05:00:00.000Z') }),
    ).then(
      (ended) => ended,
      (err: unknown) => `threw ${String((err as { statusCode?: unknown }).statusCode)}`,
    );
    expect(outcome).toBe('threw 412');
    const events = logEvents(logFrom, 'curated.heal-stopped', 'curated.heal-failed');
    expect(events).toEqual([expect.objectContaining({ event: 'curated.heal-failed', level: 'error' })]);
    // Healed by the next pass, for the tests after this one.
    expect(await healCurated(h.exportDeps(container, { now: () => new Date('2026-12-20T05:10:00.000Z') }))).toBe(
      'healed',
    );
  }, 60_000);

  it('has npm start say its heal stopped for the run that took the lock, not that the files were not healed', async () => {
    // The heal `npm start` runs as it starts: another run takes the lock while the pass's upload
    // of latest/'s counts is on the wire, so the pass stops, and that run heals. "Not healed"
    // would send the operator looking for a fault while the other run publishes.
    await h.blobs.getContainerClient(container).getBlobClient(`${FOLDER}latest/${MANIFEST_FILE}`).delete();
    const { onTheWire, reached, letGo, lateUpload } = lateFirstUpload(h, `${FOLDER}latest/${COUNTS_FILE}`);
    const printed = healCuratedAtStart(
      h.exportDeps(container, { blobs: onTheWire, now: () => new Date('2026-12-21T05:00:00.000Z') }),
    );
    await reached;
    await breakLease();
    const runB = await exportCurated(h.exportDeps(container, { now: () => new Date('2026-12-21T06:10:00.000Z') }));
    expect(runB.summaries.map((s) => s.outcome)).toEqual(['written']);

    letGo();
    expect(await lateUpload).toBe('refused 412');
    expect(await printed).toBe(
      'curated files: healing stopped, as another planning export run took the lock; that run heals them',
    );
  }, 60_000);
});

describe("the planning export's SQL writes", () => {
  // Checked by the compiler (tsc): an export path that left the epoch out would commit or delete
  // over the release of a run that has taken the lock since, as no fence were there.
  it('cannot be called without the export lock epoch that fences them', () => {
    expectTypeOf<Parameters<typeof storeRelease>[3]>().toEqualTypeOf<LockEpoch>();
    expectTypeOf<Parameters<typeof pruneReleases>[4]>().toEqualTypeOf<LockEpoch>();
  });
});

/**
 * The export's blob client, its first upload of `blob` held on the wire until `letGo` and then
 * sent without the lease's signal (a request already sent is not recalled): `reached` once it is
 * held, `lateUpload` what the service made of it ("landed", or "refused <status>").
 */
function lateFirstUpload(h: ImportHarness, blob: string) {
  let letGo!: () => void;
  const stalled = new Promise<void>((resolve) => (letGo = resolve));
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  let landed!: (outcome: string) => void;
  const lateUpload = new Promise<string>((resolve) => (landed = resolve));
  let first = true;
  const onTheWire = overBlockBlobs(h.blobs, (name, real) => {
    const client = real() as { upload: (...args: unknown[]) => Promise<unknown> };
    if (name !== blob) return client;
    return new Proxy(client, {
      get: (target, prop, recv) =>
        prop !== 'upload' || !first
          ? (Reflect.get(target, prop, recv) as unknown)
          : async (body: unknown, length: unknown, options: Record<string, unknown>) => {
              first = false;
              reach();
              await stalled;
              const sent = target.upload(body, length, { ...options, abortSignal: undefined });
              sent.then(
                () => landed('landed'),
                (err: unknown) => landed(`refused ${String((err as { statusCode?: unknown }).statusCode)}`),
              );
              return sent;
            },
    });
  });
  return { onTheWire, reached, letGo, lateUpload };
}
