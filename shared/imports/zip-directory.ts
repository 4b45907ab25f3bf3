import { promisify } from 'node:util';
import { crc32, inflateRaw } from 'node:zlib';
import { requireAsExcelJs } from './exceljs-modules.js';
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

/**
 * The part names exceljs's streaming reader reads as worksheets (lib/stream/xlsx/workbook-reader.js,
 * 4.4.0, unanchored as there): any other part is skipped unread, and any part so named is read as
 * a sheet whether or not the workbook lists it.
 */
const EXCELJS_WORKSHEET = /xl\/worksheets\/sheet\d+[.]xml/;
/** Whether exceljs's streaming reader reads the part `name` as a worksheet ({@link EXCELJS_WORKSHEET}). */
export function isExcelJsWorksheet(name: string): boolean {
  return EXCELJS_WORKSHEET.test(name);
}

/** The name exceljs is shown for a worksheet part named otherwise ({@link worksheetAsExcelJsReadsIt}). */
const EXCELJS_WORKSHEET_ALIAS = 'xl/worksheets/sheet1.xml';

/**
 * The name a read gives the worksheet part `worksheet` for exceljs to read it ({@link
 * EXCELJS_WORKSHEET}): OOXML names a worksheet by the target the workbook's relationships give it
 * ({@link findWorksheet}), which a writer may put anywhere (xl/worksheets/Data.xml). No other part
 * bears the alias: {@link findWorksheet} refuses a workbook with any other part exceljs reads as a
 * worksheet.
 */
export function worksheetAsExcelJsReadsIt(worksheet: string): string {
  return EXCELJS_WORKSHEET.test(worksheet) ? worksheet : EXCELJS_WORKSHEET_ALIAS;
}

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

const LOCAL_HEADER = 0x04034b50;
const STORED = 0;
const DEFLATED = 8;
const inflateRawAsync = promisify(inflateRaw);

/**
 * A workbook as the import checked it before its rows are read: its zip directory, the part its
 * relationships name as its worksheet ({@link findWorksheet}), the parts to show exceljs under
 * other names, and the limits to hold it to while inflating.
 */
export interface CheckedWorkbook extends WorkbookParts {
  readonly entries: readonly ZipEntry[];
  readonly zipLimits: ZipLimits;
}

export interface WorkbookParts {
  readonly worksheet: string;
  /**
   * Each part exceljs knows by a fixed name ({@link EXCELJS_PARTS}) that this package stores
   * elsewhere, with the name exceljs is to be shown it by, and each part holding such a name that
   * the workbook does not name, shown by one exceljs skips ({@link UNREFERENCED_PART}); none for
   * a workbook whose parts are all where exceljs looks. Pairs, not an object: a part name may be
   * any string, `__proto__` too.
   */
  readonly renamed?: readonly (readonly [part: string, shownAs: string])[];
}

/** The names exceljs's streaming reader knows the workbook's parts by (workbook-reader.js, parse). */
const EXCELJS_PARTS = {
  workbook: WORKBOOK_ENTRY,
  relationships: WORKBOOK_RELS_ENTRY,
  sharedStrings: SHARED_STRINGS_ENTRY,
  styles: STYLES_ENTRY,
} as const;
type PartKind = keyof typeof EXCELJS_PARTS;

/**
 * The name a part holding one of exceljs's fixed names ({@link EXCELJS_PARTS}), which the
 * workbook does not name, is shown to exceljs by: one exceljs's reader skips, as it skips any
 * part it does not know. The read still inflates and checks it as every entry.
 */
const UNREFERENCED_PART = 'lintel/unreferenced-part';

const PACKAGE_RELS_ENTRY = '_rels/.rels';
/** The type of the package relationship naming its main part, transitional or strict. */
const OFFICE_DOCUMENT =
  /^http:\/\/(?:schemas\.openxmlformats\.org\/officeDocument\/2006|purl\.oclc\.org\/ooxml\/officeDocument)\/relationships\/officeDocument$/;

/**
 * The worksheet of an XLSX, as OOXML finds it: the main part (xl/workbook.xml, or where the
 * package relationships, _rels/.rels, put it), whose `<sheet>`s are each resolved through the
 * workbook's own relationships (`<dir>/_rels/<name>.rels`) to its part (a target relative to the
 * workbook, or from the package root when it starts with `/`), of which exactly one must be a
 * worksheet; and no other part that exceljs would read as one ({@link EXCELJS_WORKSHEET}), or it
 * would load beside it. Only the package relationships, the workbook and its relationships are
 * read here, whole: small parts, capped ({@link entryCap}), inflated with the directory's size as
 * the most they may give. The worksheet is streamed later, by the read.
 */
