import { columnNumber } from './cell-references.js';
import { requireAsExcelJs } from './exceljs-modules.js';
import { FileRejection } from './reasons.js';

/**
 * Hands exceljs's readers of the shared strings and the worksheet only the text a cell holds, as
 * saxes (its XML parser) reports it, before exceljs sees it.
 *
 * exceljs adds every text event to the string it is building, wherever in the XML the text is:
 * the shared strings reader starts a string again at each `<t>` but goes on adding after it, and
 * the worksheet reader adds to the cell's last value element until the next cell begins
 * (lib/stream/xlsx/workbook-reader.js, `_parseSharedStrings`; worksheet-reader.js, `parse`;
 * 4.4.0). XML laid out with line breaks and indentation between its elements (pretty-printed, as
 * some writers save it) so had the layout in the cell: `<si>⏎  <r>⏎    <t>Anna</t>⏎  </r>…`
 * read as `Anna⏎  ` and so on, each run with the white space after it (found by a review).
 * SpreadsheetML has no mixed content: text belongs to a cell only inside a `<t>` (shared strings,
 * inline strings) or a `<v>` (a value), and a formula inside an `<f>` (refused, but seen whole).
 * So in those two parts a text event is passed on only when the element it is in is one of
 * those; all else is layout. Inside them the text is passed on as written, spaces and line
 * breaks and all, whatever `xml:space` says: Excel writes `xml:space="preserve"` on text with
 * spaces at its ends and keeps them, and a writer that leaves it out means its text no less.
 * (A phonetic run's `<t>` never gets here: its bytes are taken out first, phonetic-runs.ts.)
 * Text written as CDATA (`<t><![CDATA[Ann]]></t>`, as a few writers do) is text no less, but
 * saxes reports it as a `cdata` event, which exceljs does not listen for: such a cell read as
 * empty (found by a review). In those two parts a CDATA section is handed on as text, through the
 * same filter, so one inside a `<t>` or `<v>` is the cell's and one between elements is dropped;
 * in the other parts it is left unheard, as before.
 *
 * A boolean cell (`t="b"`) is read here too: exceljs takes any value but `0` for TRUE
 * (`parseInt(text) !== 0`), so a writer's `false` (xsd:boolean's other spelling; Excel writes
 * 1 and 0) loaded as TRUE (found by a review). Its value is read as an xsd:boolean (`1`, `true`,
 * `0`, `false`, white space around them collapsed) and handed to exceljs as one of
 * {@link BOOLEAN_VALUES}, with the cell's type made an error's (`t="e"`), whose value exceljs
 * keeps as it is given: texts no XML can hold (they begin with U+0000), so no cell of the
 * workbook can be taken for one. Any other value is `unreadable`: a bad cell, not a guess. Its
 * value is its `<v>`, or an inline string's `<t>` (`<c t="b"><is><t>1</t></is></c>`), which
 * exceljs takes for the value of a cell of any type: read by the same rule, as a number cell's
 * is (below). It had been handed on unread, and read as an error's value, `cell-error` (the
 * reason for an error Excel shows) whatever it held, `1` too (found by a review).
 *
 * So is a shared string cell's index (`t="s"`): exceljs takes what `parseInt` makes of it, so
 * `1.5` named string 1 and `x` none (an empty cell). An index that is not a whole number is
 * handed on as `-1`, which names no string, and is refused as any index past the end of the
 * shared strings is (xlsx-records.ts, {@link SHARED_STRING_NONE}). Whether in a `<v>` or an inline
 * string's `<t>`, as a boolean's value: `<c t="s"><is><t>1.5</t></is></c>` had been handed on
 * unread, and named string 1 (found by a review).
 *
 * And a number cell (`t="n"`, or no type): exceljs takes what `parseFloat` makes of its value, so
 * `12abc` read as 12 and `1,5` (a decimal comma) as 1, silently (found by a review). Its value
 * must be an xsd:double: a sign, digits, a fraction, an exponent, white space around them
 * collapsed; not INF or NaN, which xsd:double allows but Excel never writes there; and within
 * what a double holds (±1.7976931348623157e308, as Excel's numbers are): `1e400`, which
 * `parseFloat` makes Infinity, read as `cell-error`, the reason a DPO reads as an error Excel
 * shows (#DIV/0!), which it is not (found by a review). One below the smallest double reads as
 * 0, as XML Schema rounds it. Such a value is handed on as it is (`parseFloat` reads it whole);
 * any other is `unreadable`, as a boolean's is, with the cell's type made an error's. exceljs takes a cell's type when the cell opens,
 * before its value is known, so the events of a number cell are held back until it closes and
 * then handed on, its type changed first if its value was unreadable. exceljs only gathers the
 * events of each chunk of XML before it reads them, so holding a cell's back changes nothing else.
 *
 * And a cell of any type exceljs does not read otherwise: exceljs reads each as a number, with
 * `parseFloat`, so `t="x"` holding `12abc` loaded 12 (found by a review). ECMA-376's cell types
 * (ST_CellType) are `b`, `d`, `e`, `inlineStr`, `n`, `s` and `str`: of these, exceljs reads `d` as
 * a number, which its ISO date is not, and no other type has a meaning to read a value by. Such a
 * cell's value is `unreadable` whatever it is, its type made an error's as the cell opens (no need
 * to wait for its value), whether its value is a `<v>` or an inline string's `<t>`. A type is
 * SpreadsheetML's only as written: `t=" n"` or `t="N"` is none of them.
 *
 * But a formula's number or boolean cell whose value is empty (`<c><f>…</f><v/></c>`, as openpyxl
 * writes every formula it has not calculated; `<c t="b"><f>…</f><v/></c>`, a formula typed
 * boolean showing nothing) has no cached result, not an unreadable one: it is handed on as an
 * empty formula string (`t="str"`), as Excel writes a formula showing nothing, which
 * xlsx-records.ts reads as such (a row of them is a blank row). A boolean cell's events are held
 * back until it closes, as a number cell's are, so that its type can still be changed: the
 * boolean one's empty value was read as unreadable, and its formula as one showing something,
 * so a template's rows of them were bad rows, not blank ones (found by a review).
 *
 * But an ISO date cell (`t="d"`) refuses the workbook, `xlsx-date-cells`, as the cell opens: it
 * is the worksheet's form of its dates, not one bad cell (reasons.ts), and the byte scan
 * (worksheet-scan.ts) refuses it so as the worksheet inflates when `t="d"` is written so. XML
 * also writes that attribute `t = "d"` (white space around its `=`) or `t="&#100;"` (a character
 * reference), which the bytes do not show and the parser reads as `d`: such a cell was one
 * `cell-unreadable` cell, a date column's every row refused one by one under a reason that does
 * not say why (found by a review). The rejection is thrown from the parser's handler, through
 * exceljs's read of the worksheet, to xlsx-records.ts, which passes a FileRejection on as it is.
 *
 * And a cell whose reference names a column its row has had a cell in already (`<c r="A2">`
 * twice), or another row than its own (`<c r="A5">` in `<row r="2">`), refuses the workbook,
 * `xlsx-cell-reference` (the row in `at.row`), as the cell opens: exceljs places a cell by its
 * column alone, so the later of two cells of one column replaced the earlier unseen, and a cell
 * naming another row loaded in the row it is written in (found by a review). No spreadsheet
 * program writes either (Excel offers to repair such a file): which value is the partner's cannot
 * be told, as of a row number given twice (xlsx-records.ts, `xlsx-row-order`). Cells written out
 * of column order lose nothing, and are read where their references place them. A reference in
 * another form than a column's letters and a row's digits is left to exceljs, as before.
 *
 * Installed on the `SaxesParser` exceljs's parse-sax module requires: its `on` wraps the handlers
 * exceljs sets on each new parser, so each parser keeps its own place in its document. Which
 * part a parser reads is told by its root element; the parsers of other parts (workbook, styles,
 * relationships) pass every event as before.
 */

