import { createRequire } from 'node:module';
import { excelJsFile, requireAsExcelJs } from './exceljs-modules.js';
import { FileRejection } from './reasons.js';
import { SPREADSHEETML_MAIN_NAMESPACES } from './worksheet-scan.js';

/**
 * Decodes each XML part exceljs reads as one stream of UTF-8, strictly, in place of exceljs's own
 * decoding.
 *
 * exceljs hands its XML parser a part's bytes in the pieces the part streams in — 16 KiB as it
 * inflates, 64 KiB as a worksheet is read back from its temporary copy (xlsx-records.ts) — and
 * decoded each piece to text on its own (lib/utils/parse-sax.js: `saxesParser.write(
 * bufferToString(chunk))`, a TextDecoder called without `stream`, 4.4.0). A character whose UTF-8
 * bytes a piece boundary cut in two became two U+FFFD replacement characters, with no error: in a
 * large workbook a name here and there (Zoë as `Zo��`, 髙橋 as `髙��`) loaded so, and matching
 * then missed those people (found by a review). Bytes that are not UTF-8 at all were replaced the
 * same way, silently, where a CSV of them is refused (`invalid-utf8`, csv-records.ts).
 *
 * So exceljs's parse-sax module is replaced, in the thread's CommonJS module cache, by
 * {@link parseSaxWholeUtf8}: the same events from the same parser (saxes, the instance
 * exceljs-text-events.ts follows), the text decoded with one fatal TextDecoder a part, each
 * piece with `stream: true` so a character cut in two is finished by the next, and flushed at the
 * part's end. A byte order mark at a part's start is dropped, as exceljs's decoder dropped it.
 * A part that is not UTF-8 refuses the workbook (`invalid-utf8`, as a CSV). Its bytes after the
 * bad ones are still read, not parsed, before it is refused: a copy damaged in transfer or
 * storage, which is as likely to hold bytes that are no UTF-8 as any other, is then refused for
 * its CRC-32 (`xlsx-corrupted`, checked as the entry ends: xlsx-records.ts), which says what
 * mends it, and not taken for a partner's file that is not UTF-8.
 *
 * exceljs's readers bind parse-sax when they are first loaded (`const parseSax = require(…)`),
 * so the replacement must be in the cache before exceljs is: {@link decodeExcelJsXmlWhole}
 * runs before anything loads exceljs on the thread (xlsx-records.ts loads it only after, and
 * nothing else on a row worker does), and refuses to run after, rather than leave a reader
 * decoding as before. Each thread has its own module cache, and so is installed once a thread.
 */

/** Marks the replacement, so it is known for the one in place on the thread whoever installed it. */
const WHOLE_UTF8 = Symbol.for('lintel.exceljs.parse-sax.whole-utf8');

type Handler = (value: unknown) => void;
interface SaxesParserLike {
  on(name: string, handler: Handler): void;
  write(chunk: string): unknown;
  close(): unknown;
}
type SaxesParserClass = new () => SaxesParserLike;
type SaxEvent = { eventType: 'opentag' | 'text' | 'closetag'; value: unknown };

/**
 * exceljs's parse-sax, its text decoded as one stream (see the module comment). Its events are
 * exceljs's: every opentag, text and closetag event of each piece, in order, as one array a piece.
 */
