import type { AgreementSet, DatasetEntry } from '../agreements/agreement-set.js';
import type { FileError } from './import-report.js';

/**
 * Matching a file's header to the dataset's fields. Partners' systems spell column names their
 * own way, so a header cell matches a field when they are equal ignoring case, surrounding
 * whitespace, characters that show as nothing and the separators space, underscore, hyphen and
 * full stop ("Date of Birth", "date_of_birth" and "DATEOFBIRTH" are all `dateOfBirth`). Nothing looser: a column the
 * agreement does not list is refused, not guessed at (data minimisation).
 */

export type HeaderPlan =
  | {
      readonly ok: true;
      readonly columns: readonly string[];
      /**
       * Empty header cells before the first named column: the column A a spreadsheet's export
       * leaves empty, or the leading delimiter of every line. Their cells must be empty.
       */
      readonly unnamedLeading: number;
      /**
       * Empty header cells after the last named column: the trailing delimiter a spreadsheet
       * writes on every line for a formatted column to the right. Their cells must be empty.
       */
      readonly unnamedTrailing: number;
    }
  | { readonly ok: false; readonly errors: readonly FileError[] };

/**
 * Also the format characters (Unicode Cf), which show as nothing: a zero-width space, joiner or
 * word joiner, a byte order mark or a direction mark pasted in with a name makes it look like the
 * field's and must not make it another. Only names are matched so; values keep them.
 */
const SEPARATORS = /[\s_.\-\p{Cf}]+/gu;

export function headerKey(cell: string): string {
  return cell.normalize('NFKC').trim().toLowerCase().replace(SEPARATORS, '');
}

/**
 * The common delimiters. A header of one cell holding another than the file is read with says the
 * file is not delimited as declared (`wrong-delimiter`); so does one after a quote that closes a
 * header cell (csv-records.ts).
 */
export const COMMON_DELIMITERS = ',;\t|';
const OTHER_DELIMITERS = new RegExp(`[${COMMON_DELIMITERS}]`);

/** How many of a header's cells are columns: up to the last that holds more than white space (a spreadsheet's trailing delimiter names none). */
export function namedWidth(header: readonly string[]): number {
  let named = header.length;
  while (named > 0 && header[named - 1]!.trim() === '') named--;
  return named;
}

/**
 * How many of a header's cells come before its first name (an empty column A, a leading
 * delimiter): like a trailing delimiter's, they name no column.
 */
function unnamedLeadingWidth(header: readonly string[], named: number): number {
  let leading = 0;
  while (leading < named && header[leading]!.trim() === '') leading++;
  return leading;
}

export function planColumns(
  header: readonly string[],
  entry: DatasetEntry,
  partyId: string,
  agreements: AgreementSet,
): HeaderPlan {
  const datasetId = entry.dataset.id;
  const byKey = new Map(entry.dataset.fields.map((f) => [headerKey(f.name), f]));
  const errors: FileError[] = [];
  const named = namedWidth(header);
  const leading = unnamedLeadingWidth(header, named);
  const names = header.slice(leading, named);
  if (names.length === 1 && OTHER_DELIMITERS.test(names[0]!) && !byKey.has(headerKey(names[0]!))) {
    return { ok: false, errors: [{ reason: 'wrong-delimiter' }] };
  }
  const columns: string[] = [];
  const seen = new Set<string>();
  names.forEach((cell, n) => {
    // Errors name the column by its place in the file, where the officer will look for it.
    const i = leading + n;
    const key = headerKey(cell);
    if (key === '') {
      errors.push({ reason: 'empty-column-name', columnIndex: i + 1 });
      return;
    }
    const field = byKey.get(key);
    if (field === undefined) {
      // The header text is not repeated: a file without a header row would put a person's data here.
      errors.push({ reason: 'column-not-in-agreement', columnIndex: i + 1 });
      return;
    }
    if (seen.has(field.name)) {
      errors.push({ reason: 'duplicate-column', column: field.name, columnIndex: i + 1 });
      return;
    }
    seen.add(field.name);
    if (!agreements.maySupplyField(partyId, datasetId, field.name)) {
      errors.push({ reason: 'column-not-supplied-by-party', column: field.name, columnIndex: i + 1 });
      return;
    }
    columns.push(field.name);
  });
  for (const field of entry.dataset.fields) {
    if (field.required && !seen.has(field.name)) errors.push({ reason: 'missing-required-column', column: field.name });
  }
  return errors.length > 0
    ? { ok: false, errors }
    : { ok: true, columns, unnamedLeading: leading, unnamedTrailing: header.length - named };
}
