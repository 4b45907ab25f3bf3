import { PassThrough, type Readable, type Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import {
  DEFAULT_READER_LIMITS,
  type ExtractRecord,
  type ExtractRecords,
  type ReaderLimits,
} from './extract-records.js';
import { FileRejection, type RowReason } from './reasons.js';
import { WORKSHEET_ENTRY, type ZipEntry, type ZipLimits } from './zip-directory.js';

/**
 * Records of a one-sheet XLSX, streamed with exceljs's WorkbookReader (the workbook is never
 * held whole: rows are read as the zip inflates).
 *
 * The directory was checked before this runs (zip-directory.ts). While inflating, every zip
 * entry's bytes are counted as they leave the inflater: an entry larger than its directory
 * says, or all of them together beyond the cap, or an entry the directory does not list, or a
 * second worksheet, stops the read at once (a zip bomb with lying headers). The counting hooks
 * the entry streams unzipper hands exceljs — public stream methods, not exceljs internals.
 *
 * Cells become text as a CSV would give them: dates (cells with a date format) as ISO dates,
 * booleans as TRUE/FALSE, numbers as written. Formula cells are refused (`formula-cell`): a
 * cached result is not the partner's data, and formulas must not travel on to Excel users.
 */

interface Guard {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  readonly limits: ZipLimits;
  total: number;
  sheets: number;
  violation: FileRejection | undefined;
  /** Entries being inflated: a stop must end them too, or whoever reads one waits forever. */
  readonly open: Set<EntryStream>;
}

type EntryStream = PassThrough & { path?: string };

/** Hooks an unzipper Parse stream so each entry it pushes is counted. */
function guardEntries(
  zip: Writable & { push?: (chunk: unknown) => boolean; destroy(err?: Error): unknown },
  guard: Guard,
  stop: (err: FileRejection) => void,
): void {
  const push = zip.push;
  if (typeof push !== 'function') return;
  zip.push = function guardedPush(this: unknown, chunk: unknown): boolean {
    if (chunk !== null && typeof chunk === 'object' && typeof (chunk as EntryStream).path === 'string') {
      countEntry(chunk as EntryStream, guard, stop);
    }
    return push.call(this, chunk);
  };
}

function countEntry(entry: EntryStream, guard: Guard, stop: (err: FileRejection) => void): void {
  const name = entry.path ?? '';
  const listed = guard.entries.get(name);
  if (WORKSHEET_ENTRY.test(name) && ++guard.sheets > 1) return stop(new FileRejection('xlsx-multiple-sheets'));
  if (listed === undefined) return stop(new FileRejection('xlsx-unreadable'));
  // Destroying an entry nobody reads must not become an uncaught error.
  entry.on('error', () => undefined);
  guard.open.add(entry);
  entry.once('end', () => guard.open.delete(entry));
  let count = 0;
  const write = entry.write.bind(entry) as (chunk: Buffer, ...rest: unknown[]) => boolean;
  entry.write = ((chunk: Buffer, ...rest: unknown[]): boolean => {
    if (guard.violation) return true;
    count += chunk.length;
    guard.total += chunk.length;
    if (count > listed.uncompressedSize || guard.total > guard.limits.maxUncompressedBytes) {
      stop(new FileRejection('xlsx-uncompressed-too-large'));
      return true;
    }
    return write(chunk, ...rest);
  }) as typeof entry.write;
}

const DAY_MS = 86_400_000;

type Cell = string | { readonly problem: RowReason };
const FORMULA: Cell = { problem: 'formula-cell' };
const CELL_ERROR: Cell = { problem: 'cell-error' };

function cellText(value: unknown): Cell {
  if (value === null || value === undefined) return '';
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      return Number.isFinite(value) ? String(value) : CELL_ERROR;
    case 'boolean':
      return value ? 'TRUE' : 'FALSE';
    default:
      break;
  }
  if (value instanceof Date) {
    const time = value.getTime();
    if (Number.isNaN(time)) return CELL_ERROR;
    // exceljs builds dates from day serials in UTC; round away sub-second float error first.
    return new Date(Math.round(time / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
  }
  const v = value as Record<string, unknown>;
  if ('formula' in v || 'sharedFormula' in v) return FORMULA;
  if ('error' in v) return CELL_ERROR;
  if (Array.isArray(v.richText))
    return (v.richText as { text?: unknown }[]).map((r) => (typeof r.text === 'string' ? r.text : '')).join('');
  if (typeof v.text === 'string') return v.text;
  return CELL_ERROR;
}

export interface XlsxOptions {
  readonly entries: readonly ZipEntry[];
  readonly zipLimits: ZipLimits;
  readonly limits?: ReaderLimits;
}

export async function* xlsxRecords(bytes: Readable, options: XlsxOptions): ExtractRecords {
  const limits = options.limits ?? DEFAULT_READER_LIMITS;
  const guard: Guard = {
    entries: new Map(options.entries.map((e) => [e.name, e])),
    limits: options.zipLimits,
    total: 0,
    sheets: 0,
    violation: undefined,
    open: new Set(),
  };
  const input = new PassThrough({ highWaterMark: 64 * 1024 });
  let zip: (Writable & { destroy(err?: Error): unknown }) | undefined;
  const stop = (err: FileRejection) => {
    if (guard.violation) return;
    guard.violation = err;
    bytes.unpipe(input);
    input.destroy();
    zip?.destroy(err);
    // Ended, not destroyed: exceljs may be spooling an entry to a temporary file and waits for
    // it to finish; it then asks the destroyed zip for the next entry and fails with `err`.
    for (const entry of guard.open) entry.end();
    guard.open.clear();
  };
  const pipe = input.pipe.bind(input);
  input.pipe = (<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T => {
    zip = destination as unknown as Writable & { destroy(err?: Error): unknown };
    guardEntries(zip, guard, stop);
    return pipe(destination, options);
  }) as typeof input.pipe;
  bytes.on('error', (err) => input.destroy(err));
  bytes.pipe(input);

  const reader = new ExcelJS.stream.xlsx.WorkbookReader(input, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    // Styles tell date cells from numbers; hyperlinks and everything else are not wanted.
    styles: 'cache',
    hyperlinks: 'ignore',
    entries: 'ignore',
  });
  try {
    let sheets = 0;
    for await (const worksheet of reader) {
      if (++sheets > 1) throw new FileRejection('xlsx-multiple-sheets');
      for await (const row of worksheet as AsyncIterable<ExcelJS.Row>) {
        if (guard.violation) throw guard.violation;
        yield [recordOf(row, limits)];
      }
    }
    if (guard.violation) throw guard.violation;
    if (sheets === 0) throw new FileRejection('xlsx-no-sheet');
  } catch (err) {
    if (guard.violation) throw guard.violation;
    if (err instanceof FileRejection) throw err;
    throw new FileRejection('xlsx-unreadable');
  } finally {
    bytes.unpipe(input);
    input.destroy();
    // Stop the download too when the read ends early (a rejection, or the caller gave up).
    bytes.destroy();
  }
}

function recordOf(row: ExcelJS.Row, limits: ReaderLimits): ExtractRecord {
  const values = row.values as unknown[];
  // exceljs's row values are 1-based: index 0 is always empty.
  const width = Math.max(0, values.length - 1);
  if (width > limits.maxCells) return { row: row.number, cells: [], problem: 'column-count' };
  const cells: string[] = new Array<string>(width);
  let problems: { index: number; reason: RowReason }[] | undefined;
  let chars = 0;
  for (let i = 0; i < width; i++) {
    const text = cellText(values[i + 1]);
    if (typeof text !== 'string') {
      (problems ??= []).push({ index: i, reason: text.problem });
      cells[i] = '';
      continue;
    }
    chars += text.length;
    if (text.length > limits.maxCellChars) {
      (problems ??= []).push({ index: i, reason: 'value-too-long' });
      cells[i] = '';
      continue;
    }
    cells[i] = text;
  }
  if (chars > limits.maxRecordChars) return { row: row.number, cells: [], problem: 'row-too-long' };
  return problems ? { row: row.number, cells, cellProblems: problems } : { row: row.number, cells };
}
