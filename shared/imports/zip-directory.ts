import { FileRejection, type FileReason } from './reasons.js';

/**
 * Reads a zip's central directory (at the end of the file) with ranged reads, so an XLSX can be
 * judged before a byte of it is inflated: how many entries, how large they say they are
 * uncompressed, how hard they are compressed, how many worksheets. A zip bomb shows itself
 * here when its headers are honest; one whose headers lie is stopped by the byte counts kept
 * while inflating (xlsx-records.ts).
 */

export type RangeReader = (offset: number, length: number) => Promise<Uint8Array>;

export interface ZipEntry {
  readonly name: string;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  /**
   * The CRC-32 of its uncompressed bytes: what the inflated bytes are checked against
   * (xlsx-records.ts), and how a data descriptor without its signature is known.
   */
  readonly crc: number;
  /** Where its local header is: a streamed read meets the entries in this order. */
  readonly offset: number;
}

export interface ZipLimits {
  readonly maxEntries: number;
  /** Sum of the entries' uncompressed sizes. */
  readonly maxUncompressedBytes: number;
  /** Largest uncompressed/compressed ratio allowed for an entry larger than 1 MiB. */
  readonly maxCompressionRatio: number;
  /**
   * Uncompressed size of `xl/sharedStrings.xml`: exceljs holds every shared string in memory for
   * the whole read (xlsx-records.ts), so this, not the worksheet, is what can exhaust the heap.
   */
  readonly maxSharedStringsBytes: number;
  /**
   * Uncompressed size of each other part exceljs parses into memory ({@link PARSED_PARTS}: the
   * workbook, its relationships, the styles). Entries it skips (images, theme, properties) count
   * only towards the total.
   */
  readonly maxParsedPartBytes: number;
}

/**
 * The caps, sized against the project's own synthetic extracts (exceljs streaming writer, shared
 * strings on, as Excel writes; `la-housing/multiple-disadvantage-indicators`, 13 columns):
 * 100,000 rows are an 8.5 MB file of 54.5 MB uncompressed — worksheet 50.0 MB, shared strings
 * 4.4 MB, everything else under 16 KB; 1,000,000 rows are ten times that (see
 * shared/imports/README.md). So a million-row extract, about Excel's own row limit, fits the
 * total with room for wider sheets, and its shared strings use under three quarters of theirs.
 * The worksheet is streamed and costs no memory; the shared strings (64 MiB of XML is some
 * hundreds of MB of JavaScript strings at worst, millions of short ones) and the other parts
 * are held whole, so they are capped on their own well inside an instance's 2 GB.
 */
export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntries: 1_000,
  maxUncompressedBytes: 768 * 1024 ** 2,
  maxCompressionRatio: 200,
  maxSharedStringsBytes: 64 * 1024 ** 2,
  maxParsedPartBytes: 16 * 1024 ** 2,
};

export const SHARED_STRINGS_ENTRY = 'xl/sharedStrings.xml';
const WORKBOOK_ENTRY = 'xl/workbook.xml';
const WORKBOOK_RELS_ENTRY = 'xl/_rels/workbook.xml.rels';
const STYLES_ENTRY = 'xl/styles.xml';

export const WORKSHEET_ENTRY = /^xl\/worksheets\/sheet\d+\.xml$/;
/**
 * Any part where Excel's layout keeps worksheets. OOXML names a worksheet by the target the
 * workbook's relationships give it, but exceljs's streaming reader reads only {@link
 * WORKSHEET_ENTRY}: one named otherwise is skipped unread. Part names are case-insensitive (OPC).
 */
const WORKSHEET_PART = /^xl\/worksheets\/[^/]+\.xml$/i;

/** Besides the shared strings and the worksheet, the entries exceljs's reader parses into memory. */
export const PARSED_PARTS: ReadonlySet<string> = new Set([WORKBOOK_ENTRY, WORKBOOK_RELS_ENTRY, STYLES_ENTRY]);