export async function findWorksheet(
  read: RangeReader,
  entries: readonly ZipEntry[],
  limits: ZipLimits = DEFAULT_ZIP_LIMITS,
): Promise<WorkbookParts> {
  // Where exceljs looks, and every writer this project has met puts it: the package
  // relationships are read only when it is not there.
  const workbook = entryNamed(entries, WORKBOOK_ENTRY) ?? (await mainPart(read, entries, limits));
  const relationshipsEntry = entryNamed(entries, relationshipsOf(workbook.name));
  if (relationshipsEntry === undefined) throw new FileRejection('xlsx-unreadable');
  const parts: Partial<Record<PartKind, ZipEntry>> = { workbook, relationships: relationshipsEntry };
  capParsedParts(parts, limits);
  const sheets = workbookSheets(await readEntry(read, workbook));
  const targets = relationships(await readEntry(read, relationshipsEntry), workbook.name);
  const worksheets = sheets.flatMap((sheet) => {
    const target = targets.get(sheet.id);
    return target !== undefined && target.type === 'worksheet' ? [{ ...target, hidden: sheet.hidden }] : [];
  });
  if (worksheets.length === 0) throw new FileRejection('xlsx-no-sheet');
  // Excel shows no tab for a hidden sheet: told only "several sheets", a partner who sees one
  // could not find the others (a lookup list behind a drop-down, a working sheet).
  if (worksheets.length > 1 && worksheets.filter((w) => !w.hidden).length <= 1)
    throw new FileRejection('xlsx-hidden-sheet');
  if (worksheets.length > 1) throw new FileRejection('xlsx-multiple-sheets');
  const worksheet = entryNamed(entries, worksheets[0]!.part)?.name;
  if (worksheet === undefined) throw new FileRejection('xlsx-unreadable');
  if (entries.some((e) => e.name !== worksheet && EXCELJS_WORKSHEET.test(e.name)))
    throw new FileRejection('xlsx-multiple-sheets');
  // Shared strings and styles as the relationships name them for a workbook at xl/workbook.xml
  // too: read from the fixed names alone, a workbook whose strings are elsewhere was refused
  // (xlsx-shared-string-missing), and one with a stray xl/sharedStrings.xml beside them loaded
  // another workbook's strings into every text cell (found by a defect hunt).
  for (const [, target] of targets) {
    const kind = target.type === 'sharedStrings' || target.type === 'styles' ? target.type : undefined;
    const entry = kind === undefined ? undefined : entryNamed(entries, target.part);
    if (kind !== undefined && entry !== undefined) parts[kind] ??= entry;
  }
  capParsedParts(parts, limits);
  const named = new Set(Object.values(parts).map((e) => e.name));
  const renamed: [string, string][] = [];
  for (const kind of Object.keys(EXCELJS_PARTS) as PartKind[]) {
    const shownAs = EXCELJS_PARTS[kind];
    const part = parts[kind]?.name;
    if (part !== undefined && part !== shownAs) renamed.push([part, shownAs]);
    // A part of that name the workbook does not name (left by the tool that moved the workbook,
    // another workbook's strings): exceljs would read it whatever the workbook says, in place of
    // this one's, so it is shown exceljs under a name it skips. Beside a workbook at
    // xl/workbook.xml, only where its relationships name another part of the kind: one that names
    // none (a writer that leaves the styles unnamed) has it read there, as it always had.
    const unreferenced = !named.has(shownAs) && entries.some((e) => e.name === shownAs);
    if (unreferenced && (workbook.name !== WORKBOOK_ENTRY || part !== undefined))
      renamed.push([shownAs, UNREFERENCED_PART]);
  }
  const names = Object.fromEntries(Object.entries(parts).map(([kind, e]) => [kind, e.name]));
  checkPartOrder(entries, worksheet, names);
  return { worksheet, renamed };
}

/** The entry of the part `name` (OPC part names are case-insensitive), if the package holds it. */
function entryNamed(entries: readonly ZipEntry[], name: string): ZipEntry | undefined {
  const wanted = name.toLowerCase();
  return entries.find((e) => e.name === name) ?? entries.find((e) => e.name.toLowerCase() === wanted);
}

/** The relationships part of the part `name`: `<dir>/_rels/<name>.rels` (OPC). */
function relationshipsOf(name: string): string {
  const slash = name.lastIndexOf('/') + 1;
  return `${name.slice(0, slash)}_rels/${name.slice(slash)}.rels`;
}

