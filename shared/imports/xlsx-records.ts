import { rm, truncate } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { crc32 } from 'node:zlib';
import type ExcelJS from 'exceljs';
import {
  DEFAULT_READER_LIMITS,
  type ExtractRecord,
  type ExtractRecords,
  type ReaderLimits,
} from './extract-records.js';
import { requireAsExcelJs } from './exceljs-modules.js';
import { CellReferenceFiller } from './cell-references.js';
import { BOOLEAN_VALUES, readOnlyCellTextFromExcelJs } from './exceljs-text-events.js';
import { decodeExcelJsXmlWhole } from './exceljs-xml-decoding.js';
import { PhoneticRunFilter } from './phonetic-runs.js';
import { FileRejection, type RowReason } from './reasons.js';
import { PrefixedSpreadsheetMlScan, WorksheetScan } from './worksheet-scan.js';
import { DocumentTypeScan } from './xml-literal-sections.js';
import {
  isExcelJsWorksheet,
  PARSED_PARTS,
  SHARED_STRINGS_ENTRY,
  worksheetAsExcelJsReadsIt,
  type CheckedWorkbook,
  type ZipEntry,
  type ZipLimits,
} from './zip-directory.js';

/**
 * Records of a one-sheet XLSX, streamed with exceljs's WorkbookReader (the workbook is never
 * held whole: rows are read as the zip inflates).
 *
 * The directory was checked before this runs (zip-directory.ts). While inflating, every zip
 * entry's bytes are counted as they leave the inflater: an entry larger than its directory
 * says, or all of them together beyond the cap, or an entry the directory does not list, or a
 * second worksheet, stops the read at once (a zip bomb with lying headers). The counting hooks
 * the entry streams unzipper hands exceljs — public stream methods, not exceljs internals.
 * The same hook keeps each entry's CRC-32 over its inflated bytes, chunk by chunk, and checks it
 * and the byte count against the directory's when the entry ends (unzipper checks neither): a
 * damaged copy whose entry is stored (method 0), which no inflater notices, or whose deflated
 * bytes still inflate, is refused whole (`xlsx-corrupted`) rather than loaded with another value
 * in some cell. Every entry is checked, not only the parts exceljs reads (the worksheet, shared
 * strings, workbook, its relationships, styles): all their bytes pass the hook anyway, the cost
 * is one pass of zlib's CRC over them, a damaged part exceljs skips says as much about the copy,
 * and no list has to follow what a later exceljs reads. An entry ends before exceljs sees its
 * end, so a worksheet read as it inflates has its rows yielded before the check, and the
 * rejection comes after them, before the records end: the caller writes them in a transaction
 * that commits only once they have ended without an error (import-extract.ts, loadSnapshot), so
 * rows already written are undone with the rest.
 *
 * Only what the content causes is a rejection (`xlsx-unreadable`, or the guard's reason): an error
 * of the byte stream itself (the download broke off) or of the file system (a temporary copy)
 * is thrown as it is, so the attempt fails and is retried, and the bytes are not remembered as
 * rejected.
 *
 * Cells become text as a CSV would give them: dates (cells with a date format) as ISO dates,
 * times (a format that shows a time and no day) as ISO times (dateText), booleans as TRUE/FALSE, numbers as written to the 15 digits Excel shows — but where the format changes what Excel shows,
 * as it shows it (a percentage, a boolean, leading zeros: see numberText). Formula cells are refused (`formula-cell`): a
 * cached result is not the partner's data, and formulas must not travel on to Excel users; but a
 * row whose cells are empty or formulas showing nothing is the blank row it looks like (recordOf).
 * Each XML part's bytes are decoded as one stream of UTF-8, and a part that is not UTF-8 refused
 * (`invalid-utf8`), not read with U+FFFD in its cells (exceljs-xml-decoding.ts). Text is decoded
 * once, by the XML parser: exceljs's second decoding of inline and formula strings is turned off
 * ({@link decodeExcelJsTextOnce}).
 * What exceljs would read as other data than the workbook holds refuses the whole file: date
 * cells and inline rich text, seen in the worksheet's bytes as they inflate (worksheet-scan.ts;
 * a date cell written otherwise, `t = "d"`, as the parser reads it: exceljs-text-events.ts),
 * and a row number not above the one before it (`xlsx-row-order`), which no writer produces and
 * whose rows could not both be stored.
 *
 * A worksheet that comes before xl/sharedStrings.xml (the order Excel and exceljs write) cannot
 * be read until the strings are known, so exceljs copies it to a temporary file (the `tmp`
 * package) and removes the copy only if the read runs to its end. The copy holds the raw cells,
 * identifiers the agreements allow for matching only among them. So each read notes the copies
 * made of its worksheets ({@link watchExcelJsTempFiles}) and removes them when it ends, however
 * it ends; and the read runs only on a row worker, which puts its copies in a private directory
 * that its parent removes once the thread is gone, and that a later process sweeps should this
 * one be killed mid-read ({@link useTempDirForThisThread}, row-worker-client.ts). A read on a
 * thread without such a directory is refused: a copy in the system's temporary directory would
 * outlive a killed process, raw cells and all.
 */

/** A temporary file `tmp` made: its path, and tmp's own remover (closes tmp's descriptor, unlinks). */
interface TempFile {
  readonly path: string;
  readonly remove: () => void;
}

type TmpFileCallback = (err: Error | null, path?: string, fd?: number, remove?: () => void) => void;

/** The file `tmp` is handing its caller: set only while tmp's callback runs (synchronously). */
let handing: TempFile | undefined;
/** Where this thread's exceljs temporary files go: set by {@link useTempDirForThisThread}. */
let threadTempDir: string | undefined;
let watching = false;

/**
 * Wraps `file` of exceljs's own `tmp` (the instance its workbook reader requires) so that, while
 * the callback that receives a new temporary file runs, the file is known as {@link handing}.
 * exceljs's callback pipes the worksheet's zip entry into the file there and then, which the
 * entry's guard sees ({@link noteCopies}): each copy is tied to the read it belongs to, however
 * many reads run at once. The file is made in the thread's own directory ({@link threadTempDir});
 * nothing process-wide (TMPDIR, os.tmpdir()) changes. Installed by
 * {@link useTempDirForThisThread}, once per thread (each has its own modules).
 */
function watchExcelJsTempFiles(): void {
  if (watching) return;
  const tmp = requireAsExcelJs('lib/stream/xlsx/workbook-reader.js', 'tmp') as {
    file?: (...args: unknown[]) => unknown;
  };
  const original = tmp.file;
  // Fail closed: an exceljs whose temporary files cannot be followed must be looked at first.
  if (typeof original !== 'function') throw new Error('exceljs temporary files cannot be followed');
  tmp.file = function file(this: unknown, ...args: unknown[]): unknown {
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback !== 'function') return original.apply(this, args);
    const options = last > 0 && typeof args[0] === 'object' && args[0] !== null ? args[0] : {};
    // The descriptor is closed at once: exceljs never uses it, and a terminated thread leaks it.
    args = [{ ...options, tmpdir: threadTempDir, discardDescriptor: true }, callback];
    args[args.length - 1] = function handOver(this: unknown, ...result: Parameters<TmpFileCallback>): unknown {
      const [err, path, , remove] = result;
      if (err || typeof path !== 'string' || typeof remove !== 'function')
        return (callback as (...a: unknown[]) => unknown).apply(this, result);
      const outer = handing;
      handing = { path, remove };
      try {
        return (callback as (...a: unknown[]) => unknown).apply(this, result);
      } finally {
        handing = outer;
      }
    };
    return original.apply(this, args);
  };
  watching = true;
}

let decodingOnce = false;

/**
 * Makes exceljs decode a cell's text once. saxes, its XML parser, already decodes the entities
 * of text and attributes; exceljs then runs its own `utils.xmlDecode` over the text of inline
 * strings (`t="inlineStr"`) and formula strings (`t="str"`) again (lib/stream/xlsx/
 * worksheet-reader.js, 4.4.0), so the text `AT&amp;T` (XML `AT&amp;amp;T`) loaded as `AT&T` and
 * `&lt;` as `<`. Shared strings are decoded by saxes alone. Every caller of xmlDecode in exceljs
 * hands it text saxes has decoded (the cells, and the sheet names of workbook.xml), so it does
 * nothing now. Installed on the module instance exceljs's readers require, by
 * {@link useTempDirForThisThread}, once per thread (each has its own modules): no read runs
 * without it.
 */
