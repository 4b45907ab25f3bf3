import type { FileReason } from './reasons.js';
import { LiteralSections } from './xml-literal-sections.js';

/**
 * Looks through a worksheet's XML, as it is inflated, for cells exceljs's streaming reader would
 * load as other data than the workbook holds — quietly, so nothing downstream can tell:
 *
 * - an ISO 8601 date cell (`<c t="d"><v>2010-03-02T00:00:00Z</v></c>`): exceljs drops the cell
 *   type and parses the text as a number, so 2010-03-02 becomes day 2010, 1905-07-02;
 * - an inline string of more than one text element (`<is><r><t>Anna</t></r><r><t>bel</t></r></is>`,
 *   rich text, or phonetic runs): exceljs keeps the last one only ("bel").
 *
 * The XML can be hundreds of MB, so it is searched with Buffer.indexOf for the few byte patterns
 * that matter, never tokenised; what is carried from one chunk to the next is bounded
 * ({@link LOOKBACK}), however the chunks split a pattern. Comments and CDATA sections are the
 * one place XML leaves `<` unescaped, so their bytes are not searched (xml-literal-sections.ts).
 */

const DATE_TYPES = [Buffer.from('t="d"'), Buffer.from("t='d'")];
const INLINE_OPEN = Buffer.from('<is');
const INLINE_CLOSE = Buffer.from('</is>');
const TEXT_OPEN = Buffer.from('<t');
const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const LETTER_C = 0x63;

/**
 * Bytes kept from before each chunk: room to look back from a `t="d"` to the start of its tag
 * (a cell's tag is well under 100 bytes), and to find a pattern split between chunks.
 */
const LOOKBACK = 1024;

const isSpace = (b: number | undefined) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

export class WorksheetScan {
  /** The end of what came before, kept for the next chunk; `tailOffset` is where it starts in the XML. */
  private tail: Buffer = Buffer.alloc(0);
  private tailOffset = 0;
  /** Where in the XML each search goes on from: nothing before it is looked at again. */
  private dateFrom = 0;
  private inlineFrom = 0;
  /** Inside an `<is>` element, and how many text elements it has opened so far. */
  private inInline = false;
  private texts = 0;
  private readonly literals = new LiteralSections();

  /** Looks at the next chunk of the XML; the reason to refuse the workbook for, if it is one. */
  push(chunk: Buffer): FileReason | undefined {
    const window = this.tail.length === 0 ? chunk : Buffer.concat([this.tail, chunk]);
    const base = this.tailOffset;
    this.literals.note(chunk);
    const markup = this.literals.blanked(window, base);
    const reason = this.dateCells(markup, base) ?? this.inlineTexts(markup, base);
    const keep = Math.min(window.length, LOOKBACK);
    // A copy: a view would keep the whole chunk alive.
    this.tail = Buffer.from(window.subarray(window.length - keep));
    this.tailOffset = base + window.length - keep;
    this.literals.forgetBefore(this.tailOffset);
    return reason;
  }

  private dateCells(window: Buffer, base: number): FileReason | undefined {
    for (const pattern of DATE_TYPES) {
      for (let p = window.indexOf(pattern, this.dateFrom - base); p !== -1; p = window.indexOf(pattern, p + 1)) {
        if (isDateCellType(window, p, base === 0)) return 'xlsx-date-cells';
      }
    }
    this.dateFrom = Math.max(this.dateFrom, base + window.length - (DATE_TYPES[0]?.length ?? 0) + 1);
    return undefined;
  }

  private inlineTexts(window: Buffer, base: number): FileReason | undefined {
    let i = this.inlineFrom - base;
    for (;;) {
      if (!this.inInline) {
        const open = window.indexOf(INLINE_OPEN, i);
        if (open === -1) {
          i = Math.max(i, window.length - INLINE_OPEN.length);
          break;
        }
        // The byte after the name tells `<is>` from a longer name: wait for it.
        if (open + INLINE_OPEN.length >= window.length) {
          i = open;
          break;
        }
        i = open + INLINE_OPEN.length;
        // `<is/>` holds nothing, and has no `</is>` to wait for.
        if (window[i] === GT || isSpace(window[i])) {
          this.inInline = true;
          this.texts = 0;
        }
        continue;
      }
      const close = window.indexOf(INLINE_CLOSE, i);
      const end = close === -1 ? window.length : close;
      let text = window.indexOf(TEXT_OPEN, i);
      while (text !== -1 && text < end) {
        if (text + TEXT_OPEN.length >= window.length) break;
        i = text + TEXT_OPEN.length;
        if (endsName(window[i]) && ++this.texts > 1) return 'xlsx-inline-rich-text';
        text = window.indexOf(TEXT_OPEN, i);
      }
      if (close === -1) {
        // Keep what could be the start of `</is>`, or of a `<t` whose next byte is yet to come.
        i = Math.max(i, window.length - INLINE_CLOSE.length + 1);
        break;
      }
      this.inInline = false;
      i = close + INLINE_CLOSE.length;
    }
    this.inlineFrom = base + i;
    return undefined;
  }
}