/** Elements whose text is a cell's: by the root element of the part they are in. */
const TEXT_ELEMENTS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['sst', new Set(['t'])],
  ['worksheet', new Set(['t', 'v', 'f'])],
]);

/**
 * What a boolean cell reads as from exceljs: its value is `{ error: … }` with one of these
 * (xlsx-records.ts, cellText). A number cell whose value is unreadable reads as `unreadable` too.
 */
export const BOOLEAN_VALUES = { true: '\u0000TRUE', false: '\u0000FALSE', unreadable: '\u0000?' } as const;

/** xsd:boolean's lexical forms, white space collapsed. */
const XSD_BOOLEAN = /^[ \t\r\n]*(?:(1|true)|(0|false))[ \t\r\n]*$/;

/** A shared string's index as exceljs gets it: `-1` names no string. */
export const SHARED_STRING_NONE = '-1';

/** A value of XML white space alone, or none. */
const XML_SPACE = /^[ \t\r\n]*$/;

const WHOLE_NUMBER = /^[ \t\r\n]*(\d+)[ \t\r\n]*$/;

function sharedStringIndex(text: string): string {
  return WHOLE_NUMBER.exec(text)?.[1] ?? SHARED_STRING_NONE;
}

/** xsd:double's lexical forms but INF, -INF and NaN, white space collapsed. */
const XSD_DOUBLE = /^[ \t\r\n]*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?[ \t\r\n]*$/;

