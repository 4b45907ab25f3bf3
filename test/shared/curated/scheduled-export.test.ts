import { randomUUID } from 'node:crypto';
import functions from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../../functions/export-curated.js';
import { registrations, type TimerRegistration } from '../../../functions/registry.js';
import { useServices, type Services } from '../../../shared/services.js';
import type { ImportHarness } from '../imports/import-harness.js';
import { blobsWithEtags, curatedHarness, housing as housingOf, startHeldRun } from './curated-runs.js';

/** Housing's extract of `n` children, its NHS numbers this file's own. */
const housing = (n: number) => housingOf(n, 900);

/**
 * The monthly timer's run found another run (an operator's `npm run curate`) exporting, and
 * returned as a success: the host's retry policy never fired, so when the other run then failed,
 * that month's release was not made until the next month.
 */
describe("the monthly timer's planning export while another run holds the lock", () => {
  let h: ImportHarness;
  let container: string;
  const contents = () => blobsWithEtags(h, container);
  const releasesOn = async (day: string) =>
    (await h.store.db.selectFrom('curated_release').select('generated_at').orderBy('generated_at').execute())
      .map((r) => r.generated_at)
      .filter((at) => at.startsWith(day));

  /**
   * One run of the monthly timer's registration (functions/export-curated.ts), as the host calls
   * it, on services over the test's store and container, its clock at `at`.
   */
  const timerRun = async (at: string) => {
    const timer = registrations().find(
      (r): r is TimerRegistration => r.kind === 'timer' && r.name === 'exportCurated',
    )!;
    const deps = h.exportDeps(container, { now: () => new Date(at) });
    const settings = { CURATED_MIN_CELL: deps.minCell, CURATED_HISTORY_DAYS: deps.historyDays };
    useServices(Promise.resolve({ ...deps, settings } as unknown as Services));
    try {
      const context = new functions.InvocationContext({ invocationId: randomUUID(), functionName: 'exportCurated' });
      await timer.handler({ isPastDue: false, scheduleStatus: undefined } as never, context);
    } finally {
      useServices(undefined);
    }
  };

  beforeAll(async () => {
    ({ h, container } = await curatedHarness(housing(45)));
  });
  afterAll(() => h?.close());

  it('fails so the host retries, and its retry after the other run published exports nothing again', async () => {
    // Run A (an operator's) is held as it opens its SQL release.
    const { run: runA, letGo } = await startHeldRun(h, container, '2026-12-01T05:59:00.000Z');

    // The timer's run B: busy, so it fails, for the host's retry policy.
    try {
      await expect(timerRun('2026-12-01T06:00:00.000Z')).rejects.toMatchObject({ name: 'ExportBusyError' });
    } finally {
      // A finishes: the day's release is made.
      letGo();
    }
    expect((await runA).summaries.map((s) => s.outcome)).toEqual(['written']);
    const afterA = await contents();

    // B's retry half an hour later: the day's release is there, so no second one with fresh noise.
    const logFrom = h.logLines.length;
    await timerRun('2026-12-01T06:30:00.000Z');
    expect(h.logLines.slice(logFrom).filter((l) => l.includes('"curated.export'))).toEqual([
      expect.stringContaining('"curated.export-already-released"'),
    ]);
    expect(await releasesOn('2026-12-01')).toEqual(['2026-12-01T05:59:00.000Z']);
    expect(await contents()).toEqual(afterA);
  });

  it('exports at its retry when the run it found busy failed', async () => {
    // Run A is held as it opens its SQL release, and then fails there (the store briefly out).
    const { run: runA, fail } = await startHeldRun(h, container, '2027-01-01T05:59:00.000Z');
    try {
      await expect(timerRun('2027-01-01T06:00:00.000Z')).rejects.toMatchObject({ name: 'ExportBusyError' });
    } finally {
      fail(new Error('store unreachable'));
    }
    await expect(runA).rejects.toThrow(/store unreachable/);
    expect(await releasesOn('2027-01-01')).toEqual([]);

    await timerRun('2027-01-01T06:30:00.000Z');
    expect(await releasesOn('2027-01-01')).toEqual(['2027-01-01T06:30:00.000Z']);
  });
});