function endsName(b: number | undefined): boolean {
  return b === GT || b === SLASH || isSpace(b);
}

/**
 * Whether the `t="d"` at `p` is the type attribute of a cell: inside a `<c …>` tag and outside
 * its quoted values ({@link tagStateAt}, from the last `<` before it), after white space. An
 * attribute's value may hold `>` as it is: taken for the tag's end, it hid the t="d" after it, and
 * a t="d" written inside a value was taken for the cell's type (found by a review). In text, `<`
 * is always escaped (and comments and CDATA, where it is not, are blanked:
 * xml-literal-sections.ts), so text is never taken for a tag. When the window holds neither `<`
 * nor `>` before it, it cannot tell, and says yes: a workbook refused for nothing is better than
 * dates loaded wrong.
 */
function isDateCellType(window: Buffer, p: number, fromStart: boolean): boolean {
  if (!isSpace(window[p - 1])) return false;
  const lt = window.lastIndexOf(LT, p);
  if (lt === -1) return window.lastIndexOf(GT, p) === -1 && !fromStart;
  if (tagStateAt(window, p, 'text') !== 'tag') return false;
  return window[lt + 1] === LETTER_C && isSpace(window[lt + 2]);
}

/** SpreadsheetML's main namespace, transitional (what Excel writes) and strict. */
export const SPREADSHEETML_MAIN_NAMESPACES: readonly string[] = [
  'http://schemas.openxmlformats.org/spreadsheetml/2006/main',
  'http://purl.oclc.org/ooxml/spreadsheetml/main',
];
const MAIN_NAMESPACES = SPREADSHEETML_MAIN_NAMESPACES.map((namespace) => Buffer.from(namespace));
const XMLNS_COLON = Buffer.from('xmlns:');
/** Bytes kept from before each chunk: the longest namespace, and the `xmlns:prefix = "` before it. */
const PREFIX_LOOKBACK = 512;

/**
 * Looks through a part exceljs parses (worksheet, shared strings, workbook, styles), as it is
 * inflated, for SpreadsheetML's main namespace bound to a prefix (`xmlns:x="…/main"`), which
 * exceljs cannot read: it matches element names as written (`row`, `c`, `si`), so `<x:row>` is
 * no row to it. Excel writes the namespace as the default one; the Open XML SDK writes the
 * elements it makes as `x:row`, `x:c`, `x:si` — so a workbook filled from a template by it had the
 * rows it appended dropped unseen, and the shared strings it appended skipped, every later index
 * then reading another string, someone else's name (found by a review). Other namespaces bound
 * to prefixes (`x14ac:`, `mc:`), as Excel writes them, are no concern: exceljs reads nothing of
 * theirs. Only the declaration is looked for, not the elements that use it, so scoping (a prefix
 * bound on one element only) does not matter. Nor is one looked for in a comment or a CDATA
 * section (xml-literal-sections.ts), where it is text: `<!-- xmlns:x="…/main" -->` refused a good
 * workbook (found by a review). Nor in text elsewhere, where Excel writes `"` and `>` as they are:
 * a cell reading `xmlns:x="…/main"` refused a good workbook too (found by a review). A declaration
 * is an attribute's value, so the namespace counts only where it opens a quoted value inside a
 * tag ({@link TagState}): outside comments, CDATA and instructions, `<` is never written as it is but to start
 * a tag (nor in an attribute's value), so the state is followed from the last `<` before the
 * namespace, with only the quotes and `>` after it to read; and from the state kept at the start
 * of what is held when no `<` is in what is held (a root element longer than it, or long text).
 *
 * What the bytes cannot show is left to the parser (exceljs-xml-decoding.ts), which refuses the
 * binding as it reads the attribute: the namespace written with a character reference
 * (`xmlns:x="&#104;ttp://…"`, which XML reads as the namespace), and a prefix, or white space
 * around its `=`, longer than what is kept, the namespace at a chunk's start. Both loaded with
 * their prefixed rows dropped (found by a review).
 */
export class PrefixedSpreadsheetMlScan {
  private tail: Buffer = Buffer.alloc(0);
  private tailOffset = 0;
  /** Where the bytes stand at the tail's start: in text, in a tag, or in one of its quoted values. */
  private tailState: TagState = 'text';
  private readonly literals = new LiteralSections();

