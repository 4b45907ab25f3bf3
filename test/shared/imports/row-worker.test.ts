import type { Worker, WorkerOptions } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PhaseClock } from '../../../shared/imports/import-phases.js';
import { warmRowWorker } from '../../../shared/imports/row-worker-client.js';
import type { ImportReport } from '../../../shared/imports/import-report.js';
import {
  createImportHarness,
  importFixture,
  storedIdentifiers,
  storedRecords,
  type ImportHarness,
} from './import-harness.js';

/**
 * Large files have their rows prepared on a worker thread while the import writes the store.
 * These tests send every file through the worker (`rowWorkerMinBytes: 0`) and hold it to the
 * import's own thread: the same outcome, report, records and hashes; and a worker that dies
 * leaves the previous snapshot, with a retry loading the file.
 */

/** Lets a test stop the next row worker once the import has taken some of its rows. */
const faults = vi.hoisted(() => ({ stopWorkerAfterBatches: 0, started: [] as Worker[] }));
vi.mock('../../../shared/threads/module-worker.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../../shared/threads/module-worker.js')>();
  return {
    ...actual,
    startModuleWorker(moduleUrl: URL, options?: WorkerOptions) {
      const worker = actual.startModuleWorker(moduleUrl, options);
      faults.started.push(worker);
      let batches = faults.stopWorkerAfterBatches;
      faults.stopWorkerAfterBatches = 0;
      if (batches > 0) {
        worker.on('message', (message: { kind: string }) => {
          if (message.kind === 'rows' && --batches === 0) void worker.terminate();
        });
      }
      return worker;
    },
  };
});

const MDI = 'multiple-disadvantage-indicators';
const HOUSING = 'la-housing';
const path = (file: string) => `${HOUSING}/${MDI}/${file}`;

const withoutRun = <T extends { import_run_id: string }>(rows: T[]) =>
  rows.map(({ import_run_id: _, ...rest }) => rest);
const comparable = (report: ImportReport | undefined) => {
  if (report === undefined) return undefined;
  const { runId: _, finishedAt: __, ...rest } = report;
  return rest;
};

/** good.csv's data rows `times` over: a file of many worker batches. */
function manyRows(times: number): Buffer {
  const [header, ...rows] = importFixture('good.csv').toString('utf8').trimEnd().split('\n');
  return Buffer.from([header, ...Array.from({ length: times }, () => rows).flat()].join('\n') + '\n', 'utf8');
}