/**
 * The cap on one entry's uncompressed size, and the reason a larger one is refused with; undefined
 * for an entry that only the total limits. Checked against the directory here and against the
 * inflated bytes while reading (xlsx-records.ts).
 */
export function entryCap(name: string, limits: ZipLimits): { bytes: number; reason: FileReason } | undefined {
  if (name === SHARED_STRINGS_ENTRY)
    return { bytes: limits.maxSharedStringsBytes, reason: 'xlsx-shared-strings-too-large' };
  if (PARSED_PARTS.has(name)) return { bytes: limits.maxParsedPartBytes, reason: 'xlsx-uncompressed-too-large' };
  return undefined;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL_HEADER = 0x02014b50;
/** The EOCD record is 22 bytes plus a comment of up to 65,535. */
const EOCD_SEARCH = 22 + 65_535;
const MAX_DIRECTORY_BYTES = 16 * 1024 * 1024;

const OLE_MAGIC = [0xd0, 0xcf, 0x11, 0xe0];

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The entries of the zip of `size` bytes, or a FileRejection saying why it is not a usable XLSX. */
export async function readZipDirectory(
  read: RangeReader,
  size: number,
  limits: ZipLimits = DEFAULT_ZIP_LIMITS,
): Promise<ZipEntry[]> {
  if (size < 22) throw new FileRejection(size === 0 ? 'empty-file' : 'xlsx-not-a-zip');
  const head = await read(0, Math.min(size, 8));
  // A password-protected workbook is an OLE compound file wrapping the encrypted zip.
  if (OLE_MAGIC.every((b, i) => head[i] === b)) throw new FileRejection('xlsx-encrypted');
  if (head[0] !== 0x50 || head[1] !== 0x4b) throw new FileRejection('xlsx-not-a-zip');

  const tailLength = Math.min(size, EOCD_SEARCH);
  const tailOffset = size - tailLength;
  const tail = await read(tailOffset, tailLength);
  const tv = view(tail);
  let eocd = -1;
  for (let p = tail.length - 22; p >= 0; p--) {
    if (tv.getUint32(p, true) === EOCD) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) throw new FileRejection('xlsx-not-a-zip');
  let entries = tv.getUint16(eocd + 10, true);
  let directorySize = tv.getUint32(eocd + 12, true);
  let directoryOffset = tv.getUint32(eocd + 16, true);
  if (entries === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || tv.getUint32(locator, true) !== ZIP64_LOCATOR) throw new FileRejection('xlsx-not-a-zip');
    const zip64Offset = Number(tv.getBigUint64(locator + 8, true));
    const z = view(await read(zip64Offset, 56));
    if (z.getUint32(0, true) !== ZIP64_EOCD) throw new FileRejection('xlsx-not-a-zip');
    entries = Number(z.getBigUint64(32, true));
    directorySize = Number(z.getBigUint64(40, true));
    directoryOffset = Number(z.getBigUint64(48, true));
  }
  if (entries > limits.maxEntries) throw new FileRejection('xlsx-too-many-entries');
  if (directorySize > MAX_DIRECTORY_BYTES || directoryOffset + directorySize > size)
    throw new FileRejection('xlsx-not-a-zip');

  const directory = await read(directoryOffset, directorySize);
  const dv = view(directory);
  const found: ZipEntry[] = [];
  let p = 0;
  let total = 0;
  for (let k = 0; k < entries; k++) {
    if (p + 46 > directory.length || dv.getUint32(p, true) !== CENTRAL_HEADER)
      throw new FileRejection('xlsx-not-a-zip');
    const crc = dv.getUint32(p + 16, true);
    let compressedSize = dv.getUint32(p + 20, true);
    let uncompressedSize = dv.getUint32(p + 24, true);
    const nameLength = dv.getUint16(p + 28, true);
    const extraLength = dv.getUint16(p + 30, true);
    const commentLength = dv.getUint16(p + 32, true);
    let offset = dv.getUint32(p + 42, true);
    const name = new TextDecoder().decode(directory.subarray(p + 46, p + 46 + nameLength));
    if (uncompressedSize === 0xffffffff || compressedSize === 0xffffffff || offset === 0xffffffff) {
      // ZIP64 extended information: the 8-byte values that overflowed, in this order.
      let e = p + 46 + nameLength;
      const end = e + extraLength;
      while (e + 4 <= end) {
        const id = dv.getUint16(e, true);
        const length = dv.getUint16(e + 2, true);
        if (id === 0x0001) {
          let q = e + 4;
          if (uncompressedSize === 0xffffffff) {
            uncompressedSize = Number(dv.getBigUint64(q, true));
            q += 8;
          }
          if (compressedSize === 0xffffffff) {
            compressedSize = Number(dv.getBigUint64(q, true));
            q += 8;
          }
          if (offset === 0xffffffff && q + 8 <= end) offset = Number(dv.getBigUint64(q, true));
          break;
        }
        e += 4 + length;
      }
    }
    total += uncompressedSize;
    if (total > limits.maxUncompressedBytes) throw new FileRejection('xlsx-uncompressed-too-large');
    const cap = entryCap(name, limits);
    if (cap !== undefined && uncompressedSize > cap.bytes) throw new FileRejection(cap.reason);
    if (uncompressedSize > 1024 * 1024 && uncompressedSize > limits.maxCompressionRatio * Math.max(compressedSize, 1)) {
      throw new FileRejection('xlsx-compression-ratio');
    }
    found.push({ name, compressedSize, uncompressedSize, crc, offset });
    p += 46 + nameLength + extraLength + commentLength;
  }
  // The directory may list them in any order; the read meets them as stored.
  return found.sort((a, b) => a.offset - b.offset);
}