/** The package's main part, as its relationships (_rels/.rels) name it: exactly one, held. */
async function mainPart(read: RangeReader, entries: readonly ZipEntry[], limits: ZipLimits): Promise<ZipEntry> {
  const packageRels = entryNamed(entries, PACKAGE_RELS_ENTRY);
  if (packageRels === undefined) throw new FileRejection('xlsx-unreadable');
  if (packageRels.uncompressedSize > limits.maxParsedPartBytes) throw new FileRejection('xlsx-uncompressed-too-large');
  const main = [...relationships(await readEntry(read, packageRels), '').values()].filter(
    (r) => r.type === 'officeDocument',
  );
  const entry = main.length === 1 ? entryNamed(entries, main[0]!.part) : undefined;
  if (entry === undefined) throw new FileRejection('xlsx-unreadable');
  return entry;
}

/** Holds the parts found here to the cap of the name exceljs reads them by ({@link entryCap}). */
function capParsedParts(parts: Partial<Record<PartKind, ZipEntry>>, limits: ZipLimits): void {
  for (const kind of Object.keys(parts) as PartKind[]) {
    const cap = entryCap(EXCELJS_PARTS[kind], limits);
    if (cap !== undefined && parts[kind]!.uncompressedSize > cap.bytes) throw new FileRejection(cap.reason);
  }
}

/**
 * The bytes of `entry`, inflated, checked against the directory's size and CRC. Only for a part
 * whose size the directory has capped ({@link entryCap}).
 */
async function readEntry(read: RangeReader, entry: ZipEntry): Promise<Uint8Array> {
  // Deflate adds a few bytes a block at worst: a larger compressed size is a directory that lies,
  // and would have this read (and hold) as much as it says.
  if (entry.compressedSize > entry.uncompressedSize + Math.ceil(entry.uncompressedSize / 1024) + 64)
    throw new FileRejection('xlsx-corrupted');
  const header = view(await read(entry.offset, 30));
  if (header.byteLength < 30 || header.getUint32(0, true) !== LOCAL_HEADER) throw new FileRejection('xlsx-not-a-zip');
  const method = header.getUint16(8, true);
  const start = entry.offset + 30 + header.getUint16(26, true) + header.getUint16(28, true);
  const stored = await read(start, entry.compressedSize);
  let bytes: Uint8Array;
  if (method === STORED) bytes = stored;
  else if (method === DEFLATED) {
    try {
      // One byte more than it should give: more is a directory that lies about its size.
      bytes = await inflateRawAsync(stored, { maxOutputLength: entry.uncompressedSize + 1 });
    } catch (err) {
      if (err instanceof RangeError) throw new FileRejection('xlsx-uncompressed-too-large');
      throw new FileRejection('xlsx-corrupted');
    }
  } else throw new FileRejection('xlsx-unreadable');
  if (bytes.byteLength !== entry.uncompressedSize || crc32(bytes) !== entry.crc)
    throw new FileRejection('xlsx-corrupted');
  return bytes;
}

type XmlAttribute = { readonly local?: string; readonly uri?: string; readonly value?: string };
type XmlTag = { readonly local?: string; readonly attributes?: Record<string, XmlAttribute> };
interface NamespaceParser {
  on(name: string, handler: (value: unknown) => void): void;
  write(chunk: string): unknown;
  close(): unknown;
}

/**
 * Parses `bytes` as UTF-8 XML with namespaces, with saxes (exceljs's parser), handing `open` each
 * start tag and the local names of the elements it is in. Refused as the read would refuse the
 * same part (xlsx-records.ts): not UTF-8, `invalid-utf8`; a DOCTYPE, `xlsx-doctype`; not
 * well-formed, `xlsx-unreadable`.
 */
function parseXml(bytes: Uint8Array, open: (tag: XmlTag, within: readonly string[]) => void): void {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FileRejection('invalid-utf8');
  }
  const { SaxesParser } = requireAsExcelJs('lib/utils/parse-sax.js', 'saxes') as {
    SaxesParser: new (options: { xmlns: boolean }) => NamespaceParser;
  };
  const parser = new SaxesParser({ xmlns: true });
  const within: string[] = [];
  let rejection: FileRejection | undefined;
  parser.on('error', () => {
    rejection ??= new FileRejection('xlsx-unreadable');
  });
  parser.on('doctype', () => {
    rejection ??= new FileRejection('xlsx-doctype');
  });
  parser.on('opentag', (value) => {
    const tag = value as XmlTag;
    if (rejection === undefined) open(tag, within);
    within.push(tag.local ?? '');
  });
  parser.on('closetag', () => {
    within.pop();
  });
  try {
    parser.write(text);
    parser.close();
  } catch (err) {
    rejection ??= err instanceof FileRejection ? err : new FileRejection('xlsx-unreadable');
  }
  if (rejection !== undefined) throw rejection;
}

