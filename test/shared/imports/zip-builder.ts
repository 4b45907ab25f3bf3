import { crc32, createDeflateRaw, inflateRawSync } from 'node:zlib';
import { isExcelJsWorksheet, type ZipEntry } from '../../../shared/imports/zip-directory.js';

/**
 * A minimal zip writer for tests that need hostile workbooks: entries deflated (or stored) from
 * generated content, and sizes and CRCs in the headers that may lie. Entries are stored in the order given, their
 * sizes in the local headers (as Excel, LibreOffice and exceljs write them) or, with
 * `dataDescriptors`, in a data descriptor after each entry's data (general purpose bit 3, as a
 * writer that cannot seek back writes them: Apache POI's streaming output, zip-stream), and
 * with `zip64` in ZIP64 form besides. The descriptor may take either form APPNOTE allows: with
 * its signature or without (`descriptorSignature: false`), and the local header may hold the
 * real sizes as well (`localSizes`).
 *
 * Real writers store parts in many orders, the worksheet before the shared strings and styles
 * (Excel) or before everything but the document properties (openpyxl): a test of part order
 * should use these orders, and a small tail after the worksheet is the hard case for the reader
 * (xlsx-records.ts, endOnlyWhenRead), not an artefact of this builder.
 */
export interface ZipSource {
  readonly name: string;
  /** Content, as a generator of chunks (so 200 MB of it never exists at once). */
  readonly content: () => Iterable<Buffer>;
  /** Uncompressed size to write in the headers instead of the real one. */
  readonly declaredSize?: number;
  /**
   * Stored as it is (method 0) rather than deflated, as writers store parts that do not shrink:
   * the file then holds the entry's own bytes, and a byte damaged there reaches the reader
   * without any inflater noticing.
   */
  readonly stored?: boolean;
  /** CRC-32 to write in the headers (and descriptor) instead of the real one. */
  readonly declaredCrc?: number;
  /**
   * Only this many of the entry's compressed bytes are written, and the headers say so: a
   * deflate stream cut short (a copy broken off while it was written), its CRC and uncompressed
   * size still the whole entry's.
   */
  readonly compressedKept?: number;
}

function store(chunks: Iterable<Buffer>): { compressed: Buffer; size: number; crc: number } {
  const compressed = Buffer.concat([...chunks]);
  return { compressed, size: compressed.length, crc: crc32(compressed) };
}

async function deflate(chunks: Iterable<Buffer>): Promise<{ compressed: Buffer; size: number; crc: number }> {
  const deflater = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  deflater.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => {
    deflater.on('end', resolve);
    deflater.on('error', reject);
  });
  let size = 0;
  let crc = 0;
  for (const chunk of chunks) {
    size += chunk.length;
    crc = crc32(chunk, crc);
    if (!deflater.write(chunk)) await new Promise((r) => deflater.once('drain', r));
  }
  deflater.end();
  await done;
  return { compressed: Buffer.concat(out), size, crc };
}

export interface ZipOptions {
  /** Sizes and CRC in a data descriptor after each entry's data, zero in its local header (bit 3). */
  readonly dataDescriptors?: boolean;
  /**
   * ZIP64 as a streaming writer that cannot know an entry's size writes it (Python's zipfile to a
   * pipe, .NET's ZipArchive on an unseekable stream): a data descriptor per entry (bit 3) with
   * 8-byte sizes, the local header's sizes `0xffffffff` (`ones`) or 0 (`zero`) with a ZIP64
   * extra field of zeros; in the central directory, sizes and offset `0xffffffff` with the real
   * ones in its ZIP64 extra field, and a ZIP64 end of central directory.
   */
  readonly zip64?: 'ones' | 'zero';
  /**
   * With descriptors, whether each starts with its optional signature `PK\x07\x08` (APPNOTE
   * 4.3.9.3): without it, 12 bytes (20 for ZIP64) beginning with the CRC, as the specification
   * first had it (the signature was adopted later, and readers must take both). Default true.
   */
  readonly descriptorSignature?: boolean;
  /**
   * With descriptors, the local header holds the real CRC and sizes as well (with ZIP64, sizes
   * `0xffffffff` and the real ones in its extra field), bit 3 set all the same: APPNOTE allows
   * it, and the descriptor still follows the data.
   */
  readonly localSizes?: boolean;
}

