import { mkdtempSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModuleWorker } from '../../../shared/threads/module-worker.js';
import { normaliseName } from '../../../shared/domain/normalise.js';
import type { ExtractRecord } from '../../../shared/imports/extract-records.js';
import { useTempDirForThisThread, xlsxRecords } from '../../../shared/imports/xlsx-records.js';
import { DEFAULT_ZIP_LIMITS, readZipDirectory } from '../../../shared/imports/zip-directory.js';
import { createImportHarness, storedRecords, type ImportHarness } from './import-harness.js';
import { buildZip, workbookSources, type ZipSource, sheetOf } from './zip-builder.js';

/**
 * Names written in other letters than English's (Zoë, José, Łukasz, 山田), read from workbooks
 * large enough that exceljs is handed a part's bytes in several pieces: 16 KiB as they inflate,
 * 64 KiB as a worksheet is read back from the temporary copy exceljs makes of one stored before
 * the shared strings (Excel's order). A piece may end inside a character's UTF-8 bytes. exceljs
 * decoded each piece on its own (lib/utils/parse-sax.js, 4.4.0), so the two halves of such a
 * character became two U+FFFD replacement characters: `Zoë` loaded as `Zo��`, with no error,
 * and matching then missed that person (found by a review). Every name must load as written;
 * bytes that are not UTF-8 at all refuse the file, as they refuse a CSV (`invalid-utf8`),
 * rather than load U+FFFD in a name.
 */

const MDI = 'multiple-disadvantage-indicators';
const NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"';

/** Given names and family names as councils hold them: two, three and four bytes a character. */
const GIVEN = [
  'Zoë',
  'José',
  'Łukasz',
  'Siân',
  'Seán',
  'Ngọc Ánh',
  'Ayşe',
  'Björn',
  'Renée',
  'Małgorzata',
  'Jürgen',
  'Ольга',
  'Αθηνά',
  'Ștefan',
  'Đorđe',
  'محمد',
  'Þórunn',
  'Chloë',
  'Grzegorz',
  'Anaïs',
  '花子',
  'Øyvind',
  'Dũng',
  'Ýr',
];
const FAMILY = [
  'Núñez',
  'Łukasiewicz',
  'Żółkiewska',
  'Müller',
  'Öztürk',
  'Nguyễn',
  'Ó Súilleabháin',
  'Kovačević',
  'Dvořák',
  'Иванова',
  'Παπαδοπούλου',
  '山田',
  '𠮷野',
  '髙橋',
  'Brontë',
  'García-Peña',
  'Şahin',
  'Ćosić',
  'Jędrzejczyk',
  'Conceição',
  'Ní Bhriain',
  'Đặng',
  'Āboliņa',
  'Håkansson',
];

/** `rows` people, each a given name and a family name (every pair of them in turn). */
function people(rows: number): [string, string][] {
  return Array.from({ length: rows }, (_, r) => [
    GIVEN[r % GIVEN.length]!,
    FAMILY[Math.floor(r / GIVEN.length) % FAMILY.length]!,
  ]);
}

/**
 * How many of the pieces `size` bytes long that `bytes` is handed over in end inside a
 * character: the byte after the end is a UTF-8 continuation byte (10xxxxxx).
 */
function piecesEndingInACharacter(bytes: Buffer, size: number): number {
  let split = 0;
  for (let at = size; at < bytes.length; at += size) if ((bytes[at]! & 0xc0) === 0x80) split++;
  return split;
}

/** exceljs's pieces: inflated bytes as zlib hands them on, and the temporary copy as fs reads it back. */
const INFLATED_PIECE = 16 * 1024;
const COPY_PIECE = 64 * 1024;

const XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>';
const column = (c: number) => String.fromCharCode(65 + c);
const inline = (ref: string, text: string) => `<c r="${ref}" t="inlineStr"><is><t>${text}</t></is></c>`;

const HEADER = ['firstName', 'lastName'];

