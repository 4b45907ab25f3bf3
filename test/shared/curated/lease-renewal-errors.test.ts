import { RestError } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_LOCK_BLOB, exportCurated, MANIFEST_FILE } from '../../../shared/curated/curated-export.js';
import type { ImportHarness } from '../imports/import-harness.js';
import { breakExportLease, curatedHarness, FOLDER, housing as housingOf, renewingThrough } from './curated-runs.js';

/** Housing's extract of `n` children, its NHS numbers this file's own. */
const housing = (n: number) => housingOf(n, 900);

/** The shortest lease Blob Storage grants, so a term without a renewal passes in seconds. */
const TEST_LEASE_SECONDS = 15;

/** A harness and export container where November's release is published. */
interface Published {
  h: ImportHarness;
  container: string;
}

async function published(): Promise<Published> {
  const { h, container } = await curatedHarness(housing(40));
  await exportCurated(h.exportDeps(container, { now: () => new Date('2026-11-01T06:00:00.000Z') }));
  return { h, container };
}

/** What the SDK throws when a request gets no answer: a RestError with a code and no status. */
const connectionReset = () => new RestError('read ECONNRESET', { code: 'ECONNRESET' });

/**
 * The planning export renews its lease on `curated/export.lock` before every write. A renewal
 * that got no answer (a connection reset, a timeout, a socket hang-up) was taken for a lost
 * lease: the run stopped and reported `lease-lost` though no one else had taken the lock, and
 * Power BI kept last month's release until someone ran it again.
 */
