/**
 * Reason codes of an import, stable so partners and the DPO can rely on them. A code names what
 * is wrong, never the value: reports and logs carry codes, row numbers and column names only.
 */

/** Why a whole file was refused (nothing from it is loaded). */
export const FILE_REASONS = [
  /**
   * The file is not at `incoming/{partyId}/{datasetId}/{fileName}` (at the top of incoming, in one
   * folder only, or deeper): whose extract of which dataset it is cannot be told.
   */
  'bad-path',
  'party-not-source',
  'unknown-dataset',
  'unsupported-file-type',
  'empty-file',
  'no-data-rows',
  /**
   * The text file, or an XML part of the workbook (exceljs-xml-decoding.ts), is not UTF-8: a byte
   * no UTF-8 character has (text saved as Latin-1 or Windows-1252), or the bytes end inside a
   * character. Saving it again as "CSV UTF-8" mends it.
   */
  'invalid-utf8',
  'nul-byte',
  /**
   * The text file is UTF-16, as Excel saves "Unicode Text": told by its first two bytes, a UTF-16
   * byte-order mark (FF FE, FE FF) or, without one, a NUL beside a byte that is not (its first
   * character, a letter or a quote, in UTF-16), after a UTF-8 byte-order mark or not:
   * csv-records.ts. Refused as `nul-byte` before, which did not say what to mend. Saving it again
   * as "CSV UTF-8" mends it.
   */
  'utf16-encoding',
  /**
   * The text file is a workbook: an XLSX (a zip) or an OLE compound file (a legacy `.xls`, or a
   * password-protected workbook), told by its first bytes (csv-records.ts). Refused as `nul-byte`
   * (an XLSX) or `invalid-utf8` before, which did not say what to mend. Uploading it named `.xlsx`
   * (a legacy or protected one saved again as `.xlsx`), or saving it as "CSV UTF-8", mends it.
   */
  'workbook-named-as-text',
  /** The text file is a PDF (`%PDF-`): it holds no extract to read. Sending the extract as CSV or XLSX mends it. */
  'pdf-named-as-text',
  'unterminated-quote',
  'malformed-quote',
  /**
   * The text file's lines end in CR alone (classic Mac OS, old exports from Excel for Mac), not in
   * CRLF or LF: told by its header (csv-records.ts). Saving it again as "CSV UTF-8" mends it.
   */
  'line-endings-cr-only',
  'wrong-delimiter',
  'header-unreadable',
  'empty-column-name',
  'duplicate-column',
  'missing-required-column',
  'column-not-in-agreement',
  'column-not-supplied-by-party',
  'bad-row-share-exceeded',
  /** The file's as-of date is before the current snapshot's: a late or retried older extract. */
  'stale-extract',
  /**
   * The file's as-of date is after the day it was uploaded (a day's grace): it would hold every
   * later extract back as stale until that date (extract-format.ts, datedAfterUpload).
   */
  'future-extract',
  /** Blob metadata `asof` is given but is no date (extract-format.ts, asOfDate): no day is guessed in its place. */
  'unreadable-asof',
  'xlsx-not-a-zip',
  'xlsx-encrypted',
  'xlsx-unreadable',
  'xlsx-multiple-sheets',
  /**
   * The workbook has more than one worksheet, all but one of them hidden (`state="hidden"` or
   * `"veryHidden"`: a lookup list behind a drop-down, a working sheet), which Excel shows no tab
   * for. Refused as any workbook of several sheets is, but named so that a partner who sees one
   * sheet knows what to look for: unhide and delete the others, or save the extract as CSV.
   */
  'xlsx-hidden-sheet',
  'xlsx-no-sheet',
  'xlsx-too-many-entries',
  'xlsx-uncompressed-too-large',
  'xlsx-compression-ratio',
  /** xl/sharedStrings.xml is larger uncompressed than the cap (zip-directory.ts): held in memory whole. */
  'xlsx-shared-strings-too-large',
  /**
   * The worksheet has ISO 8601 date cells (`t="d"`), which exceljs reads as wrong dates (2010-03-02
   * as 1905-07-02). Excel saves dates as numbers: saving the workbook again from Excel, or sending
   * CSV, mends it. Found in the worksheet's bytes (worksheet-scan.ts), or, where XML writes the
   * attribute otherwise (`t = "d"`, `t="&#100;"`), as the parser reads the cell
   * (exceljs-text-events.ts): however it is written, the same rejection.
   */
  'xlsx-date-cells',
  /**
   * A cell holds an inline string of more than one run (rich text, or phonetic runs), of which
   * exceljs keeps only the last. Excel saves such text among the shared strings: saving the
   * workbook again from Excel, or sending CSV, mends it.
   */
  'xlsx-inline-rich-text',
  /**
   * A part exceljs reads (worksheet, shared strings, workbook, styles) binds SpreadsheetML's
   * namespace to a prefix (`<x:row>`, as the Open XML SDK writes the elements it adds), which
   * exceljs does not read: such rows were dropped and such shared strings skipped, unseen.
   * Saving the workbook again from Excel, or sending CSV, mends it (worksheet-scan.ts).
   */
  'xlsx-prefixed-xml',
  /**
   * A part exceljs reads holds a document type declaration (`<!DOCTYPE …>`), or a `<!` written as
   * one in another case or with a space, which is no XML: its entities and attribute defaults
   * would be read otherwise than XML reads them (xml-literal-sections.ts, DocumentTypeScan). No
   * spreadsheet program writes one: saving the workbook again from Excel, or sending CSV, mends it.
   */
  'xlsx-doctype',
  /**
   * A cell names a shared string the workbook does not have (`at.row`: the first such row): an
   * index past the end of xl/sharedStrings.xml, one that is no whole number, or no shared strings
   * at all. The shared strings are not the ones the worksheet was written with, so no string
   * cell of it can be trusted to be the partner's; Excel itself offers to repair such a file.
   */
  'xlsx-shared-string-missing',
  /** A row's number is not above the row's before it (`at.row`: the first such row). */
  'xlsx-row-order',
  /**
   * A cell's reference names a column its row has a cell in already, or another row than its own
   * (`at.row`: the row it is written in): exceljs would keep one value of the two, or load the
   * cell in a row it does not name (exceljs-text-events.ts). No spreadsheet program writes it.
   */
  'xlsx-cell-reference',
  /**
   * A row of the worksheet is past Excel's last, 1,048,576 (`at.row`: the first such row), which
   * Excel drops on opening the file: the partner could not see the rows that would load
   * (xlsx-records.ts). Sending the extract as CSV, which has no cap, mends it.
   */
  'xlsx-too-many-rows',
  /**
   * The zip stores xl/workbook.xml or xl/styles.xml after the worksheet, though the worksheet
   * would be read as it inflates (after the shared strings and the workbook's relationships): its
   * number formats (dates, percentages) would be unknown while it is read. Excel and exceljs
   * never store them so; saving the workbook again from Excel, or sending CSV, mends it.
   */
  'xlsx-part-order',
  /**
   * An entry's inflated bytes are not what the zip's CRC-32 of it says (xlsx-records.ts): the
   * file was damaged in transfer or storage, so some cell may hold another value than the
   * partner's. Uploading the file again from the original mends it.
   */
  'xlsx-corrupted',
  /**
   * The run's attempts ran out ({@link MAX_IMPORT_ATTEMPTS}): each broke off without a result
   * (a crash, e.g. out of memory, or a failure). Not remembered as a verdict on the bytes: the
   * same file uploaded again gets a fresh set of attempts.
   */
  'import-attempts-exhausted',
  /**
   * The file was deleted from incoming while it was being imported: nothing of it is loaded. Not a
   * verdict on the bytes: the same file uploaded again is read afresh.
   */
  'removed-during-import',
  /**
   * The file was overwritten in incoming with another content under its name before its import
   * finished, and that later upload was taken up: nothing of this content is loaded, and no report
   * is written for it, the name's report being the later content's. Not a verdict on the bytes.
   */
  'overwritten-in-incoming',
] as const;
export type FileReason = (typeof FILE_REASONS)[number];