function decodeExcelJsTextOnce(): void {
  if (decodingOnce) return;
  const utils = requireAsExcelJs('lib/stream/xlsx/worksheet-reader.js', '../../utils/utils') as {
    xmlDecode?: unknown;
  };
  // Fail closed: an exceljs without it has changed how it decodes, and must be looked at first.
  if (typeof utils.xmlDecode !== 'function') throw new Error('exceljs text decoding cannot be followed');
  utils.xmlDecode = (text: string): string => text;
  decodingOnce = true;
}

let readingDate1904 = false;

/** An xsd:boolean's true (ECMA-376's ST_OnOff is wider, but date1904 is an xsd:boolean). */
const XSD_TRUE = /^\s*(?:1|true)\s*$/;

/**
 * Makes exceljs read a workbook's date system as written in any form xsd:boolean allows.
 * `<workbookPr date1904>` is an xsd:boolean: Excel writes `1`, LibreOffice `true` (and
 * `false` for the 1900 system). exceljs compares it with `'1'` alone (lib/xlsx/xform/book/
 * workbook-properties-xform.js, 4.4.0), so a 1904 workbook saved by LibreOffice — one begun in
 * Excel for Mac, whose day serials count from 1904-01-01 — had every date cell read in the
 * 1900 system: 4 years and a day early (found by a review). Installed on the module instance
 * exceljs's workbook reader requires, by {@link useTempDirForThisThread}, once per thread.
 */
function readDate1904AsXsdBoolean(): void {
  if (readingDate1904) return;
  const xform = requireAsExcelJs('lib/xlsx/xform/book/workbook-xform.js', './workbook-properties-xform') as
    { prototype?: { parseOpen?: unknown } } | undefined;
  const parseOpen = xform?.prototype?.parseOpen;
  // Fail closed: an exceljs that reads workbookPr otherwise must be looked at first.
  if (xform?.prototype === undefined || typeof parseOpen !== 'function')
    throw new Error('exceljs workbook properties cannot be followed');
  type Node = { name?: unknown; attributes?: Record<string, unknown> };
  xform.prototype.parseOpen = function parseWorkbookPr(this: { model?: { date1904?: boolean } }, node: Node) {
    const opened = (parseOpen as (this: unknown, node: Node) => unknown).call(this, node);
    if (node.name === 'workbookPr' && this.model !== undefined) {
      const date1904 = node.attributes?.date1904;
      this.model.date1904 = typeof date1904 === 'string' && XSD_TRUE.test(date1904);
    }
    return opened;
  };
  readingDate1904 = true;
}

let readingFormatsAsWritten = false;

/**
 * Makes exceljs keep each custom number format's code as the workbook writes it. Its styles
 * reader takes every backslash out of the code (`formatCode.replace(/[\\](.)/g, '$1')`,
 * lib/xlsx/xform/style/numfmt-xform.js, 4.4.0), and a backslash is what makes the next
 * character a literal: `0.0\%` shows 7.5 as 7.5% (a column already in percent, marked so)
 * where `0.0%` shows 750%. The format read as `0.0%`, and 7.5 loaded as 750 (found by a
 * review). The tests of a format here ({@link isPercentFormat}, {@link timeFormat}) read the
 * escapes themselves. Installed on the module instance exceljs's styles reader requires, by
 * {@link useTempDirForThisThread}, once per thread.
 */
function readNumberFormatsAsWritten(): void {
  if (readingFormatsAsWritten) return;
  const xform = requireAsExcelJs('lib/xlsx/xform/style/styles-xform.js', './numfmt-xform') as
    { prototype?: { parseOpen?: unknown } } | undefined;
  const parseOpen = xform?.prototype?.parseOpen;
  // Fail closed: an exceljs that reads number formats otherwise must be looked at first.
  if (xform?.prototype === undefined || typeof parseOpen !== 'function')
    throw new Error('exceljs number formats cannot be followed');
  type Node = { name?: unknown; attributes?: Record<string, unknown> };
  xform.prototype.parseOpen = function parseNumFmt(this: { model?: { formatCode?: unknown } }, node: Node) {
    const opened = (parseOpen as (this: unknown, node: Node) => unknown).call(this, node);
    const written = node.attributes?.formatCode;
    if (node.name === 'numFmt' && this.model !== undefined && typeof written === 'string')
      this.model.formatCode = written;
    return opened;
  };
  readingFormatsAsWritten = true;
}

let decidingDatesByCodes = false;

/**
 * Makes exceljs take a number cell for a date by the codes of its format alone
 * ({@link isDateFormat}), not by letters the format shows as they are. exceljs takes a format with
 * one of `ymdhMsb` outside quotes and brackets for a date (lib/utils/utils.js, isDateFmt, 4.4.0),
 * and makes the cell's number a Date: so 1.5 formatted `0.0\ \h\r\s`, which Excel shows as
 * "1.5 hrs", loaded as the time 12:00:00, 12 formatted `#,##0\ \d\a\y\s` as the day
 * 1900-01-12, and 1.5 formatted `0.0_h` (a space the width of an h after it) as a time too
 * (found by a review). Installed on the module instance exceljs's worksheet reader requires, the
 * one whose `isDateFmt` it calls for each number cell, by {@link useTempDirForThisThread}, once
 * per thread.
 */
function decideDatesByFormatCodes(): void {
  if (decidingDatesByCodes) return;
  const utils = requireAsExcelJs('lib/stream/xlsx/worksheet-reader.js', '../../utils/utils') as {
    isDateFmt?: unknown;
  };
  // Fail closed: an exceljs without it decides dates otherwise, and must be looked at first.
  if (typeof utils.isDateFmt !== 'function') throw new Error('exceljs date formats cannot be followed');
  utils.isDateFmt = isDateFormat;
  decidingDatesByCodes = true;
}

let keepingDateSerials = false;

/** The day serial each date cell's Date was made from ({@link keepDateSerials}). */
const DATE_SERIALS = new WeakMap<Date, number>();

/**
 * Makes exceljs note the serial each date cell's Date is made from, in {@link DATE_SERIALS}.
 * exceljs makes a number cell a Date when any section of its format has a date code
 * ({@link decideDatesByFormatCodes}), and a Date keeps the serial to the millisecond alone: a
 * number Excel shows by a section with no date code ({@link dateText}) is read from the serial
 * as it was written. Installed on the module instance exceljs's worksheet reader requires, the
 * one whose `excelToDate` it calls for each such cell, by {@link useTempDirForThisThread}, once
 * per thread.
 */
function keepDateSerials(): void {
  if (keepingDateSerials) return;
  const utils = requireAsExcelJs('lib/stream/xlsx/worksheet-reader.js', '../../utils/utils') as {
    excelToDate?: unknown;
  };
  const excelToDate = utils.excelToDate;
  // Fail closed: an exceljs without it makes dates otherwise, and must be looked at first.
  if (typeof excelToDate !== 'function') throw new Error('exceljs date cells cannot be followed');
  utils.excelToDate = function excelToDateKeepingSerial(this: unknown, serial: unknown, ...rest: unknown[]): unknown {
    const date = (excelToDate as (this: unknown, ...args: unknown[]) => unknown).call(this, serial, ...rest);
    if (date instanceof Date && typeof serial === 'number') DATE_SERIALS.set(date, serial);
    return date;
  };
  keepingDateSerials = true;
}

/**
 * Puts every temporary file exceljs makes in this thread in `dir` (a private directory its
 * owner removes), and makes exceljs decode each XML part as one stream of UTF-8, refusing one
 * that is not (exceljs-xml-decoding.ts: first, before anything here loads exceljs), decode text
 * once ({@link decodeExcelJsTextOnce}), read the 1904 date system however it is spelt
 * ({@link readDate1904AsXsdBoolean}), keep number formats as written
 * ({@link readNumberFormatsAsWritten}), take a number for a date by its format's codes alone
 * ({@link decideDatesByFormatCodes}), keep the serial of each date ({@link keepDateSerials}) and take a cell's text from its text elements alone, not
 * the layout between them (exceljs-text-events.ts). Only for a thread that runs nothing else, the
 * row worker; {@link xlsxRecords} refuses to read on a thread that has not been given one.
 */
export function useTempDirForThisThread(dir: string): void {
  decodeExcelJsXmlWhole();
  threadTempDir = dir;
  watchExcelJsTempFiles();
  decodeExcelJsTextOnce();
  readDate1904AsXsdBoolean();
  readNumberFormatsAsWritten();
  decideDatesByFormatCodes();
  keepDateSerials();
  readOnlyCellTextFromExcelJs();
}

