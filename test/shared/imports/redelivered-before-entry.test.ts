import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccessLog } from '../../../shared/audit/access-log.js';
import { openStore, type Store } from '../../../shared/store/database.js';
import { gate } from '../../support/gate.js';
import { createImportHarness, importFixture, runEntries, type ImportHarness } from './import-harness.js';

/**
 * Event Grid delivers at least once, and the queue's batch of two can hand one host the same event
 * twice: the second delivery can find the run loaded (or rejected) by the first, which has
 * committed but not yet written its access-log entry. What looks like an entry a crash lost is the
 * first delivery's, on its way: written by the second as well, the import stood twice in the access
 * log, the DPO's record of what was processed.
 */
const path = (f: string) => `la-housing/multiple-disadvantage-indicators/${f}`;

describe('a delivery of a file whose first delivery has finished but not yet logged it', () => {
  let h: ImportHarness;
  // The second delivery's own connection to the store, as another instance's: the first holds the
  // run's lock while it writes its entry, and on one SQLite connection the second would wait for
  // that before it read anything.
  let otherInstance: Store;
  beforeEach(async () => {
    h = await createImportHarness();
    otherInstance = openStore({ engine: 'sqlite', path: h.paths.sqlite });
  });
  afterEach(async () => {
    await otherInstance?.close();
    await h?.close();
  });

  /** The harness's access log, holding the first delivery's entry until `release`. */
  function heldAccessLog(): { accessLog: AccessLog; holding: Promise<void>; release: () => void } {
    const accessLog = h.deps().accessLog;
    const holding = gate();
    const release = gate();
    const held: AccessLog = Object.create(accessLog, {
      append: {
        value: async (...args: Parameters<AccessLog['append']>) => {
          holding.open();
          await release.opened;
          return accessLog.append(...args);
        },
      },
    });
    return { accessLog: held, holding: holding.opened, release: release.open };
  }

  /** Resolves once the second delivery has found the run settled (`import.duplicate`). */
  async function foundDuplicate(): Promise<void> {
    while (!h.logLines.some((line) => line.includes('"import.duplicate"'))) {
      await new Promise((resolveTurn) => setImmediate(resolveTurn));
    }
  }

  it('has one access-log entry for a load, not one from each delivery', async () => {
    const name = path('register.csv');
    await h.drop(name, importFixture('good.csv'));
    const held = heldAccessLog();
    const first = h.run(name, { accessLog: held.accessLog });
    await held.holding;
    const second = h.run(name, { store: otherInstance });
    await Promise.race([foundDuplicate(), second]);
    held.release();
    const [firstOutcome, secondOutcome] = await Promise.all([first, second]);
    expect(firstOutcome).toMatchObject({ outcome: 'loaded' });
    expect(secondOutcome).toMatchObject({ outcome: 'duplicate', of: 'loaded' });
    const runId = (firstOutcome as { runId: string }).runId;
    expect(await runEntries(h, runId)).toEqual([['allow', 'snapshot-loaded']]);
    expect(await h.exists('processed', name)).toBe(true);
  });

  it('has one access-log entry for a rejection, not one from each delivery', async () => {
    const name = path('register.csv');
    await h.drop(name, importFixture('missing-required-column.csv'));
    const held = heldAccessLog();
    const first = h.run(name, { accessLog: held.accessLog });
    await held.holding;
    const second = h.run(name, { store: otherInstance });
    await Promise.race([foundDuplicate(), second]);
    held.release();
    const [firstOutcome, secondOutcome] = await Promise.all([first, second]);
    expect(firstOutcome).toMatchObject({ outcome: 'rejected', reasons: ['missing-required-column'] });
    expect(secondOutcome).toMatchObject({ outcome: 'duplicate', of: 'rejected' });
    const runId = (firstOutcome as { runId: string }).runId;
    expect(await runEntries(h, runId)).toEqual([['deny', 'missing-required-column']]);
    expect(await h.report('rejected', name)).toMatchObject({ runId, outcome: 'rejected' });
  });
});