/** A number cell's value as exceljs's `parseFloat` will read it, if a double holds it. */
function numberValue(text: string): string {
  return XSD_DOUBLE.test(text) && Number.isFinite(parseFloat(text)) ? text : BOOLEAN_VALUES.unreadable;
}

/** Cell types exceljs reads otherwise than as a number: as text, or as an error's value. */
const TEXT_TYPES: ReadonlySet<unknown> = new Set(['inlineStr', 'str', 'e']);

/** A cell of a type read as none of SpreadsheetML's: whatever its value, not one to guess at. */
function unknownTypeValue(): string {
  return BOOLEAN_VALUES.unreadable;
}

function booleanValue(text: string): string {
  const form = XSD_BOOLEAN.exec(text);
  if (form === null) return BOOLEAN_VALUES.unreadable;
  return form[1] !== undefined ? BOOLEAN_VALUES.true : BOOLEAN_VALUES.false;
}

interface Place {
  /** The elements open at this point, outermost first. */
  readonly open: string[];
  /** The text elements of the part being read; undefined until its root is seen, or for other parts. */
  textElements: ReadonlySet<string> | undefined;
  /** In a worksheet, inside a cell whose value is read here: how it is read. */
  reading: ((text: string) => string) | undefined;
  /** In a worksheet, inside a cell: whether it has a formula (its `<f>` comes before its value). */
  formula: boolean;
  /** The text of such a cell's value so far, while inside its `<v>` (or a number cell's `<t>`). */
  valueText: string | undefined;
  /** exceljs's own text handler: such a value is handed to it when its `<v>` closes. */
  passText: Handler | undefined;
  /** In a worksheet, inside a row: its number as written (undefined if none), and the columns of its cells so far. */
  row: { readonly number: string | undefined; readonly columns: Set<number> } | undefined;
  /** In a worksheet, inside a number or boolean cell: its opening tag, and its events held back until it closes. */
  heldCell: { readonly tag: Tag; readonly held: (() => unknown)[] } | undefined;
}

type Handler = (this: unknown, value: unknown) => unknown;
type Tag = { name?: unknown; attributes?: Record<string, unknown> };

/** A cell reference as Excel writes one: a column's letters, then a row's digits. */
const CELL_REFERENCE = /^([A-Z]{1,3})(\d+)$/;

/** Refuses a cell whose reference names a column its row has had, or another row (see above). */
function checkCellReference(reference: unknown, row: Place['row']): void {
  const parts = typeof reference === 'string' ? CELL_REFERENCE.exec(reference) : null;
  if (parts === null || row === undefined) return;
  const at = row.number === undefined ? {} : { row: Number(row.number) };
  const column = columnNumber(parts[1]!);
  if (row.columns.has(column)) throw new FileRejection('xlsx-cell-reference', at);
  if (row.number !== undefined && Number(parts[2]) !== Number(row.number))
    throw new FileRejection('xlsx-cell-reference', at);
  row.columns.add(column);
}

let installed = false;