/** Removes the copies of a read's worksheets: emptied first, then unlinked, with tmp's descriptor closed. */
async function removeCopies(copies: readonly TempFile[]): Promise<void> {
  for (const copy of copies) {
    await truncate(copy.path, 0).catch(() => undefined);
    copy.remove();
    await rm(copy.path, { force: true }).catch(() => undefined);
  }
}

interface Guard {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  readonly worksheet: string;
  /** What exceljs reads each renamed part as ({@link partsShownToExcelJs}): it is scanned as that. */
  readonly shownAs: ReadonlyMap<string, string>;
  readonly limits: ZipLimits;
  total: number;
  sheets: number;
  violation: FileRejection | undefined;
  /** Entries being inflated: a stop must end them too, or whoever reads one waits forever. */
  readonly open: Set<EntryStream>;
  /** Temporary copies exceljs made of this read's worksheets; removed when the read ends. */
  readonly copies: TempFile[];
}

type EntryStream = PassThrough & { path?: string };

/**
 * Keeps exceljs reading the zip's entries until the last. unzipper's Parse announces `end` by
 * hand when its writable side finishes (node_modules/unzipper/lib/parse.js, 0.10.x: `on('finish',
 * () => emit('end'))`), which is as soon as it has read the end of the central directory and the
 * input has ended — while entries it has pushed may still wait in its readable buffer. exceljs
 * pauses the zip while it handles an entry (lib/utils/iterate-stream.js) and takes any `end` as
 * the last word: entries still buffered then are never read. That happens whenever exceljs is
 * slower than the inflating: above all while it copies a worksheet stored before the shared
 * strings to a temporary file (Excel's order), so what came after the worksheet (the shared
 * strings, the styles) was dropped, the shared strings' cells read as `{ sharedString: n }` and
 * dates as day counts, depending on timing and on how little is stored after the worksheet.
 * Only the `end` Node emits itself, once the readable side has been pushed its end and emptied
 * (`readableEnded` is then true), is passed on; unzipper's early one is dropped. A zip that ends
 * without its directory still fails: unzipper then errors (FILE_ENDED), and exceljs hears errors.
 */
function endOnlyWhenRead(zip: Writable & { readonly readableEnded?: boolean }): void {
  const emit = zip.emit;
  zip.emit = function emitWhenRead(this: unknown, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'end' && zip.readableEnded !== true) return false;
    return emit.call(this, event, ...args);
  } as typeof zip.emit;
}

/**
 * Hands exceljs each part under the name it reads it by ({@link partsShownToExcelJs}): exceljs
 * tells parts by name alone, and skipped one the workbook's relationships name otherwise
 * (xl/worksheets/Data.xml, a workbook at xl/workbook2.xml), which was refused for want of a sheet.
 * The entry's bytes are untouched: it is renamed only as pushed to exceljs. Should a later
 * unzipper push entries otherwise, the part keeps its name and the read finds no sheet
 * (`xlsx-no-sheet`), as before.
 */
function showPartsToExcelJs(zip: ZipParser, shownAs: ReadonlyMap<string, string>): void {
  const push = zip.push;
  if (shownAs.size === 0 || typeof push !== 'function') return;
  zip.push = function renamedPush(this: unknown, chunk: unknown): boolean {
    if (chunk !== null && typeof chunk === 'object') {
      const alias = shownAs.get((chunk as EntryStream).path ?? '');
      if (alias !== undefined) (chunk as EntryStream).path = alias;
    }
    return push.call(this, chunk);
  };
}

/**
 * The name exceljs is shown each part by where it is not the part's own: the worksheet ({@link
 * worksheetAsExcelJsReadsIt}), the workbook, its relationships, shared strings and styles where
 * they are stored under other names, and any part holding one of those names that the workbook
 * does not name, under a name exceljs skips (zip-directory.ts, findWorksheet).
 */
function partsShownToExcelJs(workbook: CheckedWorkbook): Map<string, string> {
  const shownAs = new Map(workbook.renamed ?? []);
  const alias = worksheetAsExcelJsReadsIt(workbook.worksheet);
  if (alias !== workbook.worksheet) shownAs.set(workbook.worksheet, alias);
  return shownAs;
}

/** The signature of a data descriptor, `PK\x07\x08`, read as a little-endian number. */
const DESCRIPTOR = 0x08074b50;
/** General purpose bit 3: the entry's CRC and sizes are in a data descriptor after its data. */
const SIZES_IN_DESCRIPTOR = 0x08;
/** The ID of the ZIP64 extended information extra field. */
const ZIP64_EXTRA = 0x0001;

interface ZipParser {
  push?: (chunk: unknown) => boolean;
  stream?: (eof: number | Buffer, includeEof?: boolean) => unknown;
  pull?: (length: number) => PromiseLike<Buffer>;
  _readRecord?: () => PromiseLike<unknown>;
  _processDataDescriptor?: (entry: unknown) => PromiseLike<unknown>;
}

/** An entry as unzipper 0.10 pushes it: its local header's fields, and its ZIP64 extra field if any. */
type ParsedEntry = EntryStream & { vars?: { flags?: unknown }; extra?: { signature?: unknown } };

/** An entry with a data descriptor, and what the central directory says of it. */
interface Described {
  readonly listed: ZipEntry;
  /** Its local header has a ZIP64 extra field, so its descriptor's sizes are 8 bytes each (APPNOTE 4.3.9.2). */
  readonly zip64: boolean;
}

/**
 * Reads each entry that has a data descriptor (general purpose bit 3, as Apache POI and other
 * streaming writers write them) by what the central directory says of it: its bytes end after
 * the compressed size the directory gives, and the descriptor after them is read in whichever
 * form APPNOTE allows (4.3.9), told apart by its bytes and checked against the directory.
 *
 * unzipper 0.10's Parse (lib/parse.js, `_readFile`, `_processDataDescriptor`) gets these wrong
 * four ways, each a good workbook refused as unreadable:
 * - With no sizes in the local header, it streams the entry's bytes until it meets the
 *   descriptor's signature, `PK\x07\x08`, which compressed bytes hold by chance (an 84 MB
 *   workbook's worksheet about once in fifty): the entry was cut short there. Its stream is asked
 *   for the entry's bytes (`stream(eof)`, PullStream.js) at once after the entry is pushed; given
 *   the directory's size as `eof` instead, it streams that many bytes, still chunk by chunk.
 * - With the real sizes in the local header as well (bit 3 set all the same), it reads the
 *   entry by them and then takes the descriptor for the next record (`invalid signature:
 *   0x8074b50`). Such an entry is bounded by the directory's size too, and its descriptor read.
 * - It reads every descriptor as 16 bytes: a ZIP64 one (8-byte sizes: 24 bytes, or 20 without
 *   its signature) left 8 bytes taken for the next record's signature. Sizes that match the
 *   directory's as 4-byte ones are 4-byte ones, else they are read as 8-byte ones; an empty
 *   entry's match both ways, and is ZIP64 when its local header has a ZIP64 extra field.
 * - It reads every descriptor with its signature, which is optional: without it (12 bytes, or
 *   20), four bytes of the next header went with it. A descriptor that starts with the
 *   signature and then the entry's CRC (the directory gives it) has its signature; one that
 *   starts with the CRC has none (a CRC equal to the signature's value is told apart by the
 *   next four bytes).
 * A descriptor whose CRC or sizes are not the directory's in any of these forms is a zip whose
 * entries cannot be told apart: it fails as any malformed zip does, and the workbook is refused
 * as unreadable; so does a directory that lies about a compressed size, which leaves the
 * inflater or the descriptor wrong. Nothing is held but the descriptor's few bytes: the entry's
 * bytes stream as before. An entry the directory does not list has already stopped the
 * read ({@link countEntry}) and is left to unzipper. Should a later unzipper have no such
 * methods, it is left alone: the descriptor tests (spreadsheet-cells.test.ts) say whether it
 * reads these entries itself.
 */