/**
 * Rejections decided without reading what the file holds: about the file as delivered, not its
 * bytes. The run is keyed by the bytes (party, dataset, SHA-256), so another file of them — a copy
 * under another name, still in incoming — is read afresh, whenever it was uploaded, where any
 * other rejection makes it a duplicate (import-extract.ts, rejectedForAnotherDelivery; the run
 * keeps its reason in `import_run.rejection_reason`). Under the rejected file's own name only an
 * upload after the rejection is, as for any rejection (so a file that keeps crashing its instance
 * does not start its attempts over on every delivery of its own message). Two kinds:
 *
 * - What befell one delivery: the file was deleted from incoming under its import
 *   (`removed-during-import`) or overwritten there by another upload (`overwritten-in-incoming`),
 *   or the deliveries that took its run up all broke off (`import-attempts-exhausted`).
 * - What the file's name, its blob's metadata and its upload time declare, and the bytes do not
 *   hold (extract-format.ts): how it is read (`unsupported-file-type`: an extension, or a metadata
 *   `delimiter`, that is none the import reads) and which day it describes (`unreadable-asof`:
 *   metadata `asof` that is no date; `future-extract`: a date after the upload; `stale-extract`: a
 *   date, or of the same date an upload, behind the current snapshot's). `x.dat` refused leaves
 *   `x.csv` of the same bytes, uploaded before that refusal finished, to load.
 *
 * Not `wrong-delimiter`, though the delimiter it was read with is the name's or the metadata's:
 * it is found by reading the header, a verdict on the bytes as read, as are the `xlsx-` reasons of
 * a file named `.xlsx` and every other reason reached by reading — a verdict that holds for a copy
 * whose name reads the bytes alike, and not for one whose name reads them otherwise (`x.csv`
 * beside a comma file named `x.tsv`: import-extract.ts, readAs); nor `party-not-source` and
 * `unknown-dataset`, which the folders decide and every file of the run shares.
 */