function parseSaxWholeUtf8(SaxesParser: SaxesParserClass) {
  return async function* parseSax(iterable: AsyncIterable<unknown>): AsyncGenerator<SaxEvent[]> {
    // Fail closed: exceljs's old-stream shim (for Node 8) is not needed by any stream it reads now.
    if (typeof (iterable as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] !== 'function')
      throw new Error('exceljs handed its XML parser a stream that is not async iterable');
    const parser = new SaxesParser();
    let error: unknown;
    parser.on('error', (err) => {
      error = err;
    });
    let events: SaxEvent[] = [];
    parser.on('opentag', (value) => {
      if (bindsMainNamespaceToPrefix(value)) error ??= new FileRejection('xlsx-prefixed-xml');
      events.push({ eventType: 'opentag', value });
    });
    parser.on('text', (value) => events.push({ eventType: 'text', value }));
    parser.on('closetag', (value) => events.push({ eventType: 'closetag', value }));
    // A DOCTYPE's internal subset is not read by saxes as XML would read it (xml-literal-sections.ts,
    // DocumentTypeScan, which refuses it in the bytes first): one that reaches the parser unscanned.
    parser.on('doctype', () => {
      error ??= new FileRejection('xlsx-doctype');
    });
    const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
    let valid = true;
    const decode = (bytes?: Uint8Array): string => {
      try {
        return bytes === undefined ? decoder.decode() : decoder.decode(bytes, { stream: true });
      } catch {
        valid = false;
        return '';
      }
    };
    for await (const chunk of iterable) {
      // The rest of a part that is not UTF-8 is read, not parsed: its entry's check comes first.
      if (!valid) continue;
      let text: string;
      if (typeof chunk === 'string') text = chunk;
      else if (chunk instanceof Uint8Array) text = decode(chunk);
      // Fail closed: neither text nor bytes, which exceljs's own would have decoded somehow.
      else throw new Error('exceljs handed its XML parser neither text nor bytes');
      if (!valid) continue;
      parser.write(text);
      // write() emits every event of the piece before it returns (as exceljs's own says).
      if (error) throw error;
      yield events;
      events = [];
    }
    // A part that ends inside a character is no more UTF-8 than one with a bad byte.
    if (valid) decode();
    if (!valid) throw new FileRejection('invalid-utf8');
    // exceljs's own never closed the parser, so a part that ended with an element, comment,
    // CDATA section, instruction or `<!` still open was never found unfinished: a worksheet cut
    // short loaded the rows before the cut, and those in what was left open were lost unseen
    // (found by a review). Closing reports it (saxes: unclosed tag, unexpected end), as
    // xlsx-unreadable. Reached only by a part read to its end: exceljs stops reading some parts
    // once their root closes, and nothing after is looked at.
    parser.close();
    if (error) throw error;
    if (events.length > 0) yield events;
  };
}

/**
 * Whether the tag binds SpreadsheetML's main namespace to a prefix (`xmlns:x="…/main"`), which
 * exceljs cannot read (worksheet-scan.ts, PrefixedSpreadsheetMlScan, which refuses it in the bytes
 * first): here as the parser reads the attribute's value, character references and all, and
 * however long its name, which the bytes do not always show.
 */
function bindsMainNamespaceToPrefix(tag: unknown): boolean {
  const attributes = (tag as { attributes?: Record<string, unknown> } | undefined)?.attributes;
  if (attributes === undefined) return false;
  // Every tag of every part comes here: its attributes are looked at in place, not copied.
  for (const name in attributes)
    if (name.startsWith('xmlns:') && SPREADSHEETML_MAIN_NAMESPACES.includes(String(attributes[name]))) return true;
  return false;
}

let installed = false;

/** Installs {@link parseSaxWholeUtf8} as exceljs's parse-sax, once per thread: see the module comment. */
export function decodeExcelJsXmlWhole(): void {
  if (installed) return;
  const require = createRequire(import.meta.url);
  const path = excelJsFile('lib/utils/parse-sax.js');
  const cached = require.cache[path] as { exports?: { [WHOLE_UTF8]?: unknown } } | undefined;
  if (cached?.exports?.[WHOLE_UTF8] === true) {
    installed = true;
    return;
  }
  // Fail closed: exceljs loaded already has bound the parse-sax that decodes piece by piece.
  if (cached !== undefined) throw new Error('exceljs was loaded before its XML decoding was made whole');
  const original: unknown = require(path);
  const saxes = requireAsExcelJs('lib/utils/parse-sax.js', 'saxes') as { SaxesParser?: unknown };
  const module = require.cache[path];
  // Fail closed: an exceljs whose XML is parsed otherwise must be looked at first.
  if (typeof original !== 'function' || typeof saxes.SaxesParser !== 'function' || module === undefined)
    throw new Error('exceljs XML decoding cannot be followed');
  const replacement = parseSaxWholeUtf8(saxes.SaxesParser as SaxesParserClass);
  Object.defineProperty(replacement, WHOLE_UTF8, { value: true });
  module.exports = replacement;
  installed = true;
}