function readEntriesByDirectory(zip: ZipParser, entries: ReadonlyMap<string, ZipEntry>): void {
  const { push, stream, pull, _readRecord: next, _processDataDescriptor: processDescriptor } = zip;
  if (
    typeof push !== 'function' ||
    typeof stream !== 'function' ||
    typeof pull !== 'function' ||
    typeof next !== 'function' ||
    typeof processDescriptor !== 'function'
  )
    return;
  /** The entry with a descriptor pushed last, until its bytes are asked for. */
  let pushed: Described | undefined;
  /** The entry whose bytes are being read: its descriptor is what comes after them. */
  let reading: Described | undefined;
  zip.push = function notedPush(this: unknown, chunk: unknown): boolean {
    if (chunk !== null && typeof chunk === 'object' && typeof (chunk as ParsedEntry).path === 'string') {
      const entry = chunk as ParsedEntry;
      const listed = entries.get(entry.path ?? '');
      const flags = entry.vars?.flags;
      pushed =
        listed !== undefined && typeof flags === 'number' && (flags & SIZES_IN_DESCRIPTOR) !== 0
          ? {
              listed,
              zip64: entry.extra?.signature === ZIP64_EXTRA,
            }
          : undefined;
    }
    return push.call(this, chunk);
  };
  zip.stream = function boundedStream(this: unknown, eof: number | Buffer, includeEof?: boolean): unknown {
    const entry = pushed;
    pushed = undefined;
    if (entry === undefined) return stream.call(this, eof, includeEof);
    reading = entry;
    return stream.call(this, entry.listed.compressedSize, includeEof);
  };
  // After an entry's bytes unzipper reads its descriptor (no sizes in the local header) or the
  // next record (sizes there): either way, the descriptor is read first, here.
  zip._processDataDescriptor = function processDescriptorFirst(this: ZipParser, entry: unknown) {
    if (reading === undefined) return processDescriptor.call(this, entry);
    return (this._readRecord ?? next).call(this);
  };
  zip._readRecord = function readDescriptorFirst(this: ZipParser) {
    const entry = reading;
    reading = undefined;
    if (entry === undefined) return next.call(this);
    return readDescriptor((length) => pull.call(this, length), entry).then(() => next.call(this));
  };
}

/** Reads the data descriptor of `entry` (see {@link readEntriesByDirectory}), and only it. */
async function readDescriptor(pull: (length: number) => PromiseLike<Buffer>, entry: Described): Promise<void> {
  const { listed, zip64 } = entry;
  const mismatch = () => new Error('A data descriptor does not match the central directory');
  // The shortest descriptor is 12 bytes: these 8 are its own whatever its form.
  const head = await pull(8);
  /** The 8 bytes after the CRC: both sizes, or the first of two 8-byte ones. */
  let sizes: Buffer;
  if (head.readUInt32LE(0) === DESCRIPTOR && head.readUInt32LE(4) === listed.crc) sizes = await pull(8);
  else if (head.readUInt32LE(0) === listed.crc) sizes = Buffer.concat([head.subarray(4), await pull(4)]);
  else throw mismatch();
  // Read as 4-byte sizes, an 8-byte compressed size can match only when the entry is empty
  // (its high half, zero, read as the uncompressed size): only then does the ZIP64 extra decide.
  const narrow = sizes.readUInt32LE(0) === listed.compressedSize && sizes.readUInt32LE(4) === listed.uncompressedSize;
  if (narrow && !(zip64 && listed.uncompressedSize === 0)) return;
  sizes = Buffer.concat([sizes, await pull(8)]);
  if (
    Number(sizes.readBigUInt64LE(0)) !== listed.compressedSize ||
    Number(sizes.readBigUInt64LE(8)) !== listed.uncompressedSize
  )
    throw mismatch();
}

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
  // First: exceljs may copy even an entry that stops the read (a second worksheet).
  noteCopies(entry, guard);
  const name = entry.path ?? '';
  const listed = guard.entries.get(name);
  const sheet = name === guard.worksheet || isExcelJsWorksheet(name);
  if (sheet && ++guard.sheets > 1) return stop(new FileRejection('xlsx-multiple-sheets'));
  if (listed === undefined) return stop(new FileRejection('xlsx-unreadable'));
  // Destroying an entry nobody reads must not become an uncaught error.
  entry.on('error', () => undefined);
  guard.open.add(entry);
  entry.once('end', () => guard.open.delete(entry));
  let count = 0;
  let crc = 0;
  // Checked before the entry's end reaches exceljs: the read stops before anything after it.
  const end = entry.end.bind(entry) as (...args: unknown[]) => EntryStream;
  entry.end = ((...args: unknown[]): EntryStream => {
    if (guard.violation === undefined && (count !== listed.uncompressedSize || crc !== listed.crc)) {
      guard.open.delete(entry);
      stop(new FileRejection('xlsx-corrupted'));
    }
    return end(...args);
  }) as typeof entry.end;
  // Every byte of the worksheet passes here first, before exceljs parses it or copies it.
  const scan = sheet ? new WorksheetScan() : undefined;
  const shown = guard.shownAs.get(name) ?? name;
  const prefixes =
    scan !== undefined || shown === SHARED_STRINGS_ENTRY || PARSED_PARTS.has(shown)
      ? new PrefixedSpreadsheetMlScan()
      : undefined;
  const doctype = prefixes === undefined ? undefined : new DocumentTypeScan();
  const references = scan === undefined ? undefined : new CellReferenceFiller();
  const phonetic = shown === SHARED_STRINGS_ENTRY ? new PhoneticRunFilter() : undefined;
  const write = entry.write.bind(entry) as (chunk: Buffer, ...rest: unknown[]) => boolean;
  entry.write = ((chunk: Buffer, ...rest: unknown[]): boolean => {
    if (guard.violation) return true;
    count += chunk.length;
    guard.total += chunk.length;
    crc = crc32(chunk, crc);
    if (count > listed.uncompressedSize || guard.total > guard.limits.maxUncompressedBytes) {
      stop(new FileRejection('xlsx-uncompressed-too-large'));
      return true;
    }
    // First: the other scans would read what a DOCTYPE declares as markup.
    if (doctype?.push(chunk) === true) {
      stop(new FileRejection('xlsx-doctype'));
      return true;
    }
    if (prefixes?.push(chunk) === true) {
      stop(new FileRejection('xlsx-prefixed-xml'));
      return true;
    }
    const misread = scan?.push(chunk);
    if (misread !== undefined) {
      stop(new FileRejection(misread));
      return true;
    }
    return write(references?.push(chunk) ?? phonetic?.push(chunk) ?? chunk, ...rest);
  }) as typeof entry.write;
}

/** Notes the temporary file exceljs copies `entry` to, if it does (see {@link watchExcelJsTempFiles}). */
function noteCopies(entry: EntryStream, guard: Guard): void {
  const pipe = entry.pipe;
  entry.pipe = function notedPipe(this: unknown, destination: NodeJS.WritableStream, options?: { end?: boolean }) {
    const file = handing;
    if (file !== undefined && (destination as { path?: unknown }).path === file.path) guard.copies.push(file);
    return pipe.call(this, destination, options);
  } as typeof entry.pipe;
}

type Cell = string | { readonly problem: RowReason };
const FORMULA: Cell = { problem: 'formula-cell' };
const CELL_ERROR: Cell = { problem: 'cell-error' };