  /** Looks at the next chunk of the part; whether the main namespace has been bound to a prefix. */
  push(chunk: Buffer): boolean {
    const window = this.tail.length === 0 ? chunk : Buffer.concat([this.tail, chunk]);
    const base = this.tailOffset;
    const searched = this.tail.length;
    // A declaration in a comment or CDATA section is text, which binds nothing.
    this.literals.note(chunk);
    const markup = this.literals.blanked(window, base);
    let found = false;
    for (const namespace of MAIN_NAMESPACES) {
      // Where the namespace could first end past what was searched before.
      let p = markup.indexOf(namespace, Math.max(0, searched - namespace.length + 1));
      for (; p !== -1 && !found; p = markup.indexOf(namespace, p + 1))
        found = boundToPrefix(markup, p) && tagStateAt(markup, p, this.tailState) === quoteState(markup[p - 1]);
    }
    const keep = Math.min(window.length, PREFIX_LOOKBACK);
    this.tailState = tagStateAt(markup, window.length - keep, this.tailState);
    // A copy: a view would keep the whole chunk alive.
    this.tail = Buffer.from(window.subarray(window.length - keep));
    this.tailOffset = base + window.length - keep;
    this.literals.forgetBefore(this.tailOffset);
    return found;
  }
}

/** Where a byte of markup stands: in text, in a tag, or in a tag's value quoted with `"` or `'`. */
export type TagState = 'text' | 'tag' | 'double-quoted' | 'single-quoted';

const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;

/** The state inside a value that the quote `b` opens; undefined for any other byte. */
function quoteState(b: number | undefined): TagState | undefined {
  return b === DOUBLE_QUOTE ? 'double-quoted' : b === SINGLE_QUOTE ? 'single-quoted' : undefined;
}

/**
 * Follows a tag's bytes in `markup` (comments, CDATA and instructions blanked) from `from`, where
 * they stand at `state` (inside the tag or one of its quoted values), up to `to`: the `>` that
 * ends the tag, or -1 and the state at `to` when it is yet to come. An attribute's value may hold
 * `>` as it is (XML escapes only `<` and `&` there), so a quoted value is skipped whole; every
 * byte scan and filter that must find a tag's end follows it here. Only quotes and `>` are read,
 * byte by byte up to the tag's end: the cost is the tag's, not the text's after it.
 */
export function followTag(
  markup: Buffer,
  from: number,
  state: Exclude<TagState, 'text'>,
  to = markup.length,
): { end: number; state: Exclude<TagState, 'text'> } {
  let i = from;
  let at = state;
  while (i < to) {
    if (at === 'tag') {
      const b = markup[i];
      if (b === GT) return { end: i, state: at };
      at = b === DOUBLE_QUOTE ? 'double-quoted' : b === SINGLE_QUOTE ? 'single-quoted' : 'tag';
      i++;
      continue;
    }
    const close = markup.indexOf(at === 'double-quoted' ? DOUBLE_QUOTE : SINGLE_QUOTE, i);
    if (close === -1 || close >= to) return { end: -1, state: at };
    at = 'tag';
    i = close + 1;
  }
  return { end: -1, state: at };
}

/**
 * Where the bytes stand at `at` in `markup` (comments, CDATA and instructions blanked), whose own start stood
 * at `startState`: followed from the last `<` before `at`, which always opens a tag, or from the
 * start when there is none ({@link followTag}).
 */
function tagStateAt(markup: Buffer, at: number, startState: TagState): TagState {
  // lastIndexOf takes a negative offset from the end: at 0 nothing is before.
  const lt = at === 0 ? -1 : markup.lastIndexOf(LT, at - 1);
  const state: TagState = lt === -1 ? startState : 'tag';
  // No `<` before `at` past the last one: text it stays.
  if (state === 'text') return 'text';
  const followed = followTag(markup, lt + 1, state, at);
  return followed.end === -1 ? followed.state : 'text';
}

/** Whether the namespace at `p` is the value of an `xmlns:prefix` attribute: `xmlns:x = "` before it. */
function boundToPrefix(window: Buffer, p: number): boolean {
  let i = p - 1;
  if (window[i] !== 0x22 && window[i] !== 0x27) return false;
  i--;
  while (isSpace(window[i])) i--;
  if (window[i] !== 0x3d) return false;
  i--;
  while (isSpace(window[i])) i--;
  const nameEnd = i;
  while (i >= 0 && isNameByte(window[i])) i--;
  if (i === nameEnd) return false;
  const start = i + 1 - XMLNS_COLON.length;
  return start >= 0 && window.subarray(start, i + 1).equals(XMLNS_COLON);
}

/** A byte of an XML name other than `:` (any byte of a multi-byte UTF-8 character counts). */
function isNameByte(b: number | undefined): boolean {
  if (b === undefined) return false;
  return (
    (b >= 0x30 && b <= 0x39) ||
    (b >= 0x41 && b <= 0x5a) ||
    (b >= 0x61 && b <= 0x7a) ||
    b === 0x2d ||
    b === 0x2e ||
    b === 0x5f ||
    b >= 0x80
  );
}
