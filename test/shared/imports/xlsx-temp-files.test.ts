import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkerOptions } from 'node:worker_threads';
import ExcelJS from 'exceljs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_ROW_WORKER_MIN_BYTES } from '../../../shared/imports/import-extract.js';
import { createImportHarness, importFixture, type ImportHarness } from './import-harness.js';
import { buildZip, repetitiveSheet, sharedStringsPart, workbookSources } from './zip-builder.js';

/**
 * exceljs's streaming reader copies a worksheet that comes before xl/sharedStrings.xml (the
 * order Excel and exceljs write) to a temporary file. That copy holds the raw cells, matching-
 * only identifiers included, so no copy may outlive the import, however it ends: loaded, header
 * refused, stopped by the zip guard, or its row worker terminated mid-file.
 *
 * The temporary root (TMPDIR, which os.tmpdir() and so exceljs's `tmp` follow, and which a row
 * worker inherits) is an empty directory of this test's own, checked empty after every import.
 */

/** Lets a test terminate the next row worker once the import has taken some of its rows. */
const faults = vi.hoisted(() => ({ stopWorkerAfterBatches: 0, atStop: undefined as (() => void) | undefined }));
vi.mock('../../../shared/threads/module-worker.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../../shared/threads/module-worker.js')>();
  return {
    ...actual,
    startModuleWorker(moduleUrl: URL, options?: WorkerOptions) {
      const worker = actual.startModuleWorker(moduleUrl, options);
      let batches = faults.stopWorkerAfterBatches;
      faults.stopWorkerAfterBatches = 0;
      if (batches > 0) {
        worker.on('message', (message: { kind: string }) => {
          if (message.kind === 'rows' && --batches === 0) {
            faults.atStop?.();
            void worker.terminate();
          }
        });
      }
      return worker;
    },
  };
});

const MDI = 'multiple-disadvantage-indicators';
const HOUSING = 'la-housing';
const path = (file: string) => `${HOUSING}/${MDI}/${file}`;

/** good.xlsx (written by exceljs), its header changed by `header` and its data rows repeated `times` over. */
async function workbook(header: (names: string[]) => string[], times = 1): Promise<Buffer> {
  const source = new ExcelJS.Workbook();
  await source.xlsx.load(importFixture('good.xlsx') as unknown as ExcelJS.Buffer);
  const sheet = source.worksheets[0]!;
  const rows: unknown[][] = [];
  sheet.eachRow((row) => rows.push((row.values as unknown[]).slice(1)));
  const [names, ...data] = rows;
  const wb = new ExcelJS.Workbook();
  const out = wb.addWorksheet('Extract');
  out.addRow(header(names as string[]));
  for (let i = 0; i < times; i++) for (const r of data) out.addRow(r);
  out.getColumn(3).numFmt = 'dd/mm/yyyy';
  const bytes = Buffer.from(await wb.xlsx.writeBuffer());
  expectSheetBeforeSharedStrings(bytes);
  return bytes;
}

function expectSheetBeforeSharedStrings(bytes: Buffer): void {
  const sheet = bytes.indexOf('xl/worksheets/sheet1.xml');
  const strings = bytes.indexOf('xl/sharedStrings.xml');
  expect(sheet).toBeGreaterThan(0);
  expect(strings).toBeGreaterThan(sheet);
}

/**
 * Every file and directory under `dir`, relative to it; but tsx's compile cache (`tsx-<uid>`),
 * which a row worker started from source writes to the temporary root, is no import's.
 */
function listed(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => !/^tsx-\d+(?:[/\\]|$)/.test(name))
    .sort();
}

