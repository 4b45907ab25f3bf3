import { describe, expect, it } from 'vitest';
import { AccessLog } from '../../../shared/audit/access-log.js';
import { createLogger } from '../../../shared/logging.js';
import { currentSnapshotOrder } from '../../../shared/imports/import-runs.js';
import { importFixture, oneHarnessAfresh, storedRecords, type ImportHarness } from './import-harness.js';

/**
 * Snapshot order: Event Grid neither keeps order nor gives up quickly (it retries for 24 h), so
 * an extract may arrive after a newer one. The snapshot with the latest as-of date wins; the same
 * bytes are applied once while they are what the store holds, and load again when a newer file
 * carries them after another snapshot replaced them.
 */

const MDI = 'multiple-disadvantage-indicators';
const HOUSING = 'la-housing';
const path = (file: string) => `${HOUSING}/${MDI}/${file}`;

/** Monday's extract (40 rows) and Tuesday's (15 rows, different people). */
const MONDAY = importFixture('good.csv');
const TUESDAY = importFixture('good-second-snapshot.csv');

const runs = (h: ImportHarness) => h.store.db.selectFrom('import_run').selectAll().orderBy('received_at').execute();
const importEntries = (h: ImportHarness, runId: string) =>
  h.store.db
    .selectFrom('access_log')
    .selectAll()
    .where('request_id', '=', runId)
    .where('action', '=', 'import')
    .orderBy('seq')
    .execute();
const runIdOf = (outcome: { outcome: string; runId?: string }) => ('runId' in outcome ? outcome.runId! : '');

/** Every case's own deliveries, on one harness put back afresh before each. */
let h: ImportHarness;
oneHarnessAfresh((shared) => (h = shared));

