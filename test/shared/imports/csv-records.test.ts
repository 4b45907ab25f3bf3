import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvRecords, CsvTokenizer, StrictUtf8Decoder } from '../../../shared/imports/csv-records.js';
import type { ExtractRecord } from '../../../shared/imports/extract-records.js';
import { FileRejection } from '../../../shared/imports/reasons.js';

async function read(chunks: readonly (string | Buffer)[], delimiter = ','): Promise<ExtractRecord[]> {
  const out: ExtractRecord[] = [];
  for await (const batch of csvRecords(
    (async function* () {
      for (const c of chunks) yield typeof c === 'string' ? Buffer.from(c, 'utf8') : c;
    })(),
    delimiter,
  ))
    out.push(...batch);
  return out;
}

const cellsOf = (records: ExtractRecord[]) => records.map((r) => r.cells);

async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof FileRejection) return err.reason;
    throw err;
  }
  return 'none';
}

describe('CSV reader', () => {
  it('reads RFC 4180: quoted delimiters, doubled quotes, CRLF, line breaks inside quotes, no final line break', async () => {
    const records = await read(['a,b,c\r\n"1,5","say ""hi""","line\r\nbreak"\r\n', 'x,,z']);
    expect(cellsOf(records)).toEqual([
      ['a', 'b', 'c'],
      ['1,5', 'say "hi"', 'line\r\nbreak'],
      ['x', '', 'z'],
    ]);
  });

  it('skips blank lines but keeps spreadsheet row numbers (header = row 1)', async () => {
    const records = await read(['h1,h2\n\nv1,v2\r\n\r\nv3,v4\n\n']);
    expect(records.map((r) => [r.row, r.cells])).toEqual([
      [1, ['h1', 'h2']],
      [3, ['v1', 'v2']],
      [5, ['v3', 'v4']],
    ]);
  });

  it('drops a byte-order mark and decodes characters split across chunks', async () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('name\nZoë Brontë\n', 'utf8')]);
    const chunks = Array.from(bytes).map((b) => Buffer.from([b]));
    expect(cellsOf(await read(chunks))).toEqual([['name'], ['Zoë Brontë']]);
  });

  it('drops every byte-order mark the file starts with, before a quoted header too, however the bytes are chunked', async () => {
    // A tool that adds a byte-order mark to text that has one writes two. The second was read as
    // text before the header's opening quote, so `"name"` was read unquoted, quotes and all, and
    // the file refused as column-not-in-agreement (an unquoted header loaded: its cell is trimmed).
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const text = Buffer.from('"name","city"\n"Ann","\uFEFFLeeds"\n', 'utf8');
    for (const marks of [2, 3]) {
      const bytes = Buffer.concat([...Array<Buffer>(marks).fill(bom), text]);
      for (const chunks of [[bytes], Array.from(bytes).map((b) => Buffer.from([b]))])
        expect([marks, chunks.length, cellsOf(await read(chunks))]).toEqual([
          marks,
          chunks.length,
          // One inside the file is a character of its cell, as before.
          [
            ['name', 'city'],
            ['Ann', '\uFEFFLeeds'],
          ],
        ]);
    }
  });

  it('refuses invalid UTF-8, NUL bytes, an open quote at the end and text after a closing quote', async () => {
    expect(await rejection(read([Buffer.from('a\nRen\xe9e\n', 'latin1')]))).toBe('invalid-utf8');
    expect(await rejection(read([Buffer.from([0x61, 0x0a, 0xe2, 0x82])]))).toBe('invalid-utf8');
    expect(await rejection(read(['a\nb\0c\n']))).toBe('nul-byte');
    expect(await rejection(read(['a,b\n1,"open']))).toBe('unterminated-quote');
    expect(await rejection(read(['a,b\n"1"x,2\n']))).toBe('malformed-quote');
    // A lone CR after a closing quote: the next quote would otherwise read as an escaped one and
    // join two fields into one value.
    expect(await rejection(read(['a\n"Smith"\r"Jones"\n']))).toBe('malformed-quote');
    expect(await rejection(read(['a\n"Smith"\r', '"Jones"\n']))).toBe('malformed-quote');
  });

  it('refuses UTF-16 text (Excel’s “Unicode Text”) as utf16-encoding, with a byte-order mark or without, however chunked', async () => {
    const text = 'firstName\tlastName\r\nAnn\tLee\r\n';
    const le = Buffer.from(text, 'utf16le');
    const be = Buffer.from(le).swap16();
    // The last three after a UTF-8 byte-order mark, or two, as a tool that adds one writes it:
    // refused as nul-byte before.
    const utf8Mark = Buffer.from([0xef, 0xbb, 0xbf]);
    for (const bytes of [
      Buffer.concat([Buffer.from([0xff, 0xfe]), le]),
      Buffer.concat([Buffer.from([0xfe, 0xff]), be]),
      le,
      be,
      Buffer.concat([utf8Mark, Buffer.from([0xff, 0xfe]), le]),
      Buffer.concat([utf8Mark, le]),
      Buffer.concat([utf8Mark, utf8Mark, be]),
    ]) {
      for (const chunks of [[bytes], Array.from(bytes).map((b) => Buffer.from([b]))])
        expect(await rejection(read(chunks, '\t'))).toBe('utf16-encoding');
    }
  });

  it('refuses a workbook or a PDF under a text name as what it is, told by its first bytes however chunked', async () => {
    const workbook = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(40, 0)]);
    const legacyWorkbook = Buffer.concat([
      Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]),
      Buffer.alloc(40),
    ]);
    const pdf = Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1');
    for (const [bytes, reason] of [
      [workbook, 'workbook-named-as-text'],
      [legacyWorkbook, 'workbook-named-as-text'],
      [pdf, 'pdf-named-as-text'],
      // A file no longer than a signature is looked at as far as it goes.
      [Buffer.from('PK\x03\x04', 'latin1'), 'workbook-named-as-text'],
    ] as const) {
      expect(await rejection(read([bytes]))).toBe(reason);
      expect(await rejection(read(Array.from(bytes).map((b) => Buffer.from([b]))))).toBe(reason);
    }
    // Text that starts alike is read as text.
    expect(cellsOf(await read(['PK,%PDF\nPK,%PDF-\n']))).toEqual([
      ['PK', '%PDF'],
      ['PK', '%PDF-'],
    ]);
  });

  it('refuses a quoted file delimited otherwise than it is read as wrong-delimiter, not malformed-quote', async () => {
    // The header quoted: what follows its first closing quote is another common delimiter.
    expect(await rejection(read(['"a";"b"\n"1";"2"\n']))).toBe('wrong-delimiter');
    expect(await rejection(read(['"a","b"\r\n"1","2"\r\n'], '\t'))).toBe('wrong-delimiter');
    expect(await rejection(read(['"a"|"b"\n'], ';'))).toBe('wrong-delimiter');
    expect(await rejection(read(['\n\n"a";"b"\n'], ','))).toBe('wrong-delimiter');
    // The header bare, one cell holding that delimiter, and a quoted value after it, however chunked.
    expect(await rejection(read(['a;b\n"1";"2"\n']))).toBe('wrong-delimiter');
    expect(await rejection(read(['a;b\n', '"1";', '"2"\n']))).toBe('wrong-delimiter');
    // Still malformed: text after a closing quote that is no delimiter, or another delimiter than
    // the one-cell header holds, or a header of the file's own columns.
    expect(await rejection(read(['"a"x,"b"\n']))).toBe('malformed-quote');
    expect(await rejection(read(['a;b\n"1"|"2"\n']))).toBe('malformed-quote');
    expect(await rejection(read(['a,b\n"1";"2"\n']))).toBe('malformed-quote');
  });

  it('refuses a file whose lines end in CR alone (classic Mac) as such, however the bytes are chunked', async () => {
    // Read by LF, such a file is one header line of every value: the header's complaints
    // (column-not-in-agreement, empty-column-name) would say nothing of what is wrong.
    const mac = 'firstName,lastName\rAnn,Smith\rBen,Jones\r';
    expect(await rejection(read([mac]))).toBe('line-endings-cr-only');
    expect(await rejection(read([...mac]))).toBe('line-endings-cr-only');
    expect(await rejection(read(['firstName,lastName\r', 'Ann,Smith\r']))).toBe('line-endings-cr-only');
    expect(await rejection(read(['name\rAnn\rBen\r']))).toBe('line-endings-cr-only');
    expect(await rejection(read(['"a","b"\r"1","2"\r']))).toBe('line-endings-cr-only');
    expect(await rejection(read(['"a","b"\r', '"1","2"\r']))).toBe('line-endings-cr-only');
    // CRLF, however split, and a CR inside a quoted header cell are not CR line ends.
    expect(cellsOf(await read(['a,b\r', '\n1,2\r\n']))).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
    expect(cellsOf(await read(['"a\rb",c\r\n1,2\r\n']))).toEqual([
      ['a\rb', 'c'],
      ['1', '2'],
    ]);
    // A stray CR in a data row of an LF file is a character of its cell, as before.
    expect(cellsOf(await read(['a,b\n1\r2,3\n']))).toEqual([
      ['a', 'b'],
      ['1\r2', '3'],
    ]);
  });

  it('ends a quoted field at CRLF, even when the CR and LF arrive in different chunks', async () => {
    expect(cellsOf(await read(['a,b\r\n"1","2"\r', '\n"3","4"\r']))).toEqual([
      ['a', 'b'],
      ['1', '2'],
      ['3', '4'],
    ]);
  });

  it('keeps a quote inside an unquoted field as a character', async () => {
    expect(cellsOf(await read(['a,b\n12" screen,O"Neil\n']))).toEqual([
      ['a', 'b'],
      ['12" screen', 'O"Neil'],
    ]);
  });

  it('reads other delimiters', async () => {
    expect(cellsOf(await read(['a;b\n"1;2";3\n'], ';'))).toEqual([
      ['a', 'b'],
      ['1;2', '3'],
    ]);
    expect(cellsOf(await read(['a\tb\n1\t2\n'], '\t'))).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });

  it('refuses a cell over the cap and a record over the cap without holding them', async () => {
    const tokenizer = new CsvTokenizer(',', { maxCellChars: 10, maxRecordChars: 100, maxCells: 4 });
    const out: ExtractRecord[] = [];
    tokenizer.feed(
      'a,b\nshort,' + 'x'.repeat(11) + '\n' + 'y'.repeat(60) + ',' + 'z'.repeat(60) + '\n1,2,3,4,5\n',
      out,
    );
    tokenizer.end(out);
    expect(out.map((r) => ({ row: r.row, problem: r.problem, cellProblems: r.cellProblems }))).toEqual([
      { row: 1, problem: undefined, cellProblems: undefined },
      { row: 2, problem: undefined, cellProblems: [{ index: 1, reason: 'value-too-long' }] },
      { row: 3, problem: 'row-too-long', cellProblems: undefined },
      { row: 4, problem: 'column-count', cellProblems: undefined },
    ]);
    expect(out[1]!.cells).toEqual(['short', '']);
  });

  it('streams a 100 MB line in flat memory', async () => {
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const records = await read([]);
    expect(records).toEqual([]);
    const out: ExtractRecord[] = [];
    for await (const batch of csvRecords(
      (async function* () {
        yield Buffer.from('h\n');
        for (let i = 0; i < 1600; i++) {
          yield chunk;
          if (i % 100 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
        }
        yield Buffer.from('\nafter\n');
      })(),
      ',',
    ))
      out.push(...batch);
    expect(out.map((r) => r.problem ?? r.cells[0])).toEqual(['h', 'row-too-long', 'after']);
    expect(peak - before).toBeLessThan(32 * 1024 * 1024);
  });

  const cell = fc.string({
    unit: fc.constantFrom('a', 'Z', 'é', ' ', ',', '"', '\n', '\r\n', ';', '1', '😀'),
    maxLength: 12,
  });
  const table = fc.array(fc.array(cell, { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 12 });

  function serialise(rows: string[][]): string {
    return (
      rows
        .map((r) => r.map((c) => (/[",\r\n]/.test(c) || c === '' ? `"${c.replaceAll('"', '""')}"` : c)).join(','))
        .join('\r\n') + '\r\n'
    );
  }

  it('gives back any table written as RFC 4180, however the bytes are chunked', async () => {
    await fc.assert(
      fc.asyncProperty(table, fc.array(fc.nat(), { maxLength: 6 }), async (rows, cuts) => {
        const bytes = Buffer.from(serialise(rows), 'utf8');
        const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...at].map((start, i) => bytes.subarray(start, at[i] ?? bytes.length));
        expect(cellsOf(await read(chunks))).toEqual(rows);
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with csv-parse: same records, refusing only what csv-parse refuses when strict', async () => {
    // One line ending a text: csv-parse takes the first it meets as the only one.
    const loose = fc.tuple(
      fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', ' ', 'é'), maxLength: 40 }),
      fc.constantFrom('\n', '\r\n'),
    );
    const csvParse = (text: string, relax: boolean): string[][] | 'error' => {
      try {
        return parse(text, {
          relax_quotes: relax,
          relax_column_count: true,
          skip_empty_lines: true,
          bom: true,
        }) as string[][];
      } catch {
        return 'error';
      }
    };
    await fc.assert(
      fc.asyncProperty(loose, async ([lf, eol]) => {
        const text = lf.replaceAll('\n', eol);
        let ours: string[][] | 'error';
        try {
          ours = cellsOf(await read([text]));
        } catch (err) {
          if (!(err instanceof FileRejection)) throw err;
          ours = 'error';
        }
        const relaxed = csvParse(text, true);
        if (ours === 'error') expect(csvParse(text, false)).toBe('error');
        else expect(ours).toEqual(relaxed);
        if (relaxed === 'error') expect(ours).toBe('error');
      }),
      { numRuns: 1000 },
    );
  });

  it('decodes strictly with StrictUtf8Decoder', () => {
    const d = new StrictUtf8Decoder();
    // The first eight bytes are held until they are in (they may be another kind of file's
    // signature, or UTF-16 after a UTF-8 byte-order mark).
    expect(d.decode(Buffer.from([0xef, 0xbb, 0xbf, 0x61]))).toBe('');
    expect(d.decode(Buffer.from([0x62, 0x63, 0x64, 0x65]))).toBe('abcde');
    expect(d.decode(Buffer.from([0xc3]))).toBe('');
    expect(d.decode(Buffer.from([0xa9]))).toBe('é');
    const invalid = new StrictUtf8Decoder();
    expect(() => invalid.decode(Buffer.from([0xff, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67]))).toThrow(FileRejection);
    const lone = new StrictUtf8Decoder();
    expect(lone.decode(Buffer.from([0xff]))).toBe('');
    expect(() => lone.end()).toThrow(FileRejection);
  });
});