function cellText(value: unknown): Cell {
  if (value === null || value === undefined) return '';
  switch (typeof value) {
    case 'string':
      return unescapeXstring(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : CELL_ERROR;
    case 'boolean':
      return value ? 'TRUE' : 'FALSE';
    default:
      break;
  }
  const v = value as Record<string, unknown>;
  if ('formula' in v || 'sharedFormula' in v) return FORMULA;
  if ('error' in v) return booleanCell(v.error) ?? CELL_ERROR;
  if (Array.isArray(v.richText))
    return unescapeXstring(
      (v.richText as { text?: unknown }[]).map((r) => (typeof r.text === 'string' ? r.text : '')).join(''),
    );
  if (typeof v.text === 'string') return unescapeXstring(v.text);
  return CELL_ERROR;
}

/**
 * Whether a formula cell shows nothing, as a template's `=IF(Sheet2!B4="","",Sheet2!B4)` copied
 * down below the data does: refused as any formula is, but a row of nothing else is a blank row
 * ({@link recordOf}). So it is when its cached result, as exceljs read it, is none, or text of
 * white space alone (an untyped formula's empty `<v/>` is read as an empty text:
 * exceljs-text-events.ts). The cell's value leaves out a result that is falsy (`''`, 0, NaN:
 * lib/doc/cell.js, FormulaValue's `_copyModel`, 4.4.0), so a formula showing 0 would look like
 * one showing nothing: the cell's own `result` is read instead. A shared formula's other cells
 * (`<f t="shared" si="0"/>`, no text) are no formula to exceljs, and their value is the object
 * it read, result and all.
 */
function showsNothing(value: unknown, cell: ExcelJS.Cell): boolean {
  const v = value as Record<string, unknown>;
  const result: unknown = 'result' in v ? v.result : cell.result;
  return result === undefined || (typeof result === 'string' && unescapeXstring(result).trim() === '');
}

const CELL_UNREADABLE: Cell = { problem: 'cell-unreadable' };

/** A boolean cell as exceljs-text-events.ts hands it on (`t="b"`, read there): TRUE/FALSE, or a bad cell. */
function booleanCell(value: unknown): Cell | undefined {
  if (value === BOOLEAN_VALUES.true) return 'TRUE';
  if (value === BOOLEAN_VALUES.false) return 'FALSE';
  if (value === BOOLEAN_VALUES.unreadable) return CELL_UNREADABLE;
  return undefined;
}

/**
 * A number cell with a date or time format, which exceljs made a Date of (from its day serial, in
 * UTC, in the workbook's date system), as Excel shows it: a format that shows a day (a date, or a
 * date and time) as that day, an ISO date; one that shows a time alone ({@link timeFormat}) as
 * that time, an ISO 8601 time to the second ({@link timeText}). By the section of the format
 * Excel shows the number by ({@link shownBySection}): one with no date code shows a number, the
 * serial as written ({@link numberText}). exceljs made a Date of any format with a date code in
 * some section, read by its first: 1.5 formatted `General;;hh:mm` (a time for zero alone), which
 * Excel shows as 1.5, loaded as the day 1900-01-01, and 12 formatted `0;-0;[h]:mm` as 1900-01-12
 * (found by a review). A section of words alone ({@link sectionWords}) shows its words:
 * `d/m/yy;;"none"` shows 0 as none, `dd/mm/yyyy;"before 1900"` -5 as before 1900. They loaded
 * 0 and -5, the number read by the whole format, whose other sections are dates and no words
 * (found by a review). Unlike a number format's words beside numbers (`#,##0;(#,##0);"-"`,
 * read as the number: {@link wordsShown}), these stand beside dates, and the number they stand
 * for, no date at all, is no datum of the column; the words are what the partner means by it.
 */
function dateText(value: Date, format: string | undefined, date1904: boolean): Cell {
  const time = value.getTime();
  // A serial too large for any Date (1e300) is past Excel's last day too (below).
  if (Number.isNaN(time)) return CELL_UNREADABLE;
  const serial = DATE_SERIALS.get(value);
  const section = format !== undefined && serial !== undefined ? shownBySection(serial, format) : format;
  if (serial !== undefined && section !== undefined && !isDateFormat(section))
    return sectionWords(section) ?? numberText(serial, format);
  const clock = timeFormat(section);
  if (clock !== undefined) return timeText(time, clock, date1904);
  // exceljs builds dates from day serials in UTC: round away sub-second float error, then take
  // the calendar day (a date-time of 18:00 is still that day, not the next).
  const day = new Date(Math.round(time / 1000) * 1000);
  // Excel counts a 29 February 1900 (serial 60), as Lotus 1-2-3 did; exceljs does not, so the
  // serials before it come out a day early, and serial 60 as 28 February (found by a review).
  // The 1904 date system has no such day: its dates before 1904 are none Excel shows (below).
  if (!date1904 && day.getTime() < EXCEL_PHANTOM_LEAP_DAY) day.setUTCDate(day.getUTCDate() + 1);
  else if (!date1904 && day.getTime() < EXCEL_PHANTOM_LEAP_DAY + DAY_MS) return CELL_ERROR;
  const first = date1904 ? EXCEL_FIRST_DAY_1904 : EXCEL_FIRST_DAY_1900;
  if (day.getTime() < first || day.getTime() >= EXCEL_PAST_LAST_DAY) return CELL_UNREADABLE;
  return day.toISOString().slice(0, 10);
}

/**
 * The parts of a number format that are not codes: quoted text (`"hrs"`), an escaped character
 * (`\h`), and the character after `_` (a space as wide as it) or `*` (it, repeated to fill the
 * cell), each shown or skipped as it is; and brackets (a colour `[Red]`, a condition `[>=100]`, a
 * locale `[$-809]`, elapsed time `[h]`), read in the same pass, so that a quote or a `_` in a
 * bracket is the bracket's. One pass from the left, as Excel reads a format: `"a\"` is quoted
 * text and `\"` an escaped quote. A quote or bracket left open runs to the end.
 */
const FORMAT_LITERAL_OR_BRACKET = /"[^"]*(?:"|$)|\\[\s\S]|[_*][\s\S]|\[[^\]]*(?:\]|$)/g;
const FORMAT_BRACKET = /\[[^\]]*(?:\]|$)/g;
/** An elapsed time's bracket, the one bracket that is a code: hours, minutes or seconds in all (`[h]`, `[mm]`, `[ss]`). */
const ELAPSED_BRACKET = /\[(?:h+|m+|s+)\]/i;

/** A number format's codes, its literals taken out and its brackets kept ({@link FORMAT_LITERAL_OR_BRACKET}). */
function formatCodes(format: string): string {
  return format.replace(FORMAT_LITERAL_OR_BRACKET, (part) => (part.startsWith('[') ? part : ''));
}

/**
 * Whether a number format shows a date or a time: one of the date letters (`y`, `m`, `d`, `h`,
 * `s`, `b`, in either case, as Excel reads them) among its codes, outside every bracket. Its
 * literals ({@link formatCodes}) are text Excel shows, not codes, as Excel reads them:
 * `0.0\ \h\r\s`, `0.0" hrs"`, `0.0_h` and `[Red]0.0` are numbers; `dd/mm/yyyy`, `d\-mmm\-yy`,
 * `[$-809]dd mmmm yyyy`, `yyyy-mm-dd;@`, `h:mm` and `[h]:mm:ss` dates and times. An elapsed
 * bracket (`[h]`, `[mm]`, `[ss]`: {@link ELAPSED_BRACKET}) is a code, the only one a bracket
 * holds: Excel shows 1.25 formatted `[h]` as 30, the hours in all, which as a number loaded as
 * 1.25. exceljs's isDateFmt, which this replaces ({@link decideDatesByFormatCodes}), knew
 * `ymdhMsb`, lower case but for the month: `DD/MM/YYYY` was a date by its `MM` alone, and `YYYY`,
 * `DD` or `HH` were numbers, 45000.75 where Excel shows 2023, 15 or 18, which no date column
 * takes. Upper case letters that are no codes stay so: those of `General` are none of these, the
 * `E` of scientific notation (`0.00E+00`) is not one, and letters in brackets, in quotes or after
 * a backslash are not codes. Nor is the B of `BOOLEAN`, LibreOffice's boolean format
 * ({@link BOOLEAN_KEYWORD}): read as a Buddhist year, 1 loaded as 1900-01-01 (found by a review).
 */
function isDateFormat(format: unknown): boolean {
  if (typeof format !== 'string' || format === '' || BOOLEAN_KEYWORD.test(format)) return false;
  const codes = formatCodes(format);
  return ELAPSED_BRACKET.test(codes) || /[ymdhsb]/i.test(codes.replace(FORMAT_BRACKET, ''));
}

/**
 * What a date format shows, when it shows a time and no day: `time-of-day` (`h:mm`, `hh:mm:ss`,
 * `h:mm AM/PM`, `mm:ss`: the serial's fraction, the hours of a day) or `elapsed` (`[h]:mm:ss`,
 * `[mm]:ss`: the whole serial, as hours in all); undefined for a format that shows a day (a
 * year, a day, a month's `mmm`, or `m` with no hour or second beside it, which is the month).
 * exceljs takes any format with one of `ymdhsb` outside quotes and brackets for a date
 * (lib/utils/utils.js, isDateFmt, 4.4.0), and made 0.5 shown as 12:00 a Date, read as no day
 * Excel shows (`cell-unreadable`), and 45000.75 shown as 18:00 the day 2023-03-15, which the
 * partner does not see in the cell and a CSV saved from it does not hold (found by a review).
 * Only the first section counts: {@link dateText} hands it the section the number shows by.
 */
function timeFormat(format: string | undefined): 'time-of-day' | 'elapsed' | undefined {
  if (format === undefined) return undefined;
  const codes = formatCodes(format).split(';')[0] ?? '';
  const elapsed = ELAPSED_BRACKET.test(codes);
  const bare = codes.replace(/\[[^\]]*\]/g, '').replace(/AM\/PM|A\/P/gi, '');
  if (/[ydbeg]/i.test(bare) || /m{3,}/i.test(bare)) return undefined;
  if (elapsed) return 'elapsed';
  return /[hs]/i.test(bare) ? 'time-of-day' : undefined;
}

/**
 * The section of a number format Excel shows `value` by, picked by its sign ({@link
 * sectionBySign}) among the sections numbers take: all but a last one for text (`@`), three at
 * most. The whole format where its sections go by a condition (`[<1]h:mm;[h]:mm`), which is
 * read as before, by its first section, as it is where the number's section is empty
 * (`dd/mm/yyyy;;` for zero: Excel shows nothing, no number and no date).
 */