describe('rows prepared on a worker thread', () => {
  let inThread: ImportHarness;
  let onWorker: ImportHarness;
  beforeAll(async () => {
    inThread = await createImportHarness({ rowWorkerMinBytes: Number.POSITIVE_INFINITY });
    onWorker = await createImportHarness({ rowWorkerMinBytes: 0 });
  });
  afterAll(async () => {
    await inThread?.close();
    await onWorker?.close();
  });

  it.each([
    'good.csv',
    'some-bad-rows.csv',
    'good-multiline-address.csv',
    'good-bom-crlf.csv',
    'good.xlsx',
    'formula-cells.xlsx',
    'header-only.csv',
    'blank-lines-only.csv',
    'no-header-row.csv',
    'ragged-rows.csv',
    'invalid-utf8.csv',
    'embedded-nul.csv',
    'truncated-in-quotes.csv',
    'text-after-closing-quote.csv',
    'not-a-zip.xlsx',
    'multiple-sheets.xlsx',
  ])('%s: the same outcome, report, records and hashes as on the import’s own thread', async (file) => {
    const expected = await inThread.importFile(path(file), importFixture(file));
    // The same key, so that the hashes can be compared.
    const actual = await onWorker.importFile(path(file), importFixture(file), undefined, { secrets: inThread.secrets });
    expect(actual.outcome).toBe(expected.outcome);
    if (expected.outcome === 'loaded' && actual.outcome === 'loaded') {
      expect({ ...actual, runId: '' }).toEqual({ ...expected, runId: '' });
    }
    const destination = expected.outcome === 'loaded' ? 'processed' : 'rejected';
    expect(comparable(await onWorker.report(destination, path(file)))).toEqual(
      comparable(await inThread.report(destination, path(file))),
    );
    expect(withoutRun(await storedRecords(onWorker.store, HOUSING, MDI))).toEqual(
      withoutRun(await storedRecords(inThread.store, HOUSING, MDI)),
    );
    expect(await storedIdentifiers(onWorker.store, HOUSING, MDI)).toEqual(
      await storedIdentifiers(inThread.store, HOUSING, MDI),
    );
  });

  it('loads a file of many batches whole, with progress up to its last byte', async () => {
    const content = manyRows(100);
    const seen: { rows: number; bytesRead: number }[] = [];
    const outcome = await onWorker.importFile(path('many.csv'), content, undefined, {
      hooks: { progress: () => ({ report: (p) => void seen.push(p), close: async () => undefined }) },
    });
    expect(outcome).toMatchObject({ outcome: 'loaded', rows: 4000, loaded: 4000, rejected: 0 });
    expect(await storedRecords(onWorker.store, HOUSING, MDI)).toHaveLength(4000);
    expect(seen.at(-1)).toMatchObject({ rows: 4000, bytesRead: content.length });
  });

  it('times the phases of a load, which add up to no more than its wall time', async () => {
    const phases = new PhaseClock();
    const started = performance.now();
    const outcome = await onWorker.importFile(path('timed.csv'), manyRows(21), undefined, { hooks: { phases } });
    const wall = performance.now() - started;
    expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 840 });
    const totals = new Map(phases.totals());
    for (const phase of [
      'hash pass',
      'claim run',
      'first record',
      'insert',
      'commit',
      'access log',
      'move blob',
    ] as const)
      expect(totals.get(phase), phase).toBeGreaterThan(0);
    expect([...totals.values()].reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(wall);
  });

  it('fails the import when a row fault is injected, and the retry loads the file', async () => {
    await onWorker.importFile(path('previous.csv'), importFixture('good-second-snapshot.csv'));
    const previous = await storedRecords(onWorker.store, HOUSING, MDI);
    const name = path('faulty.csv');
    await onWorker.drop(name, manyRows(20));
    const failing = onWorker.run(name, {
      hooks: {
        onRow: (row) => {
          if (row === 500) throw new Error('injected fault');
        },
      },
    });
    await expect(failing).rejects.toMatchObject({ name: 'ImportFailed', kind: 'Error' });
    expect(await storedRecords(onWorker.store, HOUSING, MDI)).toEqual(previous);
    expect(await onWorker.run(name)).toMatchObject({ outcome: 'loaded', loaded: 800 });
  });

  it('a spare started ahead (as a host does) takes the next file, with no thread started for it', async () => {
    warmRowWorker();
    const spare = faults.started.at(-1)!;
    await new Promise((resolve) => spare.once('online', resolve));
    const before = faults.started.length;
    const name = path('on-the-spare.csv');
    await onWorker.drop(name, manyRows(23));
    expect(await onWorker.run(name)).toMatchObject({ outcome: 'loaded', loaded: 920 });
    expect(faults.started).toHaveLength(before);
    expect(await storedRecords(onWorker.store, HOUSING, MDI)).toHaveLength(920);
  });

  it('a spare whose thread was lost is replaced, and the file loads', async () => {
    warmRowWorker();
    const spare = faults.started.at(-1)!;
    await new Promise((resolve) => spare.once('online', resolve));
    await spare.terminate();
    const before = faults.started.length;
    const name = path('spare-lost.csv');
    await onWorker.drop(name, manyRows(24));
    expect(await onWorker.run(name)).toMatchObject({ outcome: 'loaded', loaded: 960 });
    expect(faults.started).toHaveLength(before + 1);
  });

  it('fails the import cleanly when the worker dies mid-file, and the retry loads the file', async () => {
    await onWorker.importFile(path('before.csv'), importFixture('good-second-snapshot.csv'));
    const previous = await storedRecords(onWorker.store, HOUSING, MDI);
    const name = path('worker-dies.csv');
    await onWorker.drop(name, manyRows(500));

    faults.stopWorkerAfterBatches = 2;
    await expect(onWorker.run(name)).rejects.toMatchObject({ name: 'ImportFailed', kind: 'RowWorkerFailed' });
    expect(await storedRecords(onWorker.store, HOUSING, MDI)).toEqual(previous);
    const run = await onWorker.store.db
      .selectFrom('import_run')
      .selectAll()
      .where('blob_name', '=', name)
      .executeTakeFirstOrThrow();
    expect(run).toMatchObject({ status: 'failed' });
    expect(await onWorker.exists('incoming', name)).toBe(true);

    expect(await onWorker.run(name)).toMatchObject({ outcome: 'loaded', runId: run.id, loaded: 20_000 });
    const records = await storedRecords(onWorker.store, HOUSING, MDI);
    expect(records).toHaveLength(20_000);
    expect(new Set(records.map((r) => r.import_run_id))).toEqual(new Set([run.id]));
  }, 60_000);
});
