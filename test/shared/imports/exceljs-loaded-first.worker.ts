import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import { useTempDirForThisThread, xlsxRecords } from '../../../shared/imports/xlsx-records.js';
import { DEFAULT_ZIP_LIMITS } from '../../../shared/imports/zip-directory.js';

/**
 * A thread that loads exceljs before it is readied to read workbooks (xlsx-text-decoding.test.ts):
 * exceljs's readers then hold the parse-sax that decodes piece by piece. Posts what readying the
 * thread, and then reading a workbook, each came to: `done`, or the error's message.
 */
createRequire(import.meta.url)('exceljs');
const dir = mkdtempSync(join(tmpdir(), 'exceljs-loaded-first-'));
const outcome = async (run: () => unknown): Promise<string> => {
  try {
    await run();
    return 'done';
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
};
const readied = await outcome(() => useTempDirForThisThread(dir));
const read = await outcome(async () => {
  for await (const batch of xlsxRecords(Readable.from([Buffer.alloc(0)]), {
    entries: [],
    zipLimits: DEFAULT_ZIP_LIMITS,
    worksheet: 'xl/worksheets/sheet1.xml',
  }))
    void batch;
});
rmSync(dir, { recursive: true, force: true });
parentPort?.postMessage({ readied, read });
