/**
 * The comments (`<!-- … -->`), CDATA sections (`<![CDATA[ … ]]>`) and processing instructions
 * (`<?target … ?>`) of an XML part, found as it inflates. The parser takes their bytes as they
 * are, `<` and all, so a tag written in one is text (a CDATA cell's `<t><![CDATA[a<t>b]]></t>`) or
 * nothing (`<!-- <c t="d"> -->`, `<?note <c> ?>`: exceljs hears no instruction). The byte scans
 * and filters that run on a part before exceljs parses it (worksheet-scan.ts, cell-references.ts,
 * phonetic-runs.ts) search it for tags with Buffer.indexOf, taking `<` to be escaped in text:
 * they took such tags for elements (found by a review). They search a copy with these sections
 * blanked instead ({@link LiteralSections.blanked}), and take what they pass on from the bytes as
 * written. An instruction was searched as markup too: its `<c>` counted as a cell moved every later
 * cell of its row a column on, and its `<c t="d">` refused the workbook (found by a review). Within
 * a comment, `<![CDATA[` is comment, within CDATA, `<!--` is text, and within an instruction both
 * are its content: each section is closed only by its own end. The XML declaration (`<?xml …?>`)
 * is read as an instruction, which it is written as: nothing in it is looked for. A `<!` that
 * begins neither is a DOCTYPE, which no spreadsheet writer puts in a part, or no XML at all: it is
 * noted ({@link LiteralSections.declares}), and refuses the workbook ({@link DocumentTypeScan}).
 *
 * Most parts hold none but the declaration: a chunk costs one search for `<!` and one for `<?`,
 * and is searched as it is. What is
 * kept is the sections that reach into what the caller will look at again, and the few bytes at
 * a chunk's end that could begin a section's start or end (a start or end split between chunks).
 */

const DECLARATION = Buffer.from('<!');
const COMMENT_OPEN = Buffer.from('<!--');
const COMMENT_CLOSE = Buffer.from('-->');
const CDATA_OPEN = Buffer.from('<![CDATA[');
const CDATA_CLOSE = Buffer.from(']]>');
const OPENINGS = [COMMENT_OPEN, CDATA_OPEN];
const INSTRUCTION_OPEN = Buffer.from('<?');
const INSTRUCTION_CLOSE = Buffer.from('?>');
/** What a `<` at a chunk's end could begin: held until the next byte tells. */
const STARTS = [DECLARATION, INSTRUCTION_OPEN];
const SPACE = 0x20;

export class LiteralSections {
  /** Each section's start and end in the part (`Infinity` while its end is to come), in order. */
  private starts: number[] = [];
  private ends: number[] = [];
  /** The bytes of the part noted so far. */
  private noted = 0;
  /** The last bytes noted that could begin a section's start, or its end: searched again with the next chunk. */
  private carry: Buffer = Buffer.alloc(0);
  /** Inside a section: the end it closes by. */
  private closing: Buffer | undefined;
  /** Whether a `<!` has been noted that opens neither a comment nor a CDATA section. */
  private declared = false;

  /** Whether the part holds a `<!` that opens neither a comment nor a CDATA section: see {@link DocumentTypeScan}. */
  get declares(): boolean {
    return this.declared;
  }