describe('XLSX imports leave no temporary copy of a worksheet', () => {
  /** Files below the row-worker threshold (a CSV of them would be read on the import's thread). */
  let inThread: ImportHarness;
  let onWorker: ImportHarness;
  /** The default threshold. */
  let belowThreshold: ImportHarness;
  let root: string;
  let previousTmpdir: string | undefined;

  beforeAll(async () => {
    inThread = await createImportHarness({ rowWorkerMinBytes: Number.POSITIVE_INFINITY });
    onWorker = await createImportHarness({ rowWorkerMinBytes: 0 });
    belowThreshold = await createImportHarness();
  });
  afterAll(async () => {
    await inThread?.close();
    await onWorker?.close();
    await belowThreshold?.close();
  });
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'lintel-xlsx-temp-test-'));
    previousTmpdir = process.env.TMPDIR;
    process.env.TMPDIR = root;
    expect(tmpdir()).toBe(root);
  });
  afterEach(() => {
    if (previousTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previousTmpdir;
    rmSync(root, { recursive: true, force: true });
  });

  const unlisted = (names: string[]) => [...names, 'shoeSize'];
  const withoutDateOfBirth = (names: string[]) => names.map((n) => (n === 'dateOfBirth' ? 'shoeSize' : n));

  it('a workbook below the row-worker threshold is spooled only inside a row worker’s private directory', async () => {
    // 6,000 rows: more than a row worker prepares ahead of the import (32 batches of 128), so the
    // read is still going — its copy on disk — when the import takes its first rows.
    const small = await workbook((n) => n, 300);
    expect(small.length).toBeLessThan(DEFAULT_ROW_WORKER_MIN_BYTES);
    const seen: string[][] = [];
    const outcome = await belowThreshold.importFile(path('small.xlsx'), small, undefined, {
      hooks: { onRow: (row) => void (row === 2 && seen.push(listed(root))) },
    });
    expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 6000 });
    // While its rows were read, the worksheet's copy was on disk — in the directory a later
    // process sweeps should this one be killed, never loose in the system's temporary folder.
    const during = seen[0] ?? [];
    expect(during.some((p) => /^lintel-row-worker-[^/\\]+[/\\]tmp-/.test(p))).toBe(true);
    expect(during.filter((p) => !p.startsWith('lintel-row-worker-'))).toEqual([]);
    expect(listed(root)).toEqual([]);
  });

  describe.each([
    ['below the row-worker threshold', () => inThread],
    ['on a row worker', () => onWorker],
  ])('%s', (_, harness) => {
    it('a loaded workbook', async () => {
      const seen: string[][] = [];
      const outcome = await harness().importFile(path('loaded.xlsx'), await workbook((n) => n), undefined, {
        hooks: { onRow: (row) => void (row === 2 && seen.push(listed(root))) },
      });
      expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 20 });
      if (harness() === inThread) {
        // The worksheet was spooled where this test looks, while its rows were read.
        expect(seen[0]?.length).toBeGreaterThan(0);
      }
      expect(listed(root)).toEqual([]);
    });

    it('a workbook whose header has a column not in the agreement', async () => {
      const outcome = await harness().importFile(path('unlisted.xlsx'), await workbook(unlisted));
      expect(outcome).toMatchObject({ outcome: 'rejected', reasons: ['column-not-in-agreement'] });
      expect(listed(root)).toEqual([]);
    });

    it('a workbook whose header lacks a required column', async () => {
      const outcome = await harness().importFile(path('missing.xlsx'), await workbook(withoutDateOfBirth));
      expect(outcome).toMatchObject({ outcome: 'rejected' });
      expect(outcome.outcome === 'rejected' && outcome.reasons).toContain('missing-required-column');
      expect(listed(root)).toEqual([]);
    });

    it('a workbook of two worksheets', async () => {
      const bytes = importFixture('multiple-sheets.xlsx');
      expectSheetBeforeSharedStrings(bytes);
      const outcome = await harness().importFile(path('two-sheets.xlsx'), bytes);
      expect(outcome).toMatchObject({ outcome: 'rejected', reasons: ['xlsx-multiple-sheets'] });
      expect(listed(root)).toEqual([]);
    });

    it('a workbook the zip guard stops after its worksheet was spooled', async () => {
      const parts = workbookSources(
        () => repetitiveSheet(['firstName', 'lastName', 'dateOfBirth'], ['Zebulon', 'Bombadil', '1980-01-01'], 50),
        undefined,
        { content: () => sharedStringsPart(['Zenobia'], 4), declaredSize: 2048 },
      );
      // The worksheet first, then the shared strings whose header lies about their size.
      const sheet = parts.findIndex((p) => p.name === 'xl/worksheets/sheet1.xml');
      const strings = parts.findIndex((p) => p.name === 'xl/sharedStrings.xml');
      [parts[sheet], parts[strings]] = [parts[strings]!, parts[sheet]!];
      const bytes = await buildZip(parts);
      expectSheetBeforeSharedStrings(bytes);
      const outcome = await harness().importFile(path('guarded.xlsx'), bytes);
      expect(outcome).toMatchObject({ outcome: 'rejected', reasons: ['xlsx-uncompressed-too-large'] });
      expect(listed(root)).toEqual([]);
    });
  });

  it('a row worker terminated mid-file', async () => {
    const name = path('worker-dies.xlsx');
    await onWorker.drop(name, await workbook((n) => n, 100));
    let atStop: string[] = [];
    faults.atStop = () => (atStop = listed(root));
    faults.stopWorkerAfterBatches = 1;
    try {
      await expect(onWorker.run(name)).rejects.toThrow(/row ?worker ?failed/i);
    } finally {
      faults.atStop = undefined;
    }
    // The worksheet's copy was on disk, in the thread's own directory, when the thread was stopped.
    expect(atStop.some((p) => /^lintel-row-worker-[^/\\]+[/\\]tmp-/.test(p))).toBe(true);
    expect(listed(root)).toEqual([]);
  }, 60_000);

  it('reads below the row-worker threshold at the same time, each removing its own copy', async () => {
    const outcomes = await Promise.all([
      inThread.importFile(path('together-unlisted.xlsx'), await workbook(unlisted)),
      inThread.importFile(path('together-loaded.xlsx'), await workbook((n) => n, 5)),
      inThread.importFile(path('together-missing.xlsx'), await workbook(withoutDateOfBirth)),
    ]);
    expect(outcomes.map((o) => o.outcome)).toEqual(['rejected', 'loaded', 'rejected']);
    expect(listed(root)).toEqual([]);
  });
});
