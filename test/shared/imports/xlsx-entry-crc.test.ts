import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { crc32, deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ExtractRecord } from '../../../shared/imports/extract-records.js';
import { FileRejection } from '../../../shared/imports/reasons.js';
import { SnapshotWriter } from '../../../shared/imports/snapshot-writer.js';
import { useTempDirForThisThread, xlsxRecords } from '../../../shared/imports/xlsx-records.js';
import { DEFAULT_ZIP_LIMITS, readZipDirectory } from '../../../shared/imports/zip-directory.js';
import {
  createImportHarness,
  importFixture,
  reshapeRowsRead,
  storedRecords,
  type ImportHarness,
} from './import-harness.js';
import { buildZip, repetitiveSheet, sharedStringsPart, sourcesOf, workbookSources, sheetOf } from './zip-builder.js';

/**
 * A zip entry's inflated bytes checked against the CRC-32 the zip gives for them: through the
 * reader (zip directory, then xlsxRecords) for every entry of a workbook, and through an import
 * for a worksheet whose last bytes, and so its check, come after every row was loaded. The
 * corpus (import-corpus.test.ts) has damaged workbooks of both kinds, stored and deflated.
 */

const MDI = 'multiple-disadvantage-indicators';
const GOOD = importFixture('good.xlsx');

async function read(file: Buffer): Promise<{ records: ExtractRecord[]; error: unknown }> {
  const entries = await readZipDirectory(async (offset, length) => file.subarray(offset, offset + length), file.length);
  const records: ExtractRecord[] = [];
  try {
    for await (const batch of xlsxRecords(Readable.from([file]), {
      entries,
      zipLimits: DEFAULT_ZIP_LIMITS,
      worksheet: sheetOf(entries),
    }))
      records.push(...batch);
  } catch (error) {
    return { records, error };
  }
  return { records, error: undefined };
}

describe('a workbook entry whose bytes are not what the zip’s CRC-32 says', () => {
  beforeAll(() => {
    useTempDirForThisThread(mkdtempSync(join(tmpdir(), 'xlsx-entry-crc-')));
  });

  it('reads good.xlsx whole', async () => {
    const { records, error } = await read(GOOD);
    expect(error).toBeUndefined();
    expect(records).toHaveLength(21);
  });

  // Every entry: the parts exceljs reads, and those it skips (theme, document properties).
  it.each(
    sourcesOf(GOOD)
      .filter((s) => !s.name.endsWith('/'))
      .map((s) => s.name),
  )('refuses the workbook when the CRC of %s is wrong', async (name) => {
    const sources = sourcesOf(GOOD).map((s) =>
      s.name === name ? { ...s, declaredCrc: (crc32(Buffer.concat([...s.content()])) ^ 1) >>> 0 } : s,
    );
    const { error } = await read(await buildZip(sources));
    expect(error).toBeInstanceOf(FileRejection);
    expect((error as FileRejection).reason).toBe('xlsx-corrupted');
  });
});

describe('a workbook entry whose deflate stream ends early', () => {
  beforeAll(() => {
    useTempDirForThisThread(mkdtempSync(join(tmpdir(), 'xlsx-entry-cut-')));
  });

  // A copy broken off mid-entry and its zip written again around what was left: the headers
  // give the cut length, the CRC and size the whole entry's. No inflater error is relied on: the
  // bytes that came out are fewer than the directory says.
  it.each([
    ['xl/worksheets/sheet1.xml', false],
    ['xl/sharedStrings.xml', false],
    ['xl/worksheets/sheet1.xml', true],
  ])('refuses the workbook when %s is cut short (data descriptors: %s)', async (name, dataDescriptors) => {
    const whole = sourcesOf(GOOD).find((s) => s.name === name)!;
    const deflated = deflateRawSync(Buffer.concat([...whole.content()]), { level: 9 }).length;
    for (const fraction of [0.1, 0.5, 0.9]) {
      const kept = Math.floor(deflated * fraction);
      const sources = sourcesOf(GOOD).map((s) => (s.name === name ? { ...s, compressedKept: kept } : s));
      const { error } = await read(await buildZip(sources, { dataDescriptors }));
      expect(error, `${fraction} of it kept`).toBeInstanceOf(FileRejection);
      expect((error as FileRejection).reason, `${fraction} of it kept`).toBe('xlsx-corrupted');
    }
  });
});