export const NON_CONTENT_REASONS: ReadonlySet<FileReason> = new Set([
  'removed-during-import',
  'overwritten-in-incoming',
  'import-attempts-exhausted',
  'unsupported-file-type',
  'unreadable-asof',
  'future-extract',
  'stale-extract',
]);

/**
 * Attempts one run may take that end without a final status (each delivery of an unfinished run
 * is one); the delivery after the last is rejected with `import-attempts-exhausted` instead of
 * trying again, so that a file that crashes its instance gets a report rather than the poison
 * queue. Five attempts are about 20 minutes of the queue's retries (host.json: five minutes apart,
 * QUEUE_MAX_DELIVERIES in all, which must be more).
 */
export const MAX_IMPORT_ATTEMPTS = 5;

/** Why one row was refused (the rest of the file may still load). */
export const ROW_REASONS = [
  'missing-value',
  'value-too-long',
  'row-too-long',
  'column-count',
  'control-character',
  'formula-like-value',
  'formula-cell',
  /**
   * An XLSX cell holds an error Excel shows in its place (`t="e"`: #DIV/0!, #N/A, #REF!), or a
   * date Excel shows that never was (its phantom 29 February 1900): xlsx-records.ts, cellText.
   */
  'cell-error',
  /**
   * A cell's value is not one its type allows: a boolean cell (`t="b"`) holding other than 1, 0,
   * true or false, a number cell other than a number (`12abc`, `1,5`) or beyond what a double
   * holds (`1e400`: not `cell-error`, which is an error Excel shows), or a cell of a type
   * SpreadsheetML has not (`t="x"`: exceljs-text-events.ts). Which the partner meant is not guessed.
   */
  'cell-unreadable',
  'date-format',
  'date-calendar',
  /**
   * A date of birth that is a real date but no one's (normalise.ts, dateOfBirthProblem): a
   * placeholder for "not known", after the extract's as-of date, or over 125 years before it.
   * Only the field the dataset's matching reads as the date of birth (storage-plan.ts); other
   * date fields may hold days to come.
   */
  'date-of-birth-placeholder',
  'date-of-birth-future',
  'date-of-birth-too-early',
  'flag-value',
  'percentage-format',
  'percentage-range',
  'count-format',
  'integer-format',
  'enum-value',
  'system-id-format',
  'postcode-format',
  'nhs-number-format',
  'nhs-number-check-digit',
  'nhs-number-placeholder',
  'upn-format',
  'upn-check-letter',
  'ni-number-format',
  'ni-number-prefix',
] as const;
export type RowReason = (typeof ROW_REASONS)[number];

/** Thrown by a reader or check when the whole file must be refused. */
export class FileRejection extends Error {
  constructor(
    readonly reason: FileReason,
    /** Where it applies, when it applies to one column: the agreement's field name or a 1-based position. */
    readonly at: { column?: string; columnIndex?: number; row?: number } = {},
  ) {
    super(`File rejected: ${reason}`);
    this.name = 'FileRejection';
  }
}
