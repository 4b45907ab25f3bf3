import {
  DEFAULT_READER_LIMITS,
  type ExtractRecord,
  type ExtractRecords,
  type ReaderLimits,
} from './extract-records.js';
import { COMMON_DELIMITERS, namedWidth } from './header.js';
import { FileRejection, type FileReason, type RowReason } from './reasons.js';

/**
 * A streaming RFC 4180 reader for partner extracts: UTF-8 with or without a byte-order mark,
 * records ended by CRLF or LF, fields optionally quoted with `"` and `""` for a quote inside.
 *
 * Written here rather than taken from csv-parse because the import's memory and failure rules
 * need to live inside the tokenizer: a cell is held only up to its cap (a 10 MB line costs 64
 * KiB, not 10 MB), bytes are decoded with a fatal UTF-8 decoder, a NUL byte refuses the file,
 * and nothing is ever re-scanned. It is also several times faster on this workload. Its output
 * is held to csv-parse's by a property test (test/shared/imports/csv-records.test.ts).
 *
 * Leniencies, each what csv-parse does with `relax_quotes`: a quote inside an unquoted field is
 * kept as a character. Strictness: anything but a delimiter or line end after a closing quote
 * refuses the file (`malformed-quote`), as does a quote left open at the end (`unterminated-quote`,
 * typically a truncated upload). Blank lines are skipped but keep their row number.
 *
 * Lines ended by CR alone (classic Mac OS, and old exports from Excel for Mac) refuse the file
 * (`line-endings-cr-only`) rather than being read: read by LF, such a file is one header line of
 * every value, which the header check would refuse with complaints about its columns that say
 * nothing of what is wrong; and taking a lone CR for a line end throughout would split the cells
 * of LF files that hold a stray one. It is told by the header alone: a CR there, outside quotes,
 * followed by anything but LF (or a delimiter) is not the end of a CRLF. Saving the file again as
 * "CSV UTF-8" mends it. A stray CR in a later line of an LF file stays a character of its cell.
 *
 * A closing quote followed by another common delimiter (`,` `;` tab `|`) than the one the file is
 * read with refuses it as `wrong-delimiter`, not `malformed-quote`, when the file is delimited
 * by that character: the quote closes a header cell (`"lastName";"firstName"` read with a comma),
 * or the header, bare, is one cell holding it (`lastName;firstName` then `"Lee";"Ann"`). Many
 * exports quote every field, and such a file read with the wrong delimiter had been refused as
 * `malformed-quote` at row 1 or 2 (the rows after the header are read in the same chunk, before
 * the header is checked): the partner looked for a stray quote in rows that had none. A file
 * quoted so and delimited as read, or another character after the quote, is `malformed-quote`.
 */

const QUOTE = 34;
const BYTE_ORDER_MARK = 0xfeff;
const LF = 10;
const CR = 13;
const COMMON_DELIMITER_CODES: ReadonlySet<number> = new Set([...COMMON_DELIMITERS].map((c) => c.charCodeAt(0)));

const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
  /** A CR after a closing quote: only the LF of a CRLF may follow. */
  CrAfterQuote,
}

export class CsvTokenizer {
  private state = State.FieldStart;
  private field = '';
  private fieldChars = 0;
  private fieldTooLong = false;
  private fieldQuoted = false;
  private recordQuoted = false;
  private cells: string[] = [];
  private recordChars = 0;
  private recordTooLong = false;
  private tooManyCells = false;
  private cellProblems: { index: number; reason: RowReason }[] | undefined;
  private row = 0;
  /** The header's last chunk ended in an unquoted CR: whether an LF follows is in the next one. */
  private headerCrAtChunkEnd = false;
  /**
   * The header's cells once it is read (the first record with a cell not empty or white space,
   * as the import takes it: row-preparation.ts, isBlankRecord); undefined before.
   */
  private headerCells: readonly string[] | undefined;
  private readonly delimiter: number;