  /** Finds the sections in the next bytes of the part. */
  note(chunk: Buffer): void {
    const window = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk]);
    const base = this.noted - this.carry.length;
    this.noted += chunk.length;
    let i = 0;
    let kept = window.length;
    // The next `<!` and `<?` from `i`, each searched again only once `i` has passed it (-1: none
    // is left): a part of many comments and one instruction at its end is not searched over and
    // over for the instruction.
    let declaration = -2;
    let instruction = -2;
    for (;;) {
      if (this.closing !== undefined) {
        const close = window.indexOf(this.closing, i);
        if (close === -1) {
          kept = partialAt(window, Math.max(i, window.length - this.closing.length + 1), [this.closing]);
          break;
        }
        i = close + this.closing.length;
        this.ends[this.ends.length - 1] = base + i;
        this.closing = undefined;
        continue;
      }
      if (declaration !== -1 && declaration < i) declaration = window.indexOf(DECLARATION, i);
      if (instruction !== -1 && instruction < i) instruction = window.indexOf(INSTRUCTION_OPEN, i);
      const open =
        declaration === -1 ? instruction : instruction === -1 ? declaration : Math.min(declaration, instruction);
      if (open === -1) {
        kept = partialAt(window, Math.max(i, window.length - 1), STARTS);
        break;
      }
      if (open === instruction) {
        this.starts.push(base + open);
        this.ends.push(Infinity);
        this.closing = INSTRUCTION_CLOSE;
        i = open + INSTRUCTION_OPEN.length;
        continue;
      }
      const opening = OPENINGS.find((o) => startsAt(window, open, o));
      if (opening === undefined) {
        // Too near the end to tell: searched again with the bytes that do.
        if (partialAt(window, open, OPENINGS) === open) {
          kept = open;
          break;
        }
        this.declared = true;
        i = open + DECLARATION.length;
        continue;
      }
      this.starts.push(base + open);
      this.ends.push(Infinity);
      this.closing = opening === COMMENT_OPEN ? COMMENT_CLOSE : CDATA_CLOSE;
      i = open + opening.length;
    }
    // A copy, of a few bytes: a view would keep the whole chunk alive.
    this.carry = kept === window.length ? Buffer.alloc(0) : Buffer.from(window.subarray(kept));
  }

  /**
   * `window`, which starts at `base` in the part, with the bytes of every section noted in it
   * made spaces, in a copy; or `window` itself when none reaches into it. A section's closing `>`
   * is kept: looking back from a byte after it, it says no tag is open there.
   */
  blanked(window: Buffer, base: number): Buffer {
    let copy: Buffer | undefined;
    for (let k = 0; k < this.starts.length; k++) {
      const start = Math.max(0, this.starts[k]! - base);
      const end = Math.min(window.length, this.ends[k]! - base - 1);
      if (start >= end) continue;
      copy ??= Buffer.from(window);
      copy.fill(SPACE, start, end);
    }
    return copy ?? window;
  }

  /** Forgets the sections that end before `offset`, before which nothing will be looked at again. */
  forgetBefore(offset: number): void {
    let ended = 0;
    while (ended < this.ends.length && this.ends[ended]! <= offset) ended++;
    if (ended === 0) return;
    this.starts.splice(0, ended);
    this.ends.splice(0, ended);
  }
}

/**
 * Finds a document type declaration in a part as it inflates, however it is written. An XML
 * processor reads a DOCTYPE's internal subset: it expands the entities declared there and gives
 * elements the attributes it defaults (`<!ATTLIST c t CDATA "inlineStr">` makes every cell
 * without a type a string). saxes, exceljs's parser, does neither: a cell using such an entity
 * was refused as `xlsx-unreadable`, which did not say why, and a default was dropped unseen, the
 * workbook loaded as other data than it holds (found by a review). Nor does it fetch an external
 * one (`SYSTEM "file:///…"`): nothing is read from outside the file either way. No spreadsheet
 * writer puts a DOCTYPE in a part, so the workbook is refused (`xlsx-doctype`).
 *
 * Any `<!` outside a comment, a CDATA section and an instruction that opens neither counts:
 * XML is case-sensitive and allows no space in `<!DOCTYPE`, so `<!doctype` and `<! DOCTYPE` are
 * no declaration to a conforming parser but a fatal error, and a `<!` anywhere else in a part is
 * one too. Found in the bytes before the parser reads them, each is refused for the one reason,
 * before the other scans make anything of what the declaration holds (`<!ENTITY d '<c t="d">'>`
 * was refused as a date cell); the parser's own DOCTYPE event refuses too
 * (exceljs-xml-decoding.ts), should a part reach it unscanned.
 */
export class DocumentTypeScan {
  private readonly literals = new LiteralSections();
  private noted = 0;

  /** Looks at the next chunk of the part; whether it has held a declaration so far. */
  push(chunk: Buffer): boolean {
    this.literals.note(chunk);
    this.noted += chunk.length;
    // Nothing is looked at again: the sections need not be kept.
    this.literals.forgetBefore(this.noted);
    return this.literals.declares;
  }
}

/** Whether `bytes` holds the whole of `pattern` at `at`. */
function startsAt(bytes: Buffer, at: number, pattern: Buffer): boolean {
  if (at + pattern.length > bytes.length) return false;
  return bytes.compare(pattern, 0, pattern.length, at, at + pattern.length) === 0;
}

/** Where, from `from`, the end of `bytes` first spells the start of one of `patterns`; else its length. */
function partialAt(bytes: Buffer, from: number, patterns: readonly Buffer[]): number {
  for (let p = Math.max(0, from); p < bytes.length; p++) {
    const rest = bytes.length - p;
    if (patterns.some((o) => rest < o.length && bytes.compare(o, 0, rest, p) === 0)) return p;
  }
  return bytes.length;
}