function shownBySection(value: number, format: string): string {
  if (!format.includes(';')) return format;
  const sections = formatSections(format);
  if (sections.some((section) => CONDITION_BRACKET.test(formatCodes(section)))) return format;
  const section = sectionBySign(value, numberSections(sections));
  return section === undefined || section.trim() === '' ? format : section;
}

/**
 * The sections of a format that numbers take: all but a last one for text (one with `@` among
 * its codes, after at least one other), three at most.
 */
function numberSections(sections: readonly string[]): readonly string[] {
  const last = sections.length > 1 && formatCodes(sections[sections.length - 1]!).includes('@');
  return sections.slice(0, Math.min(3, last ? sections.length - 1 : sections.length));
}

/** A bracket that picks a section by the number (`[<1]`, `[>=100]`), not by its sign. */
const CONDITION_BRACKET = /\[\s*[<>=]/;

/**
 * The section of one, two or three that Excel shows a number by: the only one for every number,
 * of two the first for numbers not below zero and the second for those below it, of three the
 * first, second and third for numbers above, below and at zero.
 */
function sectionBySign<T>(value: number, sections: readonly T[]): T | undefined {
  if (sections.length === 1) return sections[0];
  if (sections.length === 2) return value < 0 ? sections[1] : sections[0];
  return value > 0 ? sections[0] : value < 0 ? sections[1] : sections[2];
}

/**
 * A time as Excel shows it, written as ISO 8601 writes a time (`18:00:00`) to the second, however
 * much of it the format shows: as a date is its ISO date whatever its format. A time of day has
 * no day (45000.75 and 0.75 are both 18:00:00), and is the same in either date system; elapsed
 * time counts its hours in all (1.25 is 30:00:00). A date column refuses it as it refuses a CSV's
 * `18:00` (`date-format`): no agreement has a time field, and no date is made of a time. A
 * negative time, which Excel shows as ##### in the 1900 date system, or one past 9999-12-31, is
 * `cell-unreadable`, as such a date is. The 1904 date system shows a negative time with a minus
 * before the time of its size (-1.25 as -30:00 elapsed, -6:00 of the day), the usual way to show
 * a timesheet's hours short, and such a time is that: `-06:00:00`. It was `cell-unreadable` in
 * either system (found by a review).
 */
function timeText(time: number, clock: 'time-of-day' | 'elapsed', date1904: boolean): Cell {
  const since = time - (date1904 ? EXCEL_FIRST_DAY_1904 : EXCEL_DAY_ZERO_1900);
  if ((since < 0 && !date1904) || time >= EXCEL_PAST_LAST_DAY) return CELL_UNREADABLE;
  // As far below the 1904 system's first day as its last day is above it.
  if (-since >= EXCEL_PAST_LAST_DAY - EXCEL_FIRST_DAY_1904) return CELL_UNREADABLE;
  const seconds = Math.round(Math.abs(since) / 1000);
  const shown = clock === 'elapsed' ? seconds : seconds % (DAY_MS / 1000);
  const sign = since < 0 && seconds > 0 ? '-' : '';
  const two = (n: number) => String(n).padStart(2, '0');
  return `${sign}${two(Math.floor(shown / 3600))}:${two(Math.floor(shown / 60) % 60)}:${two(shown % 60)}`;
}

const DAY_MS = 86_400_000;
/** Where exceljs puts Excel's serial 60: 1900-02-28, the day it takes for 29 February 1900. */
const EXCEL_PHANTOM_LEAP_DAY = Date.UTC(1900, 1, 28);

/**
 * The dates Excel shows: from serial 1 (1900-01-01; serial 0 it shows as 00/01/1900) in the 1900
 * date system, or serial 0 (1904-01-01) in the 1904 one, to 9999-12-31. A date-formatted number
 * outside them Excel shows as #####, no date: exceljs made -1 1899-12-30, a time of day (0.5)
 * 1899-12-31, and 3000000 a date of the year 10113 (found by a review). Such a cell is
 * `cell-unreadable`, as a number cell whose value is no number (1e400) is: no date is guessed.
 */
const EXCEL_FIRST_DAY_1900 = Date.UTC(1900, 0, 1);
const EXCEL_FIRST_DAY_1904 = Date.UTC(1904, 0, 1);
const EXCEL_PAST_LAST_DAY = Date.UTC(10000, 0, 1);
/** Where exceljs puts the 1900 date system's serial 0: 1899-12-30, as it takes no phantom day. */
const EXCEL_DAY_ZERO_1900 = Date.UTC(1899, 11, 30);

const XSTRING_ESCAPE = /_x([0-9A-Fa-f]{4})_/g;

/**
 * Cell text as Excel shows it. Excel writes a character XML cannot carry as `_xHHHH_` (a
 * carriage return in a line break as `_x000D_`; a literal `_x` as `_x005F_x`: ECMA-376
 * ST_Xstring), and exceljs leaves the escape as it is (found by a review). The character comes
 * back here; a control character then meets the check every cell meets.
 */
function unescapeXstring(text: string): string {
  if (!text.includes('_x')) return text;
  return text.replace(XSTRING_ESCAPE, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * A number cell as Excel shows it, where its format changes the text and a CSV saved from it
 * would say so: a percentage as the percentage (0.45 shown as 45%: 45, the percentage fields'
 * scale), LibreOffice's booleans (1 and 0 in the format `"TRUE";"TRUE";"FALSE"`, or its own code
 * for them, `BOOLEAN`) as TRUE and FALSE, any format of words alone (`"Yes";"Yes";"No"`) as its
 * words ({@link wordsShown}), and a whole number in a zero-padded format (`000000`: an id typed
 * into Excel as 000123) with its leading zeros, as {@link placedDigits} places them (the last three found by reviews). Zero-padded is the format's
 * first section, the one a number not below zero shows by: `000000;@` (a text section beside it,
 * as a template for ids typed either way gives) and `000000;-000000` pad as `000000` does; they
 * loaded 123 where Excel shows 000123, an id no other feed's matches (found by a review).
 *
 * Every number first to the 15 significant digits Excel keeps and shows ({@link shownDigits}).
 */
function numberText(written: number, format: string | undefined): string {
  const value = shownDigits(written);
  if (format === undefined) return String(value);
  if (isPercentFormat(format)) return percentText(value);
  if (BOOLEAN_KEYWORD.test(format)) return value === 0 ? 'FALSE' : 'TRUE';
  const words = wordsShown(value, format);
  if (words !== undefined) return words;
  const placed = Number.isSafeInteger(value) && value >= 0 ? placedDigits(value, format.split(';')[0]!) : undefined;
  return placed ?? String(value);
}

/**
 * A whole number as a zero-padding format of digit placeholders alone shows it, with the spaces,
 * hyphens and brackets between them, bare or escaped as Excel stores a format typed with them
 * (`00000\ 000000`): each `0` a digit or a zero, each `#` a digit or nothing, the digits
 * right-aligned, any beyond the placeholders before the first, as Excel places them. `000000`
 * shows 123 as 000123; `00000 000000` or `0#### ######`, the formats that keep a telephone
 * number's leading zero when it is typed without a quote, show 7700900123 as 07700 900123, which
 * loaded as 7700900123, a number without its zero (found by a defect hunt). Undefined for any
 * other format: a thousands separator or a decimal point is read as the number, as before, and so
 * is a format that pads with no zero ({@link padsWithZeros}): `# ##0` only groups a count's
 * digits (12345 shown as 12 345), and laid out it was refused as `count-format` (found by a
 * defect hunt).
 */
function placedDigits(value: number, section: string): string | undefined {
  if (!DIGIT_PLACEHOLDERS.test(section)) return undefined;
  const codes = section.match(/\\.|./g)!;
  if (!padsWithZeros(codes)) return undefined;
  // Zero has no digit a `#` shows: Excel shows it in `#` as nothing.
  const digits = value === 0 ? '' : String(value);
  let unplaced = codes.filter((code) => code === '0' || code === '#').length;
  let next = digits.length;
  let shown = '';
  for (let i = codes.length - 1; i >= 0; i--) {
    const code = codes[i]!;
    if (code !== '0' && code !== '#') {
      shown = code.at(-1)! + shown;
      continue;
    }
    unplaced--;
    // The first placeholder takes every digit left; the others one each, or a `0` a zero.
    const from = unplaced === 0 ? 0 : Math.max(0, next - 1);
    shown = (next > 0 ? digits.slice(from, next) : code === '0' ? '0' : '') + shown;
    next = from;
  }
  return shown;
}

/**
 * Whether a section's placeholders can show a zero the number has not: a `0` before its last
 * placeholder (`000000`, `0#### ######`). A `0` last alone shows a zero only for zero itself, and
 * `#` none: such a format (`# ##0`, `### ###`) shows the number's own digits, spaced.
 */
function padsWithZeros(codes: readonly string[]): boolean {
  const placeholders = codes.filter((code) => code === '0' || code === '#');
  return placeholders.slice(0, -1).includes('0');
}

/**
 * A number as Excel shows it: to 15 significant digits. Excel writes a cell's double in full, 17
 * digits where its binary form needs them (4.35 * 100, pasted as a value, is
 * `<v>434.99999999999994</v>`), but shows it, and saves it as CSV, as 435. Read as written, such
 * a count was refused as `count-format` and a percentage loaded as 0.30000000000000004 where the
 * partner sees 0.3. The largest doubles, which 15 digits would round past, are kept as they are.
 */
function shownDigits(value: number): number {
  const shown = Number(value.toPrecision(15));
  return Number.isFinite(shown) ? shown : value;
}

/**
 * `BOOLEAN`, the code LibreOffice gives its TRUE/FALSE format (Format Cells shows it so; it writes
 * `"TRUE";"TRUE";"FALSE"` for Excel), which writers that take their codes from it put in a
 * workbook as it is. LibreOffice shows 0 as FALSE and any other number as TRUE; no program shows
 * a date by it.
 */
const BOOLEAN_KEYWORD = /^BOOLEAN$/i;
/**
 * A format section of digit placeholders and the separators a telephone or NHS number is written
 * with, bare or escaped.
 */
const DIGIT_PLACEHOLDERS = /^(?:[ ()-]|\\[ ()-])*[0#](?:[0# ()-]|\\[ ()-])*$/;

/**
 * What a format of words alone shows a number as: `"Yes";"Yes";"No"` shows 1 as Yes and 0 as
 * No, `"TRUE"` or `\T\R\U\E` any number as TRUE, and a CSV saved from the cell says so. The
 * section is the number's, as Excel picks it: a format's only section shows every number (a
 * negative one with a minus before it), of two the first shows numbers not below zero and the
 * second those below it (no minus: the section says what it shows), of three (or four, the
 * fourth for text) the first, second and third show numbers above, below and at zero. Only
 * LibreOffice's booleans, `"TRUE";"TRUE";"FALSE"`, were read so: a flag column of 1 and 0
 * formatted `"Yes";"Yes";"No"` loaded 1 and 0, which the flag codec refuses, every row lost
 * (found by a review). Every section a number may take must be words alone ({@link
 * sectionWords}): a format that shows a number in any of them (`#,##0;(#,##0);"-"`, whose zero
 * shows as -) is read as the number whatever the value, and so is one with a condition
 * (`[=1]"Yes";[=0]"No"`), whose sections go by it rather than by the sign. A last section for
 * text (`@`) is no number's ({@link numberSections}): `"Yes";"No";@` shows 1 as Yes, and had
 * loaded 1, its `@` taken for a section that shows the number (found by a review).
 */
function wordsShown(value: number, format: string): string | undefined {
  // Words are quoted or escaped: most formats (General, 0.00, dd/mm/yyyy) are not split at all.
  if (!format.includes('"') && !format.includes('\\')) return undefined;
  const sections = numberSections(formatSections(format));
  const words: string[] = [];
  for (const section of sections) {
    const shown = sectionWords(section);
    if (shown === undefined) return undefined;
    words.push(shown);
  }
  const shown = sectionBySign(value, words);
  return words.length === 1 && value < 0 ? `-${shown!}` : shown;
}

/** The characters Excel shows as they are among a format's codes, with no quotes or backslash. */
const SHOWN_AS_THEY_ARE = /^[$\-+/():!^&'~{}<>= ]*$/;
/** Brackets that change how a section looks, not what it shows: a colour, a locale alone. */
const LOOKS_BRACKET = /^\[(?:black|blue|cyan|green|magenta|red|white|yellow|color\s*\d+|\$-[0-9a-f]+)\]$/i;

/**
 * The words a format's section shows, if it is words alone: its text in quotes or after a
 * backslash, and among its codes only what Excel shows as it is (`-`, `(`, a space: {@link
 * SHOWN_AS_THEY_ARE}) or a bracket that changes nothing shown ({@link LOOKS_BRACKET}); a `_`
 * leaves a space, a `*` fills with a character repeated to the column's width, which no text
 * holds. Undefined for a section that shows the number (a digit placeholder, a date code, `@`,
 * `General`), one with a condition or a currency symbol in brackets, and an empty one, which
 * shows nothing: no words.
 */
function sectionWords(section: string): string | undefined {
  let shown = '';
  let codes = '';
  for (const part of section.split(FORMAT_PARTS)) {
    if (part === '') continue;
    if (part.startsWith('"')) shown += part.slice(1, part.endsWith('"') && part.length > 1 ? -1 : undefined);
    else if (part.startsWith('\\')) shown += part.slice(1);
    else if (part.startsWith('_')) shown += ' ';
    else if (part.startsWith('*')) continue;
    else if (part.startsWith('[')) {
      if (!LOOKS_BRACKET.test(part)) return undefined;
    } else {
      codes += part;
      shown += part;
    }
  }
  return SHOWN_AS_THEY_ARE.test(codes) && shown.trim() !== '' ? shown : undefined;
}

/**
 * A format's sections, split at each `;` that is a code, not one in quotes, after a backslash or
 * in a bracket ({@link FORMAT_LITERAL_OR_BRACKET}).
 */
function formatSections(format: string): string[] {
  const sections: string[] = [];
  let section = '';
  for (const part of format.split(FORMAT_PARTS)) {
    if (part === ';') {
      sections.push(section);
      section = '';
    } else section += part;
  }
  sections.push(section);
  return sections;
}

/** A format split into its literals and brackets ({@link FORMAT_LITERAL_OR_BRACKET}), its `;`s, and the codes between them. */
const FORMAT_PARTS = new RegExp(`(${FORMAT_LITERAL_OR_BRACKET.source}|;)`);

/**
 * A number format that shows the value as a percentage (`0%`, `0.0%`): a `%` among its codes
 * ({@link formatCodes}), outside every bracket. One in quotes or after a backslash is text Excel
 * shows, and one after `_` or `*` a width or a fill, none a scaling: `0.0_%`, which lines a
 * column of numbers up with percentages beside it, shows 7.5 as "7.5 ", and loaded as 750 while
 * the % test took out quotes and escapes alone (found by a review).
 */
function isPercentFormat(format: string | undefined): boolean {
  return format !== undefined && formatCodes(format).replace(FORMAT_BRACKET, '').includes('%');
}

/**
 * A percentage cell as Excel shows it, and as a CSV saved from it would say: 0.45 shown as 45%
 * is 45 (the percentage fields' scale), not 0.45. Rounded to 12 significant digits to drop the
 * float error of the multiplication (0.07 * 100).
 */
function percentText(value: number): string {
  return String(Number((value * 100).toPrecision(12)));
}

export interface XlsxOptions extends CheckedWorkbook {
  readonly limits?: ReaderLimits;
}

export async function* xlsxRecords(bytes: Readable, options: XlsxOptions): ExtractRecords {
  const limits = options.limits ?? DEFAULT_READER_LIMITS;
  const guard: Guard = {
    entries: new Map(options.entries.map((e) => [e.name, e])),
    worksheet: options.worksheet,
    shownAs: partsShownToExcelJs(options),
    limits: options.zipLimits,
    total: 0,
    sheets: 0,
    violation: undefined,
    open: new Set(),
    copies: [],
  };
  // Fail closed: only a row worker's private directory is swept should the process be killed
  // mid-read; a copy in the system's temporary directory would keep the raw cells for good.
  if (threadTempDir === undefined) {
    bytes.destroy();
    throw new Error('A workbook is read only on a row worker');
  }
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
  // The download failing (after the SDK's retries) says nothing about the file: kept, to be
  // thrown as itself so the attempt fails and is retried, never taken for a bad workbook. The
  // read is ended through the zip, whose errors exceljs listens for (an error on `input` has no
  // listener: it would be an uncaught exception).
  let sourceError: Error | undefined;
  const abort = (err: Error) => {
    sourceError ??= err;
    bytes.unpipe(input);
    input.destroy();
    zip?.destroy(err);
    for (const entry of guard.open) entry.end();
    guard.open.clear();
  };
  const pipe = input.pipe.bind(input);
  input.pipe = (<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T => {
    zip = destination as unknown as Writable & { destroy(err?: Error): unknown };
    endOnlyWhenRead(zip);
    // First, so the hooks below see the part's own name: it is renamed only as exceljs takes it.
    showPartsToExcelJs(zip as unknown as ZipParser, guard.shownAs);
    readEntriesByDirectory(zip as unknown as ZipParser, guard.entries);
    guardEntries(zip, guard, stop);
    // unzipper passes an inflater's error to the zip alone, while exceljs waits on the entry.
    zip.on('error', (err: unknown) => {
      if (isInflateError(err)) stop(new FileRejection('xlsx-corrupted'));
    });
    const piped = pipe(destination, options);
    if (sourceError !== undefined) zip.destroy(sourceError);
    return piped;
  }) as typeof input.pipe;
  bytes.on('error', abort);
  bytes.pipe(input);

  const reader = new (loadExcelJs().stream.xlsx.WorkbookReader)(input, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    // Styles tell date cells from numbers; hyperlinks and everything else are not wanted.
    styles: 'cache',
    hyperlinks: 'ignore',
    entries: 'ignore',
  });
  markMissingSharedStrings(reader);
  try {
    let sheets = 0;
    for await (const worksheet of reader) {
      if (++sheets > 1) throw new FileRejection('xlsx-multiple-sheets');
      let previous = 0;
      for await (const row of worksheet as AsyncIterable<ExcelJS.Row>) {
        if (guard.violation) throw guard.violation;
        // A row number twice, or going back, is a workbook no spreadsheet program wrote: which
        // row is the partner's cannot be told (and two records of one row number cannot be stored).
        if (!Number.isSafeInteger(row.number) || row.number < 1) throw new FileRejection('xlsx-unreadable');
        if (row.number <= previous) throw new FileRejection('xlsx-row-order', { row: row.number });
        if (row.number > EXCEL_LAST_ROW) throw new FileRejection('xlsx-too-many-rows', { row: row.number });
        previous = row.number;
        yield [recordOf(row, limits, readsDate1904(reader))];
      }
    }
    if (guard.violation) throw guard.violation;
    if (sheets === 0) throw new FileRejection('xlsx-no-sheet');
  } catch (err) {
    if (guard.violation) throw guard.violation;
    if (err instanceof FileRejection) throw err;
    if (sourceError !== undefined) throw sourceError;
    // A temporary copy that could not be written or read (disk full, permissions) is the
    // instance's problem, not the file's.
    if (isSystemError(err)) throw err;
    // What is left comes from the content: unzipper's zip structure, saxes's XML, exceljs's model.
    throw new FileRejection('xlsx-unreadable');
  } finally {
    bytes.unpipe(input);
    input.destroy();
    // Stop the download too when the read ends early (a rejection, or the caller gave up).
    bytes.destroy();
    // exceljs removes a copy only when the read runs to its end: early stops leave it.
    await removeCopies(guard.copies);
  }
}

/**
 * Excel's last row. A worksheet with rows past it (a writer with no cap of its own, or a row number
 * written by hand) is no workbook Excel opens whole: it shows the rows up to this one and drops the
 * rest, so the partner who checks the extract in Excel sees other rows than would load, and the
 * report would name rows no one can find. Refused (`xlsx-too-many-rows`, the first such row), not
 * loaded without a word as before: the extract goes as CSV, which has no cap (README, XLSX caps).
 */
const EXCEL_LAST_ROW = 1_048_576;

/**
 * exceljs, loaded only here, on a thread {@link useTempDirForThisThread} has readied: its readers
 * bind the XML decoding they are loaded with (exceljs-xml-decoding.ts), so exceljs is not
 * imported with this module.
 */
function loadExcelJs(): typeof ExcelJS {
  return createRequire(import.meta.url)('exceljs') as typeof ExcelJS;
}

/**
 * An error of zlib's inflater, as unzipper passes it on to the zip (`Z_BUF_ERROR`: the deflate
 * stream ends before its last block; `Z_DATA_ERROR`: its bytes are not deflate): the entry's
 * bytes were damaged, as a wrong CRC says. unzipper emits it on the zip, not on the entry, and
 * leaves the entry open: exceljs, reading the entry (or copying it to a temporary file), waited
 * for its end for ever and the read hung, where it ended at all (found by a review). Stopping
 * the read ends the entries open.
 */
function isInflateError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, errno } = err as { code?: unknown; errno?: unknown };
  return typeof code === 'string' && code.startsWith('Z_') && typeof errno === 'number';
}

/** A Node.js system error (a failed syscall: file, socket): it has a `syscall` and an `E…` code. */
function isSystemError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { syscall, code } = err as { syscall?: unknown; code?: unknown };
  return typeof syscall === 'string' && typeof code === 'string';
}

