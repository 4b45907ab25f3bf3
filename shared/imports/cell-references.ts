import { followTag } from './worksheet-scan.js';
import { LiteralSections } from './xml-literal-sections.js';

/**
 * Gives the rows and cells of a worksheet the references (`r`) their writer left out, as the
 * worksheet inflates, before exceljs parses it. ECMA-376 makes `r` optional on `<row>` and `<c>`:
 * a row without it follows the row before, a cell without it the cell before. Excel always
 * writes them, but workbooks built by other tools (a case-management system's export written
 * with the Open XML SDK) may not, and exceljs cannot place a cell without one: such a
 * workbook was refused as `xlsx-unreadable`.
 *
 * Every row and cell tag is looked at, and a missing reference inserted after the element's name
 * (`<c` → `<c r="B7"`), counted on from the row or cell before, its reference given or filled.
 * Not decided by the first row and cell: taken to say every one carried `r` when they did, a
 * worksheet whose rows give their first cells `r` and the rest none passed unfilled, and was
 * refused as `xlsx-unreadable`, where a cell without `r` follows the cell before (found by a
 * defect hunt). Not in a comment or CDATA section, where `<c>` is text (xml-literal-sections.ts): it had a reference written into it, `<c r="B2">`
 * loaded as the cell's text, and was counted as a cell, so each later cell of its row loaded a
 * column too far (found by a review).
 */
const LT = 0x3c;
const GT = 0x3e;

const endsName = (b: number | undefined) =>
  b === GT || b === 0x2f || b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/** Far above any row or cell tag a writer makes (a few hundred bytes with every attribute). */
const MAX_TAG_BYTES = 4096;

/** Each attribute of a tag, its value quoted: one match a value, so none starts inside another's. */
const ATTRIBUTE = /\s([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
const ROW_REF = /^(\d+)$/;
const CELL_REF = /^([A-Za-z]{1,3})\d*$/;

/**
 * The tag's `r` read by `pattern`, or null. Read attribute by attribute, not searched for: ` r='Z9'`
 * written inside another attribute's value is that value's text, and read as the reference it
 * had a cell counted on from column Z, or left without one, the good workbook refused as
 * unreadable (found by a review).
 */
function referenceIn(tag: string, pattern: RegExp): RegExpExecArray | null {
  for (const [, name, double, single] of tag.matchAll(ATTRIBUTE))
    if (name === 'r') return pattern.exec(double ?? single ?? '');
  return null;
}

/**
 * The value of `r` where it is the tag's first attribute, written ` r="…"` as Excel writes every
 * row and cell, read from the bytes as they are; otherwise undefined, for {@link referenceIn}.
 * Every tag is looked at, and read attribute by attribute each one took the filler twice as long
 * on a workbook Excel wrote.
 */
function leadingReference(data: Buffer, nameEnd: number, gt: number): string | undefined {
  if (data[nameEnd] !== 0x20 || data[nameEnd + 1] !== 0x72 || data[nameEnd + 2] !== 0x3d || data[nameEnd + 3] !== 0x22)
    return undefined;
  const close = data.indexOf(0x22, nameEnd + 4);
  return close === -1 || close > gt ? undefined : data.toString('latin1', nameEnd + 4, close);
}

export class CellReferenceFiller {
  private held: Buffer = Buffer.alloc(0);
  private passing = false;
  private row = 0;
  private column = 0;
  private readonly literals = new LiteralSections();
  /** The bytes of the worksheet pushed so far. */
  private pushed = 0;

  /** Bytes held back for the next chunk: at most the start of one tag, of at most 4 KiB. */
  get heldBytes(): number {
    return this.held.length;
  }

  /** The chunk with the missing references in (possibly less: the start of a tag is held back). */
  push(chunk: Buffer): Buffer {
    if (this.passing) return chunk;
    this.literals.note(chunk);
    const data = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk]);
    const base = this.pushed - this.held.length;
    this.pushed += chunk.length;
    this.held = Buffer.alloc(0);
    // Searched with comments and CDATA blanked: a `<c>` written there is text, no cell.
    const markup = this.literals.blanked(data, base);
    const out: Buffer[] = [];
    let from = 0;
    let at = markup.indexOf(LT);
    while (at !== -1) {
      const isRow =
        markup[at + 1] === 0x72 && markup[at + 2] === 0x6f && markup[at + 3] === 0x77 && endsName(markup[at + 4]);
      const isCell = markup[at + 1] === 0x63 && endsName(markup[at + 2]);
      // Too near the end to tell the name, or the tag's end yet to come: held for the next chunk.
      if (at + 4 >= data.length && !isCell) {
        break;
      }
      if (isRow || isCell) {
        const gt = tagEnd(markup, at);
        if (gt === -1) {
          // No row or cell tag is this long: it is held no further, nor searched again with
          // every chunk (that would be quadratic in a tag megabytes long: found by a review).
          // The rest passes as it is, for the reader to judge.
          if (data.length - at > MAX_TAG_BYTES) {
            this.passing = true;
            out.push(data.subarray(from));
            return Buffer.concat(out);
          }
          break;
        }
        const nameEnd = at + (isRow ? 4 : 2);
        const pattern = isRow ? ROW_REF : CELL_REF;
        const leading = leadingReference(data, nameEnd, gt);
        const given =
          leading === undefined ? referenceIn(data.toString('latin1', at, gt), pattern) : pattern.exec(leading);
        const reference = this.referenceFor(isRow, given);
        if (reference !== undefined) {
          out.push(data.subarray(from, nameEnd), Buffer.from(` r="${reference}"`, 'latin1'));
          from = nameEnd;
        }
        at = markup.indexOf(LT, gt);
        continue;
      }
      at = markup.indexOf(LT, at + 1);
    }
    const keepFrom = at === -1 ? data.length : at;
    out.push(data.subarray(from, keepFrom));
    this.held = Buffer.from(data.subarray(keepFrom));
    this.literals.forgetBefore(base + keepFrom);
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  /** The reference to insert into this row or cell tag, if it has none; notes the one it has. */
  private referenceFor(isRow: boolean, given: RegExpExecArray | null): string | undefined {
    if (isRow) {
      this.column = 0;
      this.row = given === null ? this.row + 1 : Number(given[1]);
      return given === null ? String(this.row) : undefined;
    }
    this.column = given === null ? this.column + 1 : columnNumber(given[1]!);
    return given === null ? `${columnLetters(this.column)}${this.row}` : undefined;
  }
}

/**
 * The `>` that ends the tag opening at `lt`, or -1 while it is still to come. An attribute's
 * value may hold `>` as it is: taken for the tag's end, it hid the `r` after it, a second `r`
 * was written in, and the good workbook was refused as unreadable (found by a review).
 */
function tagEnd(markup: Buffer, lt: number): number {
  return followTag(markup, lt + 1, 'tag').end;
}

/** A column's number from its letters (`A` 1, `AA` 27), in either case. */
export function columnNumber(letters: string): number {
  let n = 0;
  for (const ch of letters.toUpperCase()) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n;
}

function columnLetters(n: number): string {
  let out = '';
  for (let k = n; k > 0; k = Math.floor((k - 1) / 26)) out = String.fromCharCode(65 + ((k - 1) % 26)) + out;
  return out;
}