describe('snapshot order', () => {
  it('rejects an extract dated after its upload day, which would hold every later extract back as stale', async () => {
    const day = (offset: number) => new Date(Date.now() + offset * 24 * 3600_000).toISOString().slice(0, 10);
    // A mistyped year in the name: refused, so the next real extract still loads.
    const typo = await h.importFile(path('extract-2099-12-31.csv'), TUESDAY);
    expect(typo).toMatchObject({ outcome: 'rejected', reasons: ['future-extract'] });
    expect(await h.report('rejected', path('extract-2099-12-31.csv'))).toMatchObject({
      fileErrors: [{ reason: 'future-extract' }],
      counts: { loaded: 0 },
    });
    expect(await storedRecords(h.store, HOUSING, MDI)).toEqual([]);
    const [deny] = await importEntries(h, runIdOf(typo));
    expect(deny).toMatchObject({ decision: 'deny', reason_code: 'future-extract' });
    // Declared in metadata: the same rule.
    const declared = await h.importFile(path('declared.csv'), Buffer.concat([TUESDAY, Buffer.from('\n')]), {
      asof: day(3),
    });
    expect(declared).toMatchObject({ outcome: 'rejected', reasons: ['future-extract'] });

    // Dated tomorrow: within the day's grace for a partner's time zone.
    const tomorrow = await h.importFile(path(`extract-${day(1)}.csv`), MONDAY);
    expect(tomorrow).toMatchObject({ outcome: 'loaded', loaded: 40 });
    const today = await h.importFile(path(`extract-${day(0)}.csv`), Buffer.concat([MONDAY, Buffer.from('\n')]));
    expect(today).toMatchObject({ outcome: 'rejected', reasons: ['stale-extract'] });
  });

  it('rejects an extract whose declared date cannot be read, rather than dating it by its upload', async () => {
    await h.importFile(path('extract-2025-02-04.csv'), TUESDAY);
    // Monday's extract, declared in a form no date is read from: dated by its upload day instead,
    // it would replace Tuesday's rows.
    const unread = await h.importFile(path('monday.csv'), MONDAY, { asof: 'Mon 3rd Feb' });
    expect(unread).toMatchObject({ outcome: 'rejected', reasons: ['unreadable-asof'] });
    expect(await h.report('rejected', path('monday.csv'))).toMatchObject({
      fileErrors: [{ reason: 'unreadable-asof' }],
    });
    expect(await storedRecords(h.store, HOUSING, MDI)).toHaveLength(15);
  });

  it('rejects an extract older than the current snapshot as stale, leaving the newer rows, also on retry', async () => {
    const tuesday = await h.importFile(path('extract-2025-02-04.csv'), TUESDAY);
    expect(tuesday).toMatchObject({ outcome: 'loaded', loaded: 15 });
    const current = await storedRecords(h.store, HOUSING, MDI);

    const monday = await h.importFile(path('extract-2025-02-03.csv'), MONDAY);
    expect(monday).toMatchObject({ outcome: 'rejected', reasons: ['stale-extract'] });
    expect(await storedRecords(h.store, HOUSING, MDI)).toEqual(current);
    expect(current.every((r) => r.as_of === '2025-02-04')).toBe(true);
    const report = await h.report('rejected', path('extract-2025-02-03.csv'));
    expect(report).toMatchObject({
      outcome: 'rejected',
      fileErrors: [{ reason: 'stale-extract' }],
      counts: { rows: 0, loaded: 0, rejected: 0 },
    });
    expect(await h.exists('rejected', path('extract-2025-02-03.csv'))).toBe(true);
    expect(await h.exists('incoming', path('extract-2025-02-03.csv'))).toBe(false);
    const [deny] = await importEntries(h, runIdOf(monday));
    expect(deny).toMatchObject({ decision: 'deny', reason_code: 'stale-extract' });

    // The event delivered again finds the file gone; the file uploaded again (in a later second:
    // Last-Modified is kept to the second) is read again and stays rejected.
    expect(await h.run(path('extract-2025-02-03.csv'))).toEqual({ outcome: 'gone' });
    await new Promise((r) => setTimeout(r, 1100));
    const again = await h.importFile(path('extract-2025-02-03.csv'), MONDAY);
    expect(again).toMatchObject({ outcome: 'rejected', runId: runIdOf(monday), reasons: ['stale-extract'] });
    expect(await storedRecords(h.store, HOUSING, MDI)).toEqual(current);
    // Dated by metadata instead of by name: the same rule.
    const declared = await h.importFile(path('monday-again.csv'), Buffer.concat([MONDAY, Buffer.from('\n')]), {
      asof: '2025-02-03',
    });
    expect(declared).toMatchObject({ outcome: 'rejected', reasons: ['stale-extract'] });
    expect(await storedRecords(h.store, HOUSING, MDI)).toEqual(current);
    // The refused bytes dated after Tuesday are a new snapshot: refused for their date, not their content.
    const wednesday = await h.importFile(path('extract-2025-02-05.csv'), MONDAY);
    expect(wednesday).toMatchObject({ outcome: 'loaded', runId: runIdOf(monday), loaded: 40 });
    expect(await h.report('rejected', path('extract-2025-02-03.csv'))).toMatchObject({ outcome: 'rejected' });
  });

  it('rejects Monday’s retry after Tuesday loaded, when Monday’s first attempt failed', async () => {
    const mondayName = path('extract-2025-02-03.csv');
    await h.drop(mondayName, MONDAY);
    const failing = h.run(mondayName, {
      hooks: {
        onRow: (row) => {
          if (row === 10) throw new Error('injected fault');
        },
      },
    });
    await expect(failing).rejects.toThrow();
    expect(await h.exists('incoming', mondayName)).toBe(true);

    expect(await h.importFile(path('extract-2025-02-04.csv'), TUESDAY)).toMatchObject({ outcome: 'loaded' });
    const current = await storedRecords(h.store, HOUSING, MDI);

    expect(await h.run(mondayName)).toMatchObject({ outcome: 'rejected', reasons: ['stale-extract'] });
    expect(await storedRecords(h.store, HOUSING, MDI)).toEqual(current);
    expect(await h.exists('rejected', mondayName)).toBe(true);
  });

  it('rejects the retry of an earlier upload once a later upload of the same date has loaded', async () => {
    // Neither name nor metadata gives a date: both are dated the day they were uploaded.
    const earlier = path('register.csv');
    await h.drop(earlier, MONDAY);
    const failing = h.run(earlier, {
      hooks: {
        onRow: (row) => {
          if (row === 10) throw new Error('injected fault');
        },
      },
    });
    await expect(failing).rejects.toThrow();
    // Last-Modified counts whole seconds.
    await new Promise((resolveWait) => setTimeout(resolveWait, 1100));
    expect(await h.importFile(path('register-later.csv'), TUESDAY)).toMatchObject({ outcome: 'loaded', loaded: 15 });
    const current = await storedRecords(h.store, HOUSING, MDI);

    expect(await h.run(earlier)).toMatchObject({ outcome: 'rejected', reasons: ['stale-extract'] });
    expect(await storedRecords(h.store, HOUSING, MDI)).toEqual(current);
  });

  it('judges the order by what the files say, not by the clocks of the instances that loaded them', async () => {
    const t = Date.now();
    const at = (ms: number) => ({ now: () => new Date(ms) });
    expect(await h.importFile(path('extract-2025-02-03.csv'), MONDAY, undefined, at(t))).toMatchObject({
      outcome: 'loaded',
    });
    // Tuesday loads on an instance whose clock is 200 ms behind the first's.
    expect(await h.importFile(path('extract-2025-02-04.csv'), TUESDAY, undefined, at(t - 200))).toMatchObject({
      outcome: 'loaded',
    });
    const current = await storedRecords(h.store, HOUSING, MDI);
    const mondayAgain = await h.importFile(
      path('monday-again-2025-02-03.csv'),
      Buffer.concat([MONDAY, Buffer.from('\n')]),
    );
    expect(mondayAgain).toMatchObject({ outcome: 'rejected', reasons: ['stale-extract'] });
    expect(await storedRecords(h.store, HOUSING, MDI)).toEqual(current);
  });

  it('keeps the order when retention has deleted every record of the current snapshot', async () => {
    expect(await h.importFile(path('extract-2025-02-04.csv'), TUESDAY)).toMatchObject({ outcome: 'loaded' });
    const records = h.store.db
      .selectFrom('source_record')
      .select('id')
      .where('party_id', '=', HOUSING)
      .where('dataset_id', '=', MDI);
    await h.store.db.deleteFrom('record_identifier').where('record_id', 'in', records).execute();
    await h.store.db
      .deleteFrom('source_record')
      .where('party_id', '=', HOUSING)
      .where('dataset_id', '=', MDI)
      .execute();
    expect(await storedRecords(h.store, HOUSING, MDI)).toEqual([]);

    const monday = await h.importFile(path('extract-2025-02-03.csv'), MONDAY);
    expect(monday).toMatchObject({ outcome: 'rejected', reasons: ['stale-extract'] });
    expect(await storedRecords(h.store, HOUSING, MDI)).toEqual([]);
  });

  it('loads a re-issue with the same date as the current snapshot', async () => {
    await h.importFile(path('extract-2025-02-04.csv'), MONDAY);
    const reissue = await h.importFile(path('corrected.csv'), TUESDAY, { asof: '2025-02-04' });
    expect(reissue).toMatchObject({ outcome: 'loaded', loaded: 15 });
    const records = await storedRecords(h.store, HOUSING, MDI);
    expect(records).toHaveLength(15);
    expect(new Set(records.map((r) => r.import_run_id))).toEqual(new Set([runIdOf(reissue)]));
  });

  it('rejects a stale extract whose rows are prepared on a worker thread the same way', async () => {
    const onWorker = { rowWorkerMinBytes: 0 };
    await h.importFile(path('extract-2025-02-04.csv'), TUESDAY, undefined, onWorker);
    const current = await storedRecords(h.store, HOUSING, MDI);
    const monday = await h.importFile(path('extract-2025-02-03.csv'), MONDAY, undefined, onWorker);
    expect(monday).toMatchObject({ outcome: 'rejected', reasons: ['stale-extract'] });
    expect(await storedRecords(h.store, HOUSING, MDI)).toEqual(current);
  });

  it('keeps the newer snapshot when an older and a newer extract are imported at the same time', async () => {
    for (const order of [
      ['extract-2025-02-03.csv', 'extract-2025-02-04.csv'],
      ['extract-2025-02-04.csv', 'extract-2025-02-03.csv'],
    ]) {
      await h.store.db.deleteFrom('record_identifier').execute();
      await h.store.db.deleteFrom('source_record').execute();
      await h.store.db.deleteFrom('import_run').execute();
      // A blank line per round keeps the bytes (so the runs) new.
      const tail = Buffer.from(order[0] === 'extract-2025-02-03.csv' ? '\n' : '\n\n');
      await h.drop(path(`r-${order[0]}`), Buffer.concat([order[0]!.includes('02-03') ? MONDAY : TUESDAY, tail]));
      await h.drop(path(`r-${order[1]}`), Buffer.concat([order[1]!.includes('02-03') ? MONDAY : TUESDAY, tail]));
      const outcomes = await Promise.all(order.map((name) => h.run(path(`r-${name}`))));
      const records = await storedRecords(h.store, HOUSING, MDI);
      expect(records, order.join(' then ')).toHaveLength(15);
      expect(new Set(records.map((r) => r.as_of))).toEqual(new Set(['2025-02-04']));
      const older = outcomes[order.indexOf('extract-2025-02-03.csv')]!;
      // Either it committed first and was replaced, or it came second and was refused.
      expect(['loaded', 'rejected']).toContain(older.outcome);
      if (older.outcome === 'rejected') expect(older.reasons).toEqual(['stale-extract']);
    }
  });
});

