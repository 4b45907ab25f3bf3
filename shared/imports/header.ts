import type { AgreementSet, DatasetEntry } from '../agreements/agreement-set.js';
import type { FileError } from './import-report.js';

/**
 * Matching a file's header to the dataset's fields. Partners' systems spell column names their
 * own way, so a header cell matches a field when they are equal ignoring case, surrounding
 * whitespace and the separators space, underscore, hyphen and full stop ("Date of Birth",
 * "date_of_birth" and "DATEOFBIRTH" are all `dateOfBirth`). Nothing looser: a column the
 * agreement does not list is refused, not guessed at (data minimisation).
 */

export type HeaderPlan =
  | {
      readonly ok: true;
      readonly columns: readonly string[];
      /**
       * Empty header cells after the last named column: the trailing delimiter a spreadsheet
       * writes on every line for a formatted column to the right. Their cells must be empty.
       */
      readonly unnamedTrailing: number;
    }
  | { readonly ok: false; readonly errors: readonly FileError[] };

const SEPARATORS = /[\s_.-]+/g;

export function headerKey(cell: string): string {
  return cell.normalize('NFKC').trim().toLowerCase().replace(SEPARATORS, '');
}

/** A header of one cell holding another common delimiter: the file is not delimited as declared. */
const OTHER_DELIMITERS = /[,;\t|]/;

export function planColumns(
  header: readonly string[],
  entry: DatasetEntry,
  partyId: string,
  agreements: AgreementSet,
): HeaderPlan {
  const datasetId = entry.dataset.id;
  const byKey = new Map(entry.dataset.fields.map((f) => [headerKey(f.name), f]));
  const errors: FileError[] = [];
  // Trailing cells with nothing in them (a spreadsheet's trailing delimiter) are not columns.
  let named = header.length;
  while (named > 0 && header[named - 1]!.trim() === '') named--;
  if (named === 1 && OTHER_DELIMITERS.test(header[0] ?? '') && !byKey.has(headerKey(header[0] ?? ''))) {
    return { ok: false, errors: [{ reason: 'wrong-delimiter' }] };
  }
  const columns: string[] = [];
  const seen = new Set<string>();
  header.slice(0, named).forEach((cell, i) => {
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
  return errors.length > 0 ? { ok: false, errors } : { ok: true, columns, unnamedTrailing: header.length - named };
}