/**
 * `head`, `items` and `tail` as bytes, with spaces between items where a piece of
 * {@link INFLATED_PIECE} bytes ends (layout, which no cell holds, as pretty-printed XML has it)
 * so that it ends after the first byte of the item's first character outside ASCII, wherever
 * that can be done. Pieces of 64 KiB end where pieces of 16 KiB do.
 */
function splitInCharacters(head: string, items: readonly string[], tail: string): Buffer {
  const out: Buffer[] = [Buffer.from(head)];
  let length = out[0]!.length;
  for (const item of items) {
    const bytes = Buffer.from(item);
    const boundary = (Math.floor(length / INFLATED_PIECE) + 1) * INFLATED_PIECE;
    const first = bytes.findIndex((b) => b >= 0x80);
    const pad = boundary - length - first - 1;
    if (length + bytes.length > boundary && first >= 0 && pad >= 0) {
      out.push(Buffer.alloc(pad, 0x20));
      length += pad;
    }
    out.push(bytes);
    length += bytes.length;
  }
  out.push(Buffer.from(tail));
  return Buffer.concat(out);
}

/** A worksheet of `header` and `names`, each cell an inline string. */
function inlineSheet(names: readonly (readonly string[])[], header = HEADER): Buffer {
  const rows = [header, ...names].map(
    (cells, r) => `<row r="${r + 1}">${cells.map((v, c) => inline(`${column(c)}${r + 1}`, v)).join('')}</row>`,
  );
  return splitInCharacters(`${XML}<worksheet ${NS}><sheetData>`, rows, '</sheetData></worksheet>');
}

/**
 * The header and `names` as shared strings, one string a cell (a writer need not share a string
 * between cells): the shared strings part, and the worksheet of indices into it.
 */
function sharedStringCells(names: readonly (readonly string[])[], header = HEADER): { sheet: Buffer; shared: Buffer } {
  const cells = [header, ...names];
  const strings = cells.flat();
  const shared = splitInCharacters(
    `${XML}<sst ${NS} count="${strings.length}" uniqueCount="${strings.length}">`,
    strings.map((s) => `<si><t>${s}</t></si>`),
    '</sst>',
  );
  let index = 0;
  const rows = cells.map(
    (row, r) =>
      `<row r="${r + 1}">${row.map((_, c) => `<c r="${column(c)}${r + 1}" t="s"><v>${index++}</v></c>`).join('')}</row>`,
  );
  const sheet = Buffer.from(`${XML}<worksheet ${NS}><sheetData>${rows.join('')}</sheetData></worksheet>`);
  return { sheet, shared };
}

const EMPTY_SHARED_STRINGS = Buffer.from(`${XML}<sst ${NS} count="0" uniqueCount="0"></sst>`);

/**
 * A minimal workbook around `sheet`, with `shared` as its shared strings stored before the
 * worksheet (read as it inflates) or after it (Excel's order: copied aside and read back).
 */
function workbook(sheet: Buffer, shared: Buffer, order: 'shared-strings-first' | 'worksheet-first'): ZipSource[] {
  const sources = workbookSources(() => [sheet], undefined, { content: () => [shared] });
  const strings = sources.filter((s) => s.name === 'xl/sharedStrings.xml');
  const rest = sources.filter((s) => s.name !== 'xl/sharedStrings.xml');
  return order === 'shared-strings-first' ? [...strings, ...rest] : [...rest, ...strings];
}

async function read(file: Buffer): Promise<ExtractRecord[]> {
  const entries = await readZipDirectory(async (offset, length) => file.subarray(offset, offset + length), file.length);
  const out: ExtractRecord[] = [];
  for await (const batch of xlsxRecords(Readable.from([file]), {
    entries,
    zipLimits: DEFAULT_ZIP_LIMITS,
    worksheet: sheetOf(entries),
  })) {
    out.push(...batch);
  }
  return out;
}

const reasonOf = (file: Buffer) =>
  read(file).then(
    () => 'read',
    (err: unknown) => (err as { reason?: unknown }).reason,
  );