describe('a damaged worksheet found out at its last bytes, after every row was loaded', () => {
  let h: ImportHarness;
  beforeAll(async () => {
    h = await createImportHarness();
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await h?.close();
  });

  /**
   * Rows handed to the load as they are read: the row worker posts them in batches of 128
   * (row-worker.ts), the last short one only when the records end, so a multiple of it.
   */
  const ROWS = 4096;
  const header = ['firstName', 'lastName', 'dateOfBirth'];
  const sheet = Buffer.concat([...repetitiveSheet(header, ['Ysolde', 'Quarrington', '1981-04-05'], ROWS)]);
  /**
   * The worksheet stored (method 0) and stored last, after the shared strings, so it is read as
   * it inflates; `bytes` its content, the headers giving the CRC-32 of `sheet`.
   */
  const workbook = (bytes: Buffer) =>
    buildZip(
      workbookSources(() => [bytes], undefined, { content: () => sharedStringsPart([]) }).map((s) =>
        s.name === 'xl/worksheets/sheet1.xml' ? { ...s, stored: true, declaredCrc: crc32(sheet) } : s,
      ),
    );

  it('rejects it with nothing loaded, though the load had every row', async () => {
    const good = await h.importFile(`la-housing/${MDI}/good-2025-03-01.xlsx`, await workbook(sheet));
    expect(good).toMatchObject({ outcome: 'loaded', loaded: ROWS });
    const before = await storedRecords(h.store, 'la-housing', MDI);

    // One letter of the last row's family name changed, as a copy damaged in storage holds it.
    const damaged = Buffer.from(sheet);
    damaged[damaged.lastIndexOf('Quarrington') + 1] = 'a'.charCodeAt(0);
    const file = await workbook(damaged);
    // The bytes after the last row (stored, the worksheet is in the file as it is) wait until the
    // load has been handed every row: only they end the entry, and so its check.
    const tail = file.indexOf('</sheetData>');
    expect(file.indexOf('</sheetData>', tail + 1)).toBe(-1);
    let handed = 0;
    let allHanded: () => void = () => undefined;
    const everyRow = new Promise<void>((resolve) => (allHanded = resolve));
    const addRecords = SnapshotWriter.prototype.addRecords;
    vi.spyOn(SnapshotWriter.prototype, 'addRecords').mockImplementation(function (this: SnapshotWriter, values) {
      const rows = addRecords.call(this, values);
      handed += rows;
      if (handed === ROWS) allHanded();
      return rows;
    });
    let handedAtTail: number | undefined;
    // The rows' read in one piece: the import sends the row worker the file in pieces of at least
    // 256 KiB (row-worker-client.ts), and would hold back a short one until the tail came.
    reshapeRowsRead(async function* heldAtTail(body) {
      const read: Buffer[] = [];
      let size = 0;
      for await (const chunk of body) {
        read.push(chunk as Buffer);
        size += (chunk as Buffer).length;
        if (handedAtTail !== undefined) continue;
        if (size < tail) continue;
        const all = Buffer.concat(read);
        read.length = 0;
        yield all.subarray(0, tail);
        // Should the load not be handed every row, the test fails on the count, not by timing out.
        await Promise.race([everyRow, new Promise((resolve) => setTimeout(resolve, 10_000))]);
        handedAtTail = handed;
        read.push(all.subarray(tail));
      }
      if (read.length > 0) yield Buffer.concat(read);
    });

    const blobName = `la-housing/${MDI}/damaged-2025-03-02.xlsx`;
    const logStart = h.logLines.length;
    const outcome = await h.importFile(blobName, file);
    vi.restoreAllMocks();

    expect(handedAtTail).toBe(ROWS);
    expect(outcome).toMatchObject({ outcome: 'rejected', reasons: ['xlsx-corrupted'] });
    expect(await h.report('rejected', blobName)).toMatchObject({
      outcome: 'rejected',
      counts: { loaded: 0 },
      fileErrors: [{ reason: 'xlsx-corrupted' }],
    });
    expect(await storedRecords(h.store, 'la-housing', MDI)).toEqual(before);
    const outputs = [JSON.stringify(await h.report('rejected', blobName)), ...h.logLines.slice(logStart)].join('\n');
    for (const value of ['Ysolde', 'Quarrington', 'Qaarrington', '1981-04-05']) expect(outputs).not.toContain(value);
  });
});