/**
 * Checks an XLSX's directory, its entries in stored order ({@link readZipDirectory}): exactly one
 * worksheet, named as exceljs reads it, and the parts it is read with stored where exceljs will
 * have read them. A worksheet part of another name is counted as a sheet: refused as
 * `xlsx-no-sheet` when alone, a workbook plainly holding one was said to hold none; beside a
 * sheetN.xml, it was skipped while the other loaded.
 */
export function checkWorkbookEntries(entries: readonly ZipEntry[]): void {
  const sheets = entries.filter((e) => WORKSHEET_PART.test(e.name));
  if (sheets.length === 0)
    throw new FileRejection(entries.some((e) => e.name === WORKBOOK_ENTRY) ? 'xlsx-no-sheet' : 'xlsx-unreadable');
  if (sheets.length > 1) throw new FileRejection('xlsx-multiple-sheets');
  if (!WORKSHEET_ENTRY.test(sheets[0]!.name)) throw new FileRejection('xlsx-sheet-part-name');
  checkPartOrder(entries);
}

/**
 * exceljs's reader (workbook-reader.js, parse) reads a worksheet as it inflates once it has read
 * the shared strings and the workbook's relationships; before them, it copies the worksheet to a
 * temporary file and reads it after every other entry. Read as it inflates, a worksheet stored
 * before the styles has its number formats unknown (a 45% cell is 0.45, a date a day count), and
 * one before the workbook part fails. Excel stores the shared strings after the worksheet and
 * exceljs stores the workbook part and styles before it, so neither is refused.
 */
function checkPartOrder(entries: readonly ZipEntry[]): void {
  const at = (name: string) => entries.findIndex((e) => e.name === name);
  const sheet = entries.findIndex((e) => WORKSHEET_ENTRY.test(e.name));
  const readFirst = (name: string) => {
    const i = at(name);
    return i !== -1 && i < sheet;
  };
  if (!readFirst(SHARED_STRINGS_ENTRY) || !readFirst(WORKBOOK_RELS_ENTRY)) return;
  if (at(STYLES_ENTRY) > sheet || at(WORKBOOK_ENTRY) > sheet) throw new FileRejection('xlsx-part-order');
}