describe('a planning export whose lease renewal meets a network error', () => {
  let h: ImportHarness;
  let container: string;
  /** A blob of `of.container` (the shared harness's unless given). */
  const read = async (name: string, of: Published = { h, container }) =>
    of.h.blobs.getContainerClient(of.container).getBlobClient(name).downloadToBuffer();
  const latestGeneratedAt = async (of?: Published) =>
    (JSON.parse((await read(`${FOLDER}latest/${MANIFEST_FILE}`, of)).toString('utf8')) as { generatedAt: string })
      .generatedAt;
  const lockHeld = () => h.blobs.getContainerClient(container).getBlobClient(EXPORT_LOCK_BLOB).exists();
  const eventsSince = (since: number, of: Pick<Published, 'h'> = { h }) =>
    of.h.logLines
      .slice(since)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .map((l) => l.event);

  beforeAll(async () => {
    ({ h, container } = await published());
  });
  afterAll(() => h?.close());

  it('retries the renewal, publishes its release and lets the lock go, not stopping as if another run had it', async () => {
    const logFrom = h.logLines.length;
    // The run's second and third renewals (a write's confirm, and its first retry) get no answer.
    const blobs = renewingThrough(h.blobs, (n, real) =>
      n === 2 || n === 3 ? Promise.reject(connectionReset()) : real(),
    );
    const run = await exportCurated(
      h.exportDeps(container, {
        blobs,
        leaseSeconds: TEST_LEASE_SECONDS,
        now: () => new Date('2026-12-01T06:00:00.000Z'),
      }),
    );
    expect(run.summaries.map((s) => [s.partyId, s.outcome])).toEqual([['la-housing', 'written']]);
    expect(await latestGeneratedAt()).toBe('2026-12-01T06:00:00.000Z');
    expect(eventsSince(logFrom)).not.toContain('curated.export-lease-lost');
    expect(eventsSince(logFrom)).not.toContain('curated.export-stopped');
    // Released: the next run takes the lock and publishes, rather than finding it busy.
    expect(await lockHeld()).toBe(false);
    const next = await exportCurated(h.exportDeps(container, { now: () => new Date('2026-12-01T06:10:00.000Z') }));
    expect(next.summaries.map((s) => s.outcome)).toEqual(['written']);
  }, 60_000);

  it('still stops at once when Blob Storage refuses the renewal: another run may have the lock', async () => {
    const logFrom = h.logLines.length;
    const latestBefore = await latestGeneratedAt();
    let refusedAt = 0;
    // The lease is broken (as when it lapsed and another took it) just before the second renewal,
    // which the service then refuses.
    const blobs = renewingThrough(h.blobs, async (n, real) => {
      if (n === 2) {
        await breakExportLease(h, container);
        refusedAt = Date.now();
      }
      return real();
    });
    const run = await exportCurated(
      h.exportDeps(container, {
        blobs,
        leaseSeconds: TEST_LEASE_SECONDS,
        now: () => new Date('2026-12-02T06:00:00.000Z'),
      }),
    );
    expect(run.summaries.map((s) => [s.partyId, s.outcome])).toEqual([['la-housing', 'lease-lost']]);
    expect(Date.now() - refusedAt).toBeLessThan(5_000);
    expect(await latestGeneratedAt()).toBe(latestBefore);
    expect(eventsSince(logFrom)).toContain('curated.export-lease-lost');
    // The broken lease's blob is left to the next taker, who takes it.
    const next = await exportCurated(h.exportDeps(container, { now: () => new Date('2026-12-02T06:10:00.000Z') }));
    expect(next.summaries.map((s) => s.outcome)).toEqual(['written']);
  }, 60_000);

  /**
   * An export on a harness and release of its own (one lock blob, one store each), whose renewals
   * after the first go through `renewal`, run for `day`: what it published and logged, and how
   * long it took.
   */
  async function exportRenewingThrough(
    renewal: Parameters<typeof renewingThrough>[1],
    day: string,
  ): Promise<{
    outcomes: [string, string][];
    tookMs: number;
    latestBefore: string;
    latestAfter: string;
    events: unknown[];
  }> {
    const own = await published();
    try {
      const logFrom = own.h.logLines.length;
      const latestBefore = await latestGeneratedAt(own);
      const blobs = renewingThrough(own.h.blobs, (n, real, options) => (n >= 2 ? renewal(n, real, options) : real()));
      const started = Date.now();
      const run = await exportCurated(
        own.h.exportDeps(own.container, {
          blobs,
          leaseSeconds: TEST_LEASE_SECONDS,
          now: () => new Date(`${day}T06:00:00.000Z`),
        }),
      );
      const tookMs = Date.now() - started;
      return {
        outcomes: run.summaries.map((s) => [s.partyId, s.outcome]),
        tookMs,
        latestBefore,
        latestAfter: await latestGeneratedAt(own),
        events: eventsSince(logFrom, own),
      };
    } finally {
      await own.h.close();
    }
  }

  // The two cases below each wait out a lease term: they run side by side, each on a harness and
  // release of its own, rather than one term after the other.
  it.concurrent(
    'stops once no renewal has been answered for the lease term: it may have lapsed and been taken',
    async ({ expect }) => {
      const stopped = await exportRenewingThrough(() => Promise.reject(connectionReset()), '2026-12-03');
      expect(stopped.outcomes).toEqual([['la-housing', 'lease-lost']]);
      expect(stopped.tookMs).toBeLessThan((TEST_LEASE_SECONDS + 10) * 1000);
      expect(stopped.latestAfter).toBe(stopped.latestBefore);
      expect(stopped.events).toContain('curated.export-lease-lost');
    },
    60_000,
  );

  it.concurrent(
    'stops once a renewal that never answers has outlasted the lease term, rather than waiting for ever',
    async ({ expect }) => {
      // No answer and no error: a connection the service went quiet on. Only the caller's own
      // abort ends it (the SDK sets no client-side timeout).
      const hang = (_n: number, _real: unknown, options: { abortSignal?: AbortSignal } | undefined) =>
        new Promise((_, reject) => {
          const signal = options?.abortSignal;
          signal?.addEventListener('abort', () =>
            reject(new RestError('The operation was aborted.', { code: 'ABORT' })),
          );
        });
      const stopped = await exportRenewingThrough(hang, '2026-12-04');
      expect(stopped.outcomes).toEqual([['la-housing', 'lease-lost']]);
      expect(stopped.tookMs).toBeLessThan((TEST_LEASE_SECONDS + 10) * 1000);
      expect(stopped.latestAfter).toBe(stopped.latestBefore);
      expect(stopped.events).toContain('curated.export-lease-lost');
    },
    60_000,
  );
});