/** The relationships namespace, transitional or strict (ECMA-376 part 1). */
const RELATIONSHIPS_NS =
  /^http:\/\/(?:schemas\.openxmlformats\.org\/officeDocument\/2006|purl\.oclc\.org\/ooxml\/officeDocument)\/relationships$/;

/** The relationship id of each `<sheet>` of `<sheets>`, in order, and whether Excel hides its tab. */
function workbookSheets(bytes: Uint8Array): { readonly id: string; readonly hidden: boolean }[] {
  const sheets: { id: string; hidden: boolean }[] = [];
  parseXml(bytes, (tag, within) => {
    if (tag.local !== 'sheet' || within.at(-1) !== 'sheets') return;
    const attributes = Object.values(tag.attributes ?? {});
    const id = attributes.find((a) => a.local === 'id' && RELATIONSHIPS_NS.test(a.uri ?? ''));
    if (id?.value === undefined) throw new FileRejection('xlsx-unreadable');
    // ST_SheetState: `visible` (the default), `hidden`, or `veryHidden` (shown by no menu, only VBA).
    const state = attributes.find((a) => a.local === 'state' && (a.uri ?? '') === '')?.value;
    sheets.push({ id: id.value, hidden: state === 'hidden' || state === 'veryHidden' });
  });
  return sheets;
}

/**
 * The relationships of the part `source` ('' for the package's own) by id: the part each names
 * in the package (its target resolved against `source`, percent-escapes decoded) and its type's
 * last segment (`worksheet`, `officeDocument`; transitional or strict). External targets name no
 * part.
 */
function relationships(bytes: Uint8Array, source: string): Map<string, { part: string; type: string }> {
  const found = new Map<string, { part: string; type: string }>();
  parseXml(bytes, (tag) => {
    if (tag.local !== 'Relationship') return;
    const attribute = (name: string) =>
      Object.values(tag.attributes ?? {}).find((a) => a.local === name && (a.uri ?? '') === '')?.value;
    const id = attribute('Id');
    const target = attribute('Target');
    if (id === undefined || target === undefined || attribute('TargetMode') === 'External') return;
    const part = partName(target, source);
    if (part === undefined) return;
    const type = attribute('Type') ?? '';
    const kind = OFFICE_DOCUMENT.test(type) ? 'officeDocument' : type.slice(type.lastIndexOf('/') + 1);
    found.set(id, { part, type: kind });
  });
  return found;
}

/** The part a relationship of the part `source` targets, as a zip entry name; undefined if none. */
function partName(target: string, source: string): string | undefined {
  try {
    // Escaped, so a `#` or `?` in the source's name is a name, not a fragment or query.
    const base = source.split('/').map(encodeURIComponent).join('/');
    const url = new URL(target, `http://package/${base}`);
    if (url.host !== 'package' || url.protocol !== 'http:') return undefined;
    return decodeURIComponent(url.pathname).slice(1);
  } catch {
    return undefined;
  }
}

/**
 * exceljs's reader (workbook-reader.js, parse) reads a worksheet as it inflates once it has read
 * the shared strings and the workbook's relationships; before them, it copies the worksheet to a
 * temporary file and reads it after every other entry. Read as it inflates, a worksheet stored
 * before the styles has its number formats unknown (a 45% cell is 0.45, a date a day count), and
 * one before the workbook part fails. Excel stores the shared strings after the worksheet and
 * exceljs stores the workbook part and styles before it, so neither is refused.
 */
function checkPartOrder(
  entries: readonly ZipEntry[],
  worksheet: string,
  parts: Partial<Record<PartKind, string>>,
): void {
  const at = (name: string | undefined) => (name === undefined ? -1 : entries.findIndex((e) => e.name === name));
  const sheet = at(worksheet);
  const readFirst = (name: string | undefined) => {
    const i = at(name);
    return i !== -1 && i < sheet;
  };
  const sharedStrings = parts.sharedStrings ?? SHARED_STRINGS_ENTRY;
  const styles = parts.styles ?? STYLES_ENTRY;
  if (!readFirst(sharedStrings) || !readFirst(parts.relationships)) return;
  if (at(styles) > sheet || at(parts.workbook) > sheet) throw new FileRejection('xlsx-part-order');
}