  constructor(
    delimiter: string,
    private readonly limits: ReaderLimits = DEFAULT_READER_LIMITS,
  ) {
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
      throw new RangeError('CsvTokenizer: the delimiter must be one character other than a quote or line break');
    }
    this.delimiter = delimiter.charCodeAt(0);
  }

  /** Tokenizes `text`, appending completed records to `out`. */
  feed(text: string, out: ExtractRecord[]): void {
    const n = text.length;
    const delimiter = this.delimiter;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case State.FieldStart:
          if (text.charCodeAt(i) === QUOTE) {
            this.state = State.Quoted;
            this.fieldQuoted = true;
            this.recordQuoted = true;
            i++;
            break;
          }
          this.state = State.Unquoted;
          break;
        case State.Unquoted: {
          let j = i;
          let c = 0;
          while (j < n) {
            c = text.charCodeAt(j);
            if (c === delimiter || c === LF) break;
            j++;
          }
          if (this.row === 0) this.refuseLoneCrInHeader(text, i, j);
          if (j > i) this.append(text, i, j);
          if (j === n) {
            i = n;
            break;
          }
          this.endField();
          if (c === LF) this.endRecord(out);
          this.state = State.FieldStart;
          i = j + 1;
          break;
        }
        case State.Quoted: {
          const q = text.indexOf('"', i);
          if (q === -1) {
            this.append(text, i, n);
            i = n;
            break;
          }
          if (q > i) this.append(text, i, q);
          this.state = State.QuoteInQuoted;
          i = q + 1;
          break;
        }
        case State.QuoteInQuoted: {
          const c = text.charCodeAt(i);
          if (c === QUOTE) {
            this.append('"', 0, 1);
            this.state = State.Quoted;
          } else if (c === delimiter) {
            this.endField();
            this.state = State.FieldStart;
          } else if (c === LF) {
            this.endField();
            this.endRecord(out);
            this.state = State.FieldStart;
          } else if (c === CR) {
            this.state = State.CrAfterQuote;
          } else {
            throw this.textAfterClosingQuote(c);
          }
          i++;
          break;
        }
        case State.CrAfterQuote: {
          // A lone CR would let the next quote read as an escaped one, joining two fields. After the
          // header's closing quote it ends the header's line: the file's lines end in CR alone.
          if (text.charCodeAt(i) !== LF) {
            if (this.row === 0) throw new FileRejection('line-endings-cr-only');
            throw new FileRejection('malformed-quote', { row: this.row + 1 });
          }
          this.endField();
          this.endRecord(out);
          this.state = State.FieldStart;
          i++;
          break;
        }
      }
    }
  }

  /** The end of input: completes a last record without a line break, or refuses an open quote. */
  end(out: ExtractRecord[]): void {
    if (this.state === State.Quoted) throw new FileRejection('unterminated-quote', { row: this.row + 1 });
    if (this.state !== State.FieldStart || this.cells.length > 0) {
      this.endField();
      this.endRecord(out);
    }
    this.state = State.FieldStart;
  }

  /** Records (including blank lines) seen so far. */
  get rowsSeen(): number {
    return this.row;
  }

  /**
   * Refuses the file when the header's unquoted text `text[from, to)` (which holds no delimiter
   * and no LF) has a CR that something other than a delimiter or LF follows: the header's line
   * ended there, so the file's lines end in CR alone. Only the header is looked at, so the cost is
   * a header's length whatever the file's.
   */
  private refuseLoneCrInHeader(text: string, from: number, to: number): void {
    if (this.headerCrAtChunkEnd && to > from) throw new FileRejection('line-endings-cr-only');
    this.headerCrAtChunkEnd = false;
    for (let k = from; k < to; k++) {
      if (text.charCodeAt(k) !== CR) continue;
      if (k < to - 1) throw new FileRejection('line-endings-cr-only');
      this.headerCrAtChunkEnd = to === text.length;
    }
  }

  /**
   * The refusal of a file where `c` follows a closing quote: `wrong-delimiter` when `c` is
   * another common delimiter and the file is delimited by it (see the module comment), else
   * `malformed-quote`.
   */
  private textAfterClosingQuote(c: number): FileRejection {
    if (COMMON_DELIMITER_CODES.has(c)) {
      const header = this.headerCells;
      if (header === undefined) return new FileRejection('wrong-delimiter');
      if (namedWidth(header) === 1 && header[0]!.includes(String.fromCharCode(c)))
        return new FileRejection('wrong-delimiter');
    }
    return new FileRejection('malformed-quote', { row: this.row + 1 });
  }

  private append(text: string, from: number, to: number): void {
    const length = to - from;
    this.recordChars += length;
    if (this.recordChars > this.limits.maxRecordChars) this.recordTooLong = true;
    if (this.fieldTooLong || this.recordTooLong) return;
    this.fieldChars += length;
    if (this.fieldChars > this.limits.maxCellChars) {
      this.fieldTooLong = true;
      this.field = '';
      return;
    }
    this.field = this.field.length === 0 ? text.slice(from, to) : this.field + text.slice(from, to);
  }

  private endField(): void {
    let value = this.field;
    // The CR of a CRLF ends an unquoted field's text.
    if (!this.fieldQuoted && value.charCodeAt(value.length - 1) === CR) value = value.slice(0, -1);
    if (this.cells.length >= this.limits.maxCells) this.tooManyCells = true;
    else if (!this.recordTooLong) {
      if (this.fieldTooLong) (this.cellProblems ??= []).push({ index: this.cells.length, reason: 'value-too-long' });
      this.cells.push(this.fieldTooLong ? '' : value);
    }
    this.field = '';
    this.fieldChars = 0;
    this.fieldTooLong = false;
    this.fieldQuoted = false;
  }

  private endRecord(out: ExtractRecord[]): void {
    this.row++;
    const cells = this.cells;
    // Blank: an empty line. A line holding `""` is a record with one empty value.
    const blank =
      cells.length === 1 &&
      cells[0] === '' &&
      !this.recordQuoted &&
      !this.recordTooLong &&
      this.cellProblems === undefined;
    if (!blank) {
      if (this.headerCells === undefined && cells.some((cell) => cell.trim() !== '')) this.headerCells = cells;
      if (this.recordTooLong) out.push({ row: this.row, cells: [], problem: 'row-too-long' });
      else if (this.tooManyCells) out.push({ row: this.row, cells: [], problem: 'column-count' });
      else if (this.cellProblems !== undefined) out.push({ row: this.row, cells, cellProblems: this.cellProblems });
      else out.push({ row: this.row, cells });
    }
    this.cells = [];
    this.recordChars = 0;
    this.recordTooLong = false;
    this.recordQuoted = false;
    this.tooManyCells = false;
    this.cellProblems = undefined;
  }
}