/**
 * What exceljs gives a cell whose shared string the workbook does not have, in place of the
 * `undefined` it read as an empty cell ({@link markMissingSharedStrings}).
 */
const MISSING_SHARED_STRING = Object.freeze({});

/**
 * Makes a shared string index the workbook's strings do not reach read as
 * {@link MISSING_SHARED_STRING}. exceljs keeps the strings in an array (`sharedStrings`, set when
 * it reads xl/sharedStrings.xml) and gives a cell `array[index]`: past the end, `undefined`, an
 * empty cell, so a required field read as missing and an optional one loaded as absent (found by
 * a review). The array it sets is wrapped so that such an index reads as the marker; an index
 * that is no whole number reaches it as -1 (exceljs-text-events.ts). Set on this reader only.
 */
function markMissingSharedStrings(reader: object): void {
  let strings: unknown;
  Object.defineProperty(reader, 'sharedStrings', {
    configurable: true,
    enumerable: true,
    get: () => strings,
    set: (value: unknown) => {
      strings = Array.isArray(value)
        ? new Proxy(value, {
            get(target, key, receiver) {
              if (typeof key === 'string' && String(Number(key)) === key && !Object.hasOwn(target, key))
                return MISSING_SHARED_STRING;
              return Reflect.get(target, key, receiver) as unknown;
            },
          })
        : value;
    },
  });
}

