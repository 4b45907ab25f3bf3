import { followTag, type TagState } from './worksheet-scan.js';
import { LiteralSections } from './xml-literal-sections.js';

/**
 * Takes the phonetic runs (`<rPh>…</rPh>`) out of xl/sharedStrings.xml as it inflates, before
 * exceljs parses it. Excel with a Japanese input method stores a name's reading beside it
 * (`<si><t>山田</t><rPh sb="0" eb="2"><t>ヤマダ</t></rPh></si>`) and shows the name; exceljs
 * starts its text again at every `<t>`, so it would load the reading in place of the name
 * (found by a review). A run is only ever a reading: dropping it leaves the text Excel shows.
 *
 * Searched with Buffer.indexOf, never tokenised: in text `<` is always escaped, so the pattern
 * is only ever a tag; comments and CDATA sections, where it is not, are not searched
 * (xml-literal-sections.ts): `<t><![CDATA[a<rPh>b</rPh>c]]></t>` had its middle dropped as a
 * run, and loaded `ac` (found by a review). What is held from one chunk to the next is at most the start of a pattern
 * (a few bytes): a run's tag and content are dropped as they come, however long (holding a long
 * tag and searching it again with each chunk was quadratic: found by a review). A start tag ends
 * at its own `>`, not at one in a quoted attribute value ({@link followTag}): `<rPh x="a>b"/>` was
 * taken for an open run, and every string up to the next `</rPh>` dropped with it, so each later
 * index read another string or none (found by a review).
 */
const OPEN = Buffer.from('<rPh');
const CLOSE = Buffer.from('</rPh>');
const GT = 0x3e;
const SLASH = 0x2f;

const endsName = (b: number | undefined) =>
  b === GT || b === SLASH || b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

export class PhoneticRunFilter {
  private held: Buffer = Buffer.alloc(0);
  /** Where the bytes stand: outside a run, inside its start tag, or inside its content. */
  private state: 'outside' | 'tag' | 'run' = 'outside';
  /** Inside a start tag: whether in one of its quoted values, carried from one chunk to the next. */
  private tagState: Exclude<TagState, 'text'> = 'tag';
  /** The last byte dropped inside a start tag: a `/` before its `>` makes it empty. */
  private lastTagByte = 0;
  private readonly literals = new LiteralSections();
  /** The bytes of the part pushed so far. */
  private pushed = 0;

  /** Bytes held back for the next chunk: never more than the start of a pattern. */
  get heldBytes(): number {
    return this.held.length;
  }

  /** The chunk's bytes without phonetic runs (possibly none: some are held for the next chunk). */
  push(chunk: Buffer): Buffer {
    this.literals.note(chunk);
    const data = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk]);
    const base = this.pushed - this.held.length;
    this.pushed += chunk.length;
    this.held = Buffer.alloc(0);
    if (this.state === 'outside' && data.indexOf(OPEN[0]!) === -1) return data;
    // Searched with comments and CDATA blanked: an `<rPh>` written there is text, no run.
    const markup = this.literals.blanked(data, base);
    const kept: Buffer[] = [];
    let i = 0;
    while (i < data.length) {
      if (this.state === 'tag') {
        const { end: gt, state } = followTag(markup, i, this.tagState);
        if (gt === -1) {
          this.tagState = state;
          this.lastTagByte = markup[markup.length - 1]!;
          break;
        }
        const before = gt > i ? markup[gt - 1]! : this.lastTagByte;
        this.state = before === SLASH ? 'outside' : 'run';
        i = gt + 1;
        continue;
      }
      if (this.state === 'run') {
        const close = markup.indexOf(CLOSE, i);
        if (close === -1) {
          // Dropped, but for what could be the start of `</rPh>`.
          this.held = Buffer.from(data.subarray(Math.max(i, data.length - CLOSE.length + 1)));
          break;
        }
        this.state = 'outside';
        i = close + CLOSE.length;
        continue;
      }
      const open = markup.indexOf(OPEN, i);
      if (open === -1) {
        const tail = partialPrefix(markup, Math.max(i, data.length - OPEN.length + 1));
        kept.push(data.subarray(i, tail));
        this.held = Buffer.from(data.subarray(tail));
        break;
      }
      const next = open + OPEN.length;
      if (next >= data.length) {
        kept.push(data.subarray(i, open));
        this.held = Buffer.from(data.subarray(open));
        break;
      }
      if (!endsName(markup[next])) {
        // `<rPhx…`: another element's name.
        kept.push(data.subarray(i, next));
        i = next;
        continue;
      }
      kept.push(data.subarray(i, open));
      this.state = 'tag';
      this.tagState = 'tag';
      this.lastTagByte = 0;
      i = next;
    }
    this.literals.forgetBefore(base + data.length - this.held.length);
    return kept.length === 1 ? kept[0]! : Buffer.concat(kept);
  }
}

/** Where, from `from`, the end of `data` starts to spell the start of `<rPh`; else its length. */
function partialPrefix(data: Buffer, from: number): number {
  for (let p = from; p < data.length; p++) {
    const rest = data.subarray(p);
    if (OPEN.subarray(0, rest.length).equals(rest)) return p;
  }
  return data.length;
}