/**
 * Decodes UTF-8 bytes strictly: invalid sequences refuse the file (`invalid-utf8`) rather than
 * becoming U+FFFD in someone's name; a NUL byte refuses it too (`nul-byte`: a binary file). A
 * leading byte-order mark is dropped, and so is every one after it before the first other
 * character: a tool that adds a byte-order mark to text that has one writes two. The second was
 * read as text, so a quoted header's first cell (`\uFEFF"name"`) was read unquoted, quotes and
 * all, and the file refused as `column-not-in-agreement`, which said nothing of the mark (found by
 * a review); unquoted, the cell had loaded, the mark trimmed off with white space (header.ts). One
 * later in the file is a character of its cell, as it was.
 *
 * UTF-16 text (Excel's "Unicode Text", some case systems' exports) is told by its first two bytes
 * and refused as such (`utf16-encoding`): its byte-order mark (FF FE little-endian, FE FF
 * big-endian), or, written without one, a NUL beside a byte that is not — a header's first
 * character, a letter or a quote, in UTF-16. It had been refused as `nul-byte` (or, a byte-order
 * mark alone, as `invalid-utf8`), which told the partner nothing of what to mend. The first bytes
 * are held back until they are in, however the file is chunked (below). After a UTF-8 byte-order
 * mark (or two), as a tool that adds one writes it before UTF-16 text, the two bytes that follow
 * tell it alike: such a file had been refused as `nul-byte`. A NUL anywhere else is still
 * `nul-byte`.
 *
 * A file that is no text at all, sent under a text name by mistake, is told by its first bytes
 * and refused as what it is, not as the `nul-byte` or `invalid-utf8` its bytes would first give,
 * which told the partner nothing of what to mend: a workbook (`workbook-named-as-text`: an XLSX,
 * which is a zip, `PK\x03\x04`; or an OLE compound file, `D0 CF 11 E0 A1 B1 1A E1`, as a legacy
 * `.xls` or a password-protected workbook is), uploaded again named `.xlsx` or saved as CSV; or a
 * PDF (`pdf-named-as-text`, `%PDF-`), which holds no extract to read. The first
 * {@link FILE_HEAD_BYTES} bytes are held back until they are in, or the file ends.
 */
export class StrictUtf8Decoder {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  /**
   * The file's first bytes, while fewer than {@link FILE_HEAD_BYTES} have come; undefined once
   * they are looked at.
   */
  private head: Uint8Array | undefined = new Uint8Array(0);
  /** Nothing but byte-order marks decoded so far: any more that come are dropped too. */
  private marksOnly = true;