/** Installs the filter described above, once per thread (each has its own modules). */
export function readOnlyCellTextFromExcelJs(): void {
  if (installed) return;
  const saxes = requireAsExcelJs('lib/utils/parse-sax.js', 'saxes') as {
    SaxesParser?: { prototype?: { on?: unknown } };
  };
  const prototype = saxes.SaxesParser?.prototype;
  const on = prototype?.on;
  // Fail closed: a parser whose handlers cannot be followed must be looked at first.
  if (prototype === undefined || typeof on !== 'function') throw new Error('exceljs XML events cannot be followed');
  const places = new WeakMap<object, Place>();
  const placeOf = (parser: object): Place => {
    let place = places.get(parser);
    if (place === undefined)
      places.set(
        parser,
        (place = {
          open: [],
          textElements: undefined,
          reading: undefined,
          formula: false,
          valueText: undefined,
          passText: undefined,
          heldCell: undefined,
          row: undefined,
        }),
      );
    return place;
  };
  /** Hands an event to exceljs's handler now, or holds it back with its held cell's others. */
  const handOn = (place: Place, handler: Handler, thisArg: unknown, value: unknown): unknown => {
    if (place.heldCell === undefined) return handler.call(thisArg, value);
    place.heldCell.held.push(() => handler.call(thisArg, value));
    return undefined;
  };
  prototype.on = function filteredOn(this: object, name: unknown, handler: unknown): unknown {
    if (typeof handler !== 'function') return on.call(this, name, handler);
    const place = placeOf(this);
    const pass = handler as Handler;
    let wrapped: Handler = pass;
    if (name === 'opentag')
      wrapped = function openTag(this: unknown, tag: unknown) {
        const element = String((tag as Tag).name);
        if (place.open.length === 0) place.textElements = TEXT_ELEMENTS.get(element);
        if (place.open[0] === 'worksheet') {
          const attributes = (tag as Tag).attributes;
          if (element === 'row') {
            const r = attributes?.r;
            place.row = { number: typeof r === 'string' ? WHOLE_NUMBER.exec(r)?.[1] : undefined, columns: new Set() };
          } else if (element === 'c') {
            const type = attributes?.t;
            if (type === 'd') throw new FileRejection('xlsx-date-cells');
            checkCellReference(attributes?.r, place.row);
            place.reading =
              type === 'b'
                ? booleanValue
                : type === 's'
                  ? sharedStringIndex
                  : type === undefined || type === 'n'
                    ? numberValue
                    : TEXT_TYPES.has(type)
                      ? undefined
                      : unknownTypeValue;
            if ((type === 'b' || place.reading === unknownTypeValue) && attributes !== undefined) attributes.t = 'e';
            if (place.reading === numberValue || type === 'b') place.heldCell = { tag: tag as Tag, held: [] };
            place.formula = false;
          } else if (element === 'f') place.formula = true;
          else if (place.reading !== undefined && (element === 'v' || element === 't'))
            // A value, or an inline string's text, which exceljs reads as the value of a cell of any type.
            place.valueText = '';
        }
        place.open.push(element);
        return handOn(place, pass, this, tag);
      };
    else if (name === 'closetag')
      wrapped = function closeTag(this: unknown, tag: unknown) {
        const element = place.open[place.open.length - 1];
        if ((element === 'v' || element === 't') && place.valueText !== undefined && place.reading !== undefined) {
          const attributes = place.heldCell?.tag.attributes;
          const noResult = place.formula && attributes !== undefined && XML_SPACE.test(place.valueText);
          const value = noResult ? '' : place.reading(place.valueText);
          place.valueText = undefined;
          if (noResult) attributes.t = 'str';
          else if (value === BOOLEAN_VALUES.unreadable && attributes !== undefined) attributes.t = 'e';
          if (place.passText !== undefined) handOn(place, place.passText, this, value);
        } else if (element === 'c') {
          place.reading = undefined;
          const cell = place.heldCell;
          place.heldCell = undefined;
          for (const event of cell?.held ?? []) event();
        }
        try {
          return handOn(place, pass, this, tag);
        } finally {
          place.open.pop();
        }
      };
    else if (name === 'text') {
      place.passText = pass;
      wrapped = function text(this: unknown, value: unknown) {
        const { textElements, open } = place;
        if (textElements !== undefined && !textElements.has(open[open.length - 1] ?? '')) return undefined;
        if (place.valueText !== undefined) {
          place.valueText += String(value);
          return undefined;
        }
        return handOn(place, pass, this, value);
      };
      const text = wrapped;
      on.call(this, 'cdata', function cdata(this: unknown, value: unknown) {
        return place.textElements === undefined ? undefined : text.call(this, value);
      });
    }
    return on.call(this, name, wrapped);
  };
  installed = true;
}