/**
 * Whether a cell names a shared string the workbook does not have: past the end of its strings
 * ({@link MISSING_SHARED_STRING}), or any when it has none (exceljs then gives the index, as
 * `{ sharedString }`). The shared strings are then not the ones the worksheet was written with,
 * and any string cell of it may be another's: the workbook is refused, as one whose strings
 * are shifted is (`xlsx-prefixed-xml`), rather than the cell alone.
 */
function namesMissingSharedString(value: unknown): boolean {
  return value === MISSING_SHARED_STRING || (typeof value === 'object' && value !== null && 'sharedString' in value);
}

/**
 * Whether the workbook counts its dates in the 1904 system, as exceljs read its `<workbookPr>`
 * ({@link readDate1904AsXsdBoolean}) before any row: exceljs made its date cells' dates with it.
 */
function readsDate1904(reader: object): boolean {
  return (reader as { properties?: { model?: { date1904?: unknown } } }).properties?.model?.date1904 === true;
}

function recordOf(row: ExcelJS.Row, limits: ReaderLimits, date1904: boolean): ExtractRecord {
  const values = row.values as unknown[];
  // exceljs's row values are 1-based: index 0 is always empty.
  const width = Math.max(0, values.length - 1);
  if (width > limits.maxCells) return { row: row.number, cells: [], problem: 'column-count' };
  const cells: string[] = new Array<string>(width);
  let problems: { index: number; reason: RowReason }[] | undefined;
  let blankFormulas = 0;
  let chars = 0;
  for (let i = 0; i < width; i++) {
    const value = values[i + 1];
    if (namesMissingSharedString(value)) throw new FileRejection('xlsx-shared-string-missing', { row: row.number });
    const text =
      typeof value === 'number' && Number.isFinite(value)
        ? numberText(value, row.getCell(i + 1).numFmt)
        : value instanceof Date
          ? dateText(value, row.getCell(i + 1).numFmt, date1904)
          : cellText(value);
    if (text === FORMULA && showsNothing(value, row.getCell(i + 1))) blankFormulas++;
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
  if (problems === undefined) return { row: row.number, cells };
  // A template's rows of formulas copied down below the data (or above the header) show nothing:
  // a row of them and empty cells alone is the blank row the partner sees, skipped as one
  // (row-preparation.ts, isBlankRecord), not a bad row for each, which had the file refused for
  // its share of bad rows. A formula beside a value is still refused.
  if (blankFormulas === problems.length && cells.every((c) => c.trim() === '')) return { row: row.number, cells };
  return { row: row.number, cells, cellProblems: problems };
}