/** The names read that are not the names written, by row number (no more than a few, to keep a failure short). */
function misread(records: readonly ExtractRecord[], names: readonly (readonly string[])[]): Record<number, string[]> {
  const wrong: Record<number, string[]> = {};
  records.slice(1).forEach((record, i) => {
    const written = names[i] ?? [];
    if (Object.keys(wrong).length < 5 && JSON.stringify(record.cells) !== JSON.stringify(written))
      wrong[record.row] = [...record.cells];
  });
  return wrong;
}

describe('names in other letters than English’s, in a workbook read in pieces', () => {
  beforeAll(() => {
    useTempDirForThisThread(mkdtempSync(join(tmpdir(), 'xlsx-text-decoding-')));
  });

  it('reads every name in the shared strings as written, wherever a 16 KiB piece ends', async () => {
    const names = people(3000);
    const { sheet, shared } = sharedStringCells(names);
    // The premise: pieces of the shared strings end inside characters.
    expect(piecesEndingInACharacter(shared, INFLATED_PIECE)).toBeGreaterThan(0);
    for (const order of ['worksheet-first', 'shared-strings-first'] as const) {
      const records = await read(await buildZip(workbook(sheet, shared, order)));
      expect(records, order).toHaveLength(names.length + 1);
      expect(misread(records, names), order).toEqual({});
    }
  });

  it('reads every name in inline strings as written, the worksheet read as it inflates', async () => {
    const names = people(3000);
    const sheet = inlineSheet(names);
    expect(piecesEndingInACharacter(sheet, INFLATED_PIECE)).toBeGreaterThan(0);
    const records = await read(await buildZip(workbook(sheet, EMPTY_SHARED_STRINGS, 'shared-strings-first')));
    expect(records).toHaveLength(names.length + 1);
    expect(misread(records, names)).toEqual({});
  });

  it('reads every name in inline strings as written, the worksheet read back from its temporary copy', async () => {
    const names = people(4000);
    const sheet = inlineSheet(names);
    expect(piecesEndingInACharacter(sheet, COPY_PIECE)).toBeGreaterThan(0);
    // Stored before the shared strings, or with none at all: either way copied aside first.
    for (const sources of [workbook(sheet, EMPTY_SHARED_STRINGS, 'worksheet-first'), workbookSources(() => [sheet])]) {
      const records = await read(await buildZip(sources));
      expect(records).toHaveLength(names.length + 1);
      expect(misread(records, names)).toEqual({});
    }
  });
});

describe('a workbook part that is not UTF-8', () => {
  beforeAll(() => {
    useTempDirForThisThread(mkdtempSync(join(tmpdir(), 'xlsx-not-utf8-')));
  });

  /** `Zoë` as a writer that wrote Latin-1 while the XML declares UTF-8 writes it: `ë` one byte, 0xEB. */
  const latin1 = (xml: string) => Buffer.from(xml, 'latin1');

  it('refuses a workbook whose shared strings are not UTF-8, rather than load U+FFFD in a name', async () => {
    const { sheet, shared } = sharedStringCells([['Zoë', 'Brontë']]);
    const notUtf8 = latin1(shared.toString('utf8'));
    for (const order of ['worksheet-first', 'shared-strings-first'] as const)
      expect(await reasonOf(await buildZip(workbook(sheet, notUtf8, order))), order).toBe('invalid-utf8');
  });

  it('refuses a workbook whose worksheet is not UTF-8, read as it inflates or from its copy', async () => {
    const sheet = latin1(inlineSheet([['Zoë', 'Brontë']]).toString('utf8'));
    for (const order of ['shared-strings-first', 'worksheet-first'] as const)
      expect(await reasonOf(await buildZip(workbook(sheet, EMPTY_SHARED_STRINGS, order))), order).toBe('invalid-utf8');
  });

  it('refuses a worksheet that ends inside a character', async () => {
    // The last character's first byte alone, after the root element: a part cut off mid-name.
    const sheet = Buffer.concat([inlineSheet([['Zoë', 'Brontë']]), Buffer.from([0xc3])]);
    expect(await reasonOf(await buildZip(workbook(sheet, EMPTY_SHARED_STRINGS, 'shared-strings-first')))).toBe(
      'invalid-utf8',
    );
  });

  it('refuses a copy damaged into bytes that are not UTF-8 as damaged, for its CRC-32, not as not UTF-8', async () => {
    // A byte of a name early in a worksheet read as it inflates, changed before it was deflated
    // (the zip's CRC-32 is the worksheet's as written): exceljs meets the bad byte 16 KiB pieces
    // before the entry ends, and the entry's check only comes at its end.
    const sheet = inlineSheet(people(4000));
    const damaged = Buffer.from(sheet);
    damaged[damaged.indexOf('<t>', 20000) + 3] = 0xff;
    const sources = workbook(damaged, EMPTY_SHARED_STRINGS, 'shared-strings-first').map((s) =>
      s.name === 'xl/worksheets/sheet1.xml' ? { ...s, declaredCrc: crc32(sheet) } : s,
    );
    expect(await reasonOf(await buildZip(sources))).toBe('xlsx-corrupted');
  });

  it('still reads a part that begins with a byte order mark', async () => {
    const sheet = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), inlineSheet([['Zoë', 'Brontë']])]);
    const records = await read(await buildZip(workbook(sheet, EMPTY_SHARED_STRINGS, 'shared-strings-first')));
    expect(records.map((r) => r.cells)).toEqual([
      ['firstName', 'lastName'],
      ['Zoë', 'Brontë'],
    ]);
  });
});

