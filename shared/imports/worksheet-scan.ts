import type { FileReason } from './reasons.js';

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
 * ({@link LOOKBACK}), however the chunks split a pattern.
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

  /** Looks at the next chunk of the XML; the reason to refuse the workbook for, if it is one. */
  push(chunk: Buffer): FileReason | undefined {
    const window = this.tail.length === 0 ? chunk : Buffer.concat([this.tail, chunk]);
    const base = this.tailOffset;
    const reason = this.dateCells(window, base) ?? this.inlineTexts(window, base);
    const keep = Math.min(window.length, LOOKBACK);
    // A copy: a view would keep the whole chunk alive.
    this.tail = Buffer.from(window.subarray(window.length - keep));
    this.tailOffset = base + window.length - keep;
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
 * Whether the `t="d"` at `p` is the type attribute of a cell: inside a `<c …>` tag (the last `<`
 * before it comes after the last `>`), after white space. In text, `<` is always escaped, so
 * text is never taken for a tag. When the window holds neither, it cannot tell, and says yes:
 * a workbook refused for nothing is better than dates loaded wrong.
 */
function isDateCellType(window: Buffer, p: number, fromStart: boolean): boolean {
  if (!isSpace(window[p - 1])) return false;
  const lt = window.lastIndexOf(LT, p);
  const gt = window.lastIndexOf(GT, p);
  if (lt === -1 && gt === -1) return !fromStart;
  if (lt < gt) return false;
  return window[lt + 1] === LETTER_C && isSpace(window[lt + 2]);
}