describe('the same bytes again', () => {
  it('loads a newer file whose bytes equal a superseded run’s, and stays exactly once for a plain double upload', async () => {
    const a = await h.importFile(path('extract-2025-02-03.csv'), MONDAY);
    const b = await h.importFile(path('extract-2025-02-04.csv'), TUESDAY);
    expect(a).toMatchObject({ outcome: 'loaded', loaded: 40 });
    expect(b).toMatchObject({ outcome: 'loaded', loaded: 15 });

    // A's bytes, dated no later than B: not newer than what the store holds, so a duplicate.
    expect(await h.importFile(path('extract-2025-02-04-copy.csv'), MONDAY)).toEqual({
      outcome: 'duplicate',
      runId: runIdOf(a),
      of: 'loaded',
    });
    expect(await storedRecords(h.store, HOUSING, MDI)).toHaveLength(15);

    // A's bytes under a new, later name: a new snapshot.
    const again = await h.importFile(path('extract-2025-02-05.csv'), MONDAY);
    expect(again).toMatchObject({ outcome: 'loaded', loaded: 40 });
    const records = await storedRecords(h.store, HOUSING, MDI);
    expect(records).toHaveLength(40);
    expect(new Set(records.map((r) => r.as_of))).toEqual(new Set(['2025-02-05']));
    expect(new Set(records.map((r) => r.import_run_id))).toEqual(new Set([runIdOf(again)]));
    // The content run is taken up again (the unique key allows one run per content) and each
    // of its loads is in the access log.
    expect(runIdOf(again)).toBe(runIdOf(a));
    expect((await runs(h)).find((r) => r.id === runIdOf(a))).toMatchObject({
      status: 'loaded',
      blob_name: path('extract-2025-02-05.csv'),
      rows_loaded: 40,
    });
    expect((await importEntries(h, runIdOf(a))).map((e) => e.decision)).toEqual(['allow', 'allow']);
    expect(await h.report('processed', path('extract-2025-02-05.csv'))).toMatchObject({
      runId: runIdOf(a),
      outcome: 'loaded',
    });
    expect(await h.exists('processed', path('extract-2025-02-05.csv'))).toBe(true);

    // The same file uploaded twice is applied once.
    const ids = await h.store.db.selectFrom('source_record').select(['id']).orderBy('id').execute();
    expect(await h.importFile(path('extract-2025-02-05.csv'), MONDAY)).toEqual({
      outcome: 'duplicate',
      runId: runIdOf(a),
      of: 'loaded',
    });
    expect(await h.store.db.selectFrom('source_record').select(['id']).orderBy('id').execute()).toEqual(ids);
    expect(await importEntries(h, runIdOf(a))).toHaveLength(2);
  });

  it('writes the access-log entry a crash lost after a reload of superseded bytes, once', async () => {
    const a = await h.importFile(path('extract-2025-02-03.csv'), MONDAY);
    await h.importFile(path('extract-2025-02-04.csv'), TUESDAY);
    const broken = new AccessLog(h.store, createLogger('error'));
    broken.append = () => Promise.reject(new Error('access log down'));
    const name = path('extract-2025-02-05.csv');
    await h.drop(name, MONDAY);
    await expect(h.run(name, { accessLog: broken })).rejects.toThrow();
    expect(await storedRecords(h.store, HOUSING, MDI)).toHaveLength(40);
    expect(await importEntries(h, runIdOf(a))).toHaveLength(1);

    expect(await h.run(name)).toEqual({ outcome: 'duplicate', runId: runIdOf(a), of: 'loaded' });
    expect((await importEntries(h, runIdOf(a))).map((e) => e.decision)).toEqual(['allow', 'allow']);
    expect(await h.exists('processed', name)).toBe(true);
    expect(await h.importFile(name, MONDAY)).toMatchObject({ outcome: 'duplicate' });
    expect(await importEntries(h, runIdOf(a))).toHaveLength(2);
  });

  // Found by import-properties (seed 3002): Last-Modified has whole seconds, so two files uploaded
  // in one second, undated, are alike in order; the later delivered loads over the earlier, and
  // the ledger must name it as the snapshot the store holds, not whichever run it read first.
  it('names as current the later load of two files alike in date and upload second', async () => {
    let uploaded: Date[] = [];
    for (let tries = 0; tries < 5; tries++) {
      // Just after a second begins, so that both uploads land within it.
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
      await h.drop(path('x.csv'), MONDAY);
      await h.drop(path('y.csv'), TUESDAY);
      uploaded = await Promise.all(
        ['x.csv', 'y.csv'].map(
          async (f) =>
            (await h.blobs.getContainerClient(h.containers.incoming).getBlobClient(path(f)).getProperties())
              .lastModified!,
        ),
      );
      if (uploaded[0]!.getTime() === uploaded[1]!.getTime()) break;
    }
    expect(uploaded[0]!.getTime(), 'both uploads in one second').toBe(uploaded[1]!.getTime());
    const tuesday = await h.run(path('y.csv'));
    expect(tuesday).toMatchObject({ outcome: 'loaded', loaded: 15 });
    const monday = await h.run(path('x.csv'));
    expect(monday).toMatchObject({ outcome: 'loaded', loaded: 40 });
    expect(await storedRecords(h.store, HOUSING, MDI)).toHaveLength(40);
    expect((await currentSnapshotOrder(h.store.db, HOUSING, MDI))?.runId).toBe(runIdOf(monday));
  });
});