describe('a thread that loaded exceljs before it was readied to read workbooks', () => {
  it('is refused, rather than read with exceljs decoding piece by piece', async () => {
    const worker = startModuleWorker(new URL('./exceljs-loaded-first.worker.ts', import.meta.url));
    try {
      const [outcome] = (await once(worker, 'message')) as [{ readied: string; read: string }];
      expect(outcome).toEqual({
        readied: 'exceljs was loaded before its XML decoding was made whole',
        read: 'A workbook is read only on a row worker',
      });
    } finally {
      await worker.terminate();
    }
  });
});

describe('names in other letters than English’s, imported from a workbook on a row worker', () => {
  let h: ImportHarness;
  beforeAll(async () => {
    h = await createImportHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('stores every name as written, from shared strings and from a worksheet read back from its copy', async () => {
    const names = people(3000).map(([given, family], r) => [
      given,
      family,
      `19${String(50 + (r % 50))}-0${1 + (r % 9)}-1${r % 10}`,
    ]);
    const header = ['firstName', 'lastName', 'dateOfBirth'];
    const { sheet, shared } = sharedStringCells(names, header);
    const inlineStrings = inlineSheet(names, header);
    expect(piecesEndingInACharacter(shared, INFLATED_PIECE)).toBeGreaterThan(0);
    expect(piecesEndingInACharacter(inlineStrings, COPY_PIECE)).toBeGreaterThan(0);
    const bySharedStrings = await buildZip(workbook(sheet, shared, 'worksheet-first'));
    const byInlineStrings = await buildZip(workbook(inlineStrings, EMPTY_SHARED_STRINGS, 'worksheet-first'));
    const stored = async (party: string) =>
      (await storedRecords(h.store, party, MDI)).map((r) => [r.given_name, r.family_name, r.date_of_birth]);
    // Names are stored as matching compares them (upper case, accents folded): a U+FFFD stays.
    const written = names.map(([given, family, born]) => [normaliseName(given!), normaliseName(family!), born]);

    expect(await h.importFile(`la-housing/${MDI}/names-shared.xlsx`, bySharedStrings)).toMatchObject({
      outcome: 'loaded',
      loaded: names.length,
    });
    expect(await stored('la-housing')).toEqual(written);
    expect(await h.importFile(`la-education/${MDI}/names-inline.xlsx`, byInlineStrings)).toMatchObject({
      outcome: 'loaded',
      loaded: names.length,
    });
    expect(await stored('la-education')).toEqual(written);
  });
});