  decode(bytes: Uint8Array): string {
    if (this.head !== undefined) {
      const head = this.head.length === 0 ? bytes : Buffer.concat([this.head, bytes]);
      if (head.length < FILE_HEAD_BYTES) {
        this.head = head;
        return '';
      }
      this.head = undefined;
      refuseNonUtf8Start(head);
      bytes = head;
    }
    return this.decodeText(bytes);
  }

  private decodeText(bytes: Uint8Array): string {
    if (bytes.indexOf(0) !== -1) throw new FileRejection('nul-byte');
    try {
      return this.afterMarks(this.decoder.decode(bytes, { stream: true }));
    } catch {
      throw new FileRejection('invalid-utf8');
    }
  }

  /** `text`, without the byte-order marks it starts with while the file has held nothing else. */
  private afterMarks(text: string): string {
    if (!this.marksOnly) return text;
    let start = 0;
    while (start < text.length && text.charCodeAt(start) === BYTE_ORDER_MARK) start++;
    if (start < text.length) this.marksOnly = false;
    return start === 0 ? text : text.slice(start);
  }

  end(): string {
    // A file shorter than the head: looked at as far as it goes.
    const head = this.head;
    this.head = undefined;
    let text = '';
    if (head !== undefined && head.length > 0) {
      refuseNonUtf8Start(head);
      text = this.decodeText(head);
    }
    try {
      return text + this.afterMarks(this.decoder.decode());
    } catch {
      throw new FileRejection('invalid-utf8');
    }
  }
}

/**
 * The bytes of a file's start that {@link StrictUtf8Decoder} looks at before decoding: the longest
 * signature's, which also holds two UTF-8 byte-order marks and the two bytes after them.
 */
const FILE_HEAD_BYTES = 8;
const UTF8_BYTE_ORDER_MARK = [0xef, 0xbb, 0xbf];

/** First bytes of files that are no text, and the refusal of such a file under a text name. */
const NOT_TEXT_SIGNATURES: readonly (readonly [readonly number[], FileReason])[] = [
  // A zip's first local header: an XLSX (Office Open XML is a zip).
  [[0x50, 0x4b, 0x03, 0x04], 'workbook-named-as-text'],
  // An OLE compound file: a legacy .xls, or a password-protected workbook.
  [[0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1], 'workbook-named-as-text'],
  [[0x25, 0x50, 0x44, 0x46, 0x2d], 'pdf-named-as-text'],
];

/**
 * Refuses a text file whose first bytes (up to {@link FILE_HEAD_BYTES}) are another kind of
 * file's, or UTF-16 text's, with or without UTF-8 byte-order marks before it (see
 * {@link StrictUtf8Decoder}).
 */
function refuseNonUtf8Start(bytes: Uint8Array): void {
  const head = bytes.subarray(0, FILE_HEAD_BYTES);
  for (const [signature, reason] of NOT_TEXT_SIGNATURES)
    if (startsWith(head, signature, 0)) throw new FileRejection(reason);
  let start = 0;
  while (startsWith(head, UTF8_BYTE_ORDER_MARK, start)) start += UTF8_BYTE_ORDER_MARK.length;
  if (head.length - start >= 2 && isUtf16Start(head[start]!, head[start + 1]!))
    throw new FileRejection('utf16-encoding');
}

function startsWith(bytes: Uint8Array, prefix: readonly number[], at: number): boolean {
  return bytes.length - at >= prefix.length && prefix.every((b, i) => bytes[at + i] === b);
}

/** Whether a file starting with these two bytes is UTF-16 (see {@link StrictUtf8Decoder}). */
function isUtf16Start(first: number, second: number): boolean {
  if ((first === 0xff && second === 0xfe) || (first === 0xfe && second === 0xff)) return true;
  return (first === 0) !== (second === 0);
}

/** Records of a delimited text extract, batched per chunk of input. */
export async function* csvRecords(
  bytes: AsyncIterable<Uint8Array>,
  delimiter: string,
  limits: ReaderLimits = DEFAULT_READER_LIMITS,
): ExtractRecords {
  const decoder = new StrictUtf8Decoder();
  const tokenizer = new CsvTokenizer(delimiter, limits);
  for await (const chunk of bytes) {
    const out: ExtractRecord[] = [];
    tokenizer.feed(decoder.decode(chunk), out);
    if (out.length > 0) yield out;
  }
  const out: ExtractRecord[] = [];
  tokenizer.feed(decoder.end(), out);
  tokenizer.end(out);
  if (out.length > 0) yield out;
}