export async function buildZip(sources: readonly ZipSource[], options: ZipOptions = {}): Promise<Buffer> {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  const zip64 = options.zip64;
  const descriptors = options.dataDescriptors === true || zip64 !== undefined;
  const signed = options.descriptorSignature !== false;
  const localSizes = descriptors && options.localSizes === true;
  // Bit 11: names in UTF-8; bit 3: sizes in a data descriptor.
  const flags = descriptors ? 0x0808 : 0x0800;
  // 4.5 is the version that reads ZIP64.
  const version = zip64 ? 45 : 20;
  const MAX32 = 0xffffffff;
  for (const source of sources) {
    const written = source.stored === true ? store(source.content()) : await deflate(source.content());
    const { size } = written;
    const compressed =
      source.compressedKept === undefined ? written.compressed : written.compressed.subarray(0, source.compressedKept);
    const crc = source.declaredCrc ?? written.crc;
    const method = source.stored === true ? 0 : 8;
    const declared = source.declaredSize ?? size;
    const name = Buffer.from(source.name, 'utf8');
    // The local header's ZIP64 extra: uncompressed and compressed size, unknown yet (zero)
    // unless written with `localSizes`.
    const localExtra = Buffer.alloc(zip64 ? 20 : 0);
    if (zip64) {
      localExtra.writeUInt16LE(0x0001, 0);
      localExtra.writeUInt16LE(16, 2);
      if (localSizes) {
        localExtra.writeBigUInt64LE(BigInt(declared), 4);
        localExtra.writeBigUInt64LE(BigInt(compressed.length), 12);
      }
    }
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(version, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    if (!descriptors || localSizes) local.writeUInt32LE(crc >>> 0, 14);
    if (zip64 === 'ones' || (zip64 && localSizes)) {
      local.writeUInt32LE(MAX32, 18);
      local.writeUInt32LE(MAX32, 22);
    } else if (!descriptors || localSizes) {
      local.writeUInt32LE(compressed.length, 18);
      local.writeUInt32LE(declared, 22);
    }
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(localExtra.length, 28);
    const descriptor = Buffer.alloc(descriptors ? (signed ? 4 : 0) + 4 + (zip64 ? 16 : 8) : 0);
    if (descriptors) {
      let d = 0;
      if (signed) d = descriptor.writeUInt32LE(0x08074b50, d);
      d = descriptor.writeUInt32LE(crc >>> 0, d);
      if (zip64) {
        d = descriptor.writeBigUInt64LE(BigInt(compressed.length), d);
        descriptor.writeBigUInt64LE(BigInt(declared), d);
      } else {
        d = descriptor.writeUInt32LE(compressed.length, d);
        descriptor.writeUInt32LE(declared, d);
      }
    }
    // The central directory's ZIP64 extra: uncompressed size, compressed size, offset.
    const centralExtra = Buffer.alloc(zip64 ? 28 : 0);
    if (zip64) {
      centralExtra.writeUInt16LE(0x0001, 0);
      centralExtra.writeUInt16LE(24, 2);
      centralExtra.writeBigUInt64LE(BigInt(declared), 4);
      centralExtra.writeBigUInt64LE(BigInt(compressed.length), 12);
      centralExtra.writeBigUInt64LE(BigInt(offset), 20);
    }
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(version, 4);
    central.writeUInt16LE(version, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(zip64 ? MAX32 : compressed.length, 20);
    central.writeUInt32LE(zip64 ? MAX32 : declared, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(centralExtra.length, 30);
    central.writeUInt32LE(zip64 ? MAX32 : offset, 42);
    locals.push(local, name, localExtra, compressed, descriptor);
    centrals.push(central, name, centralExtra);
    offset += local.length + name.length + localExtra.length + compressed.length + descriptor.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  if (!zip64) {
    end.writeUInt16LE(sources.length, 8);
    end.writeUInt16LE(sources.length, 10);
    end.writeUInt32LE(directory.length, 12);
    end.writeUInt32LE(offset, 16);
    return Buffer.concat([...locals, directory, end]);
  }
  // The counts, size and offset are in the ZIP64 end of central directory, found by its locator.
  end.writeUInt16LE(0xffff, 8);
  end.writeUInt16LE(0xffff, 10);
  end.writeUInt32LE(MAX32, 12);
  end.writeUInt32LE(MAX32, 16);
  const zip64End = Buffer.alloc(56);
  zip64End.writeUInt32LE(0x06064b50, 0);
  zip64End.writeBigUInt64LE(44n, 4);
  zip64End.writeUInt16LE(45, 12);
  zip64End.writeUInt16LE(45, 14);
  zip64End.writeBigUInt64LE(BigInt(sources.length), 24);
  zip64End.writeBigUInt64LE(BigInt(sources.length), 32);
  zip64End.writeBigUInt64LE(BigInt(directory.length), 40);
  zip64End.writeBigUInt64LE(BigInt(offset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(offset + directory.length), 8);
  locator.writeUInt32LE(1, 16);
  return Buffer.concat([...locals, directory, zip64End, locator, end]);
}

/**
 * The entries of a zip written with sizes in its local headers (Excel's, exceljs's), as sources
 * for {@link buildZip}: the same workbook, to be written again another way.
 */
export function sourcesOf(zip: Buffer): ZipSource[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(end + 10);
  let p = zip.readUInt32LE(end + 16);
  const out: ZipSource[] = [];
  for (let k = 0; k < count; k++) {
    const method = zip.readUInt16LE(p + 10);
    const compressedSize = zip.readUInt32LE(p + 20);
    const nameLength = zip.readUInt16LE(p + 28);
    const name = zip.toString('utf8', p + 46, p + 46 + nameLength);
    const local = zip.readUInt32LE(p + 42);
    const data = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const stored = zip.subarray(data, data + compressedSize);
    const content = method === 8 ? inflateRawSync(stored) : Buffer.from(stored);
    out.push({ name, content: () => [content] });
    p += 46 + nameLength + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
  }
  return out;
}

const text = (s: string) => () => [Buffer.from(s, 'utf8')];

/** The parts of a minimal workbook, around a worksheet of the caller's making. */
export function workbookSources(
  sheet: () => Iterable<Buffer>,
  declaredSheetSize?: number,
  sharedStrings?: { content: () => Iterable<Buffer>; declaredSize?: number },
): ZipSource[] {
  return [
    {
      name: '[Content_Types].xml',
      content: text(
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
          '<Default Extension="xml" ContentType="application/xml"/>' +
          '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>' +
          '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>' +
          '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' +
          '</Types>',
      ),
    },
    {
      name: '_rels/.rels',
      content: text(
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
          '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>' +
          '</Relationships>',
      ),
    },
    {
      name: 'xl/workbook.xml',
      content: text(
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">' +
          '<sheets><sheet name="Extract" sheetId="1" r:id="rId1"/></sheets></workbook>',
      ),
    },
    {
      name: 'xl/_rels/workbook.xml.rels',
      content: text(
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
          '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>' +
          '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>' +
          '</Relationships>',
      ),
    },
    ...(sharedStrings === undefined ? [] : [{ name: 'xl/sharedStrings.xml', ...sharedStrings }]),
    {
      name: 'xl/worksheets/sheet1.xml',
      content: sheet,
      ...(declaredSheetSize === undefined ? {} : { declaredSize: declaredSheetSize }),
    },
  ];
}

/** A worksheet of a header and then `rows` identical rows of inline strings: compresses without limit. */
export function* repetitiveSheet(header: readonly string[], row: readonly string[], rows: number): Iterable<Buffer> {
  const cells = (values: readonly string[], r: number) =>
    values.map((v, i) => `<c r="${String.fromCharCode(65 + i)}${r}" t="inlineStr"><is><t>${v}</t></is></c>`).join('');
  yield Buffer.from(
    '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>' +
      `<row r="1">${cells(header, 1)}</row>`,
  );
  const block: string[] = [];
  for (let r = 2; r < rows + 2; r++) {
    block.push(`<row r="${r}">${cells(row, r)}</row>`);
    if (block.length === 2000) {
      yield Buffer.from(block.join(''));
      block.length = 0;
    }
  }
  yield Buffer.from(block.join('') + '</sheetData></worksheet>');
}

/** A shared-strings part of `count` strings, the last `padMegabytes` MB of spaces inside one string. */
export function* sharedStringsPart(strings: readonly string[], padMegabytes = 0): Iterable<Buffer> {
  yield Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="${strings.length + 1}" uniqueCount="${strings.length + 1}">` +
      strings.map((s) => `<si><t>${s}</t></si>`).join('') +
      '<si><t xml:space="preserve">',
  );
  const spaces = Buffer.alloc(1024 * 1024, 0x20);
  for (let i = 0; i < padMegabytes; i++) yield spaces;
  yield Buffer.from('</t></si></sst>');
}

/**
 * The worksheet of a workbook read straight through xlsxRecords, as the tests of the read name it:
 * the part exceljs reads as a worksheet by its name. The import finds it through the workbook's
 * relationships instead (zip-directory.ts, findWorksheet).
 */
export function sheetOf(entries: readonly ZipEntry[]): string {
  return entries.find((e) => isExcelJsWorksheet(e.name))?.name ?? 'xl/worksheets/sheet1.xml';
}
