import type { Field } from '../agreements/schema.js';
import { matchingUpn } from '../domain/identifiers.js';
import { dateOfBirthBounds, dateOfBirthProblem, type DateOfBirthBounds } from '../domain/normalise.js';
import type { Pseudonymiser, PseudonymKind } from '../domain/pseudonymise.js';
import type { Param } from '../store/batched-insert.js';
import type { ExtractRecord } from './extract-records.js';
import type { CanonicalValue } from './field-codecs.js';
import type { RowError } from './import-report.js';
import { recordId } from './record-ids.js';
import { compileRowValidator, rowSchemaFor, type RowValidator } from './row-schema.js';
import { attributeLayout, attributesText, type AttributeLayout } from '../store/record-attributes.js';
import { matchingColumnsOf, type StoragePlan } from './storage-plan.js';

/**
 * The per-row work of an import, between reading a record and writing it: validation against
 * the row schema, normalisation of the matching columns, the attributes text and the keyed
 * hashes of the identifiers. It needs no store and no agreement set, only a {@link RowPlan}
 * (plain data), so it runs the same on the import's own thread or on a worker thread beside
 * the store writes (row-worker.ts). Raw identifiers go no further than this: a prepared batch
 * holds their hashes only.
 */

/** What preparing a file's rows needs to know, decided from its header. Structured-cloneable. */
export interface RowPlan {
  /** The file's columns, as the dataset's field names, in file order. */
  readonly columns: readonly string[];
  /** The dataset's fields (the row schema is built from them). */
  readonly fields: readonly Field[];
  readonly storage: StoragePlan;
  readonly runId: string;
  readonly partyId: string;
  readonly datasetId: string;
  readonly asOf: string;
  /** Spreadsheets pad or trim rows to the header's width; delimited text must match it. */
  readonly lenientWidth: boolean;
  /**
   * Empty header cells before the first column (header.ts, an empty column A): a row's cells
   * there must be empty, as after the last column.
   */
  readonly unnamedLeading: number;
  /**
   * Empty header cells after the last column (header.ts): a row may have cells there, as long
   * as they are empty — a value under no column name is neither stored nor dropped unseen.
   */
  readonly unnamedTrailing: number;
}

/** The attribute names a file supplies, in the dataset's order: its records' attribute layout. */
export function attributeLayoutOf(plan: Pick<RowPlan, 'columns' | 'storage'>): AttributeLayout {
  return attributeLayout(plan.storage.attributes.filter((name) => plan.columns.includes(name)));
}

/**
 * A record whose every cell is empty — a workbook row that holds only formatting, or the line of
 * bare delimiters a spreadsheet saves as CSV for one: it says nothing, as a blank line does.
 * Whitespace counts as empty, as it does for every field (field-codecs.ts trims each cell): a line
 * of nothing but spaces or tabs, which a hand-edited file or a padding export leaves, is a blank
 * line too, not a bad row of one cell (and above the header, not the header). It keeps its row
 * number, so the rows after it are reported by the file's own line numbers.
 */
export function isBlankRecord(record: ExtractRecord): boolean {
  return record.problem === undefined && record.cellProblems === undefined && allEmpty(record.cells);
}

/**
 * Whether the cells `cells[from…to)` are all empty. White space is empty, as it is under a named
 * column (field-codecs.ts trims each cell): exports that pad every cell leave spaces.
 */
function allEmpty(cells: readonly string[], from = 0, to = cells.length): boolean {
  for (let i = from; i < to; i++) if (cells[i]!.trim() !== '') return false;
  return true;
}

/** One batch of prepared rows, ready to be written. Structured-cloneable. */
export interface PreparedBatch {
  /** Row numbers of every data record of the batch, good or bad, in file order. */
  readonly rows: number[];
  /** Values of the good rows in `RECORD_ROW_COLUMNS` order (snapshot-writer.ts), row after row. */
  readonly records: Param[];
  /** Values of their identifiers in `IDENTIFIER_ROW_COLUMNS` order, row after row. */
  readonly identifiers: Param[];
  /**
   * The same identifiers hashed under each other key version the load compares with (after a
   * rotation: the previous snapshot's, and those of kept opt-out keys), in
   * `COMPARISON_IDENTIFIER_ROW_COLUMNS` order; empty otherwise. Never stored: the load only
   * compares them with the previous snapshot's hashes, to carry its person ids, and with the
   * kept keys of opted-out people (snapshot-writer.ts).
   */
  readonly comparisonIdentifiers: Param[];
  /** The errors of each bad row, in file order. */
  readonly rowErrors: RowError[][];
}

export function emptyBatch(): PreparedBatch {
  return { rows: [], records: [], identifiers: [], comparisonIdentifiers: [], rowErrors: [] };
}

interface IdentifierColumn {
  readonly index: number;
  readonly kind: PseudonymKind;
  /** NI numbers are hashed without their suffix. */
  readonly ni: boolean;
  /** A temporary UPN is not hashed: it links no one (identifiers.ts, `matchingUpn`). */
  readonly upn: boolean;
}

export class RowPreparer {
  private readonly validator: RowValidator;
  private readonly width: number;
  private readonly out: (CanonicalValue | null)[];
  private readonly identifierColumns: IdentifierColumn[];
  private readonly attributeLayout: AttributeLayout;
  /** Where each of the layout's names is in the row. */
  private readonly attributeIndexes: readonly number[];
  private readonly valueOf: (field: string | undefined) => CanonicalValue | null;
  /** Where the date of birth the matching reads is in the row, and the days it may be. */
  private readonly dateOfBirth: { readonly index: number; readonly bounds: DateOfBirthBounds } | undefined;

  constructor(
    private readonly plan: RowPlan,
    private readonly pseudonymiser: Pseudonymiser,
    /** The other key versions the load compares with (a rotation), none of them `pseudonymiser`'s. */
    private readonly comparisonKeys: readonly Pseudonymiser[] = [],
  ) {
    const { columns, storage } = plan;
    this.validator = compileRowValidator(rowSchemaFor(plan.fields, columns));
    this.width = columns.length;
    const out = new Array<CanonicalValue | null>(this.width).fill(null);
    this.out = out;
    const indexOf = new Map(columns.map((name, i) => [name, i]));
    this.identifierColumns = storage.identifiers
      .filter((id) => indexOf.has(id.field))
      .map((id) => ({
        index: indexOf.get(id.field)!,
        kind: id.kind,
        ni: id.type === 'ni-number',
        upn: id.type === 'upn',
      }));
    this.attributeLayout = attributeLayoutOf(plan);
    this.attributeIndexes = this.attributeLayout.names.map((name) => indexOf.get(name)!);
    const dobIndex = storage.dateOfBirth === undefined ? undefined : indexOf.get(storage.dateOfBirth);
    // A field the conventions name `dob` but the agreement types as text holds no ISO date to bound.
    this.dateOfBirth =
      dobIndex === undefined || plan.fields.find((f) => f.name === storage.dateOfBirth)?.type !== 'date'
        ? undefined
        : { index: dobIndex, bounds: dateOfBirthBounds(plan.asOf) };
    this.valueOf = (field) => {
      if (field === undefined) return null;
      const i = indexOf.get(field);
      return i === undefined ? null : (out[i] ?? null);
    };
  }

  /** Prepares the data records `records[from…]`. */
  prepare(records: readonly ExtractRecord[], from = 0): PreparedBatch {
    const batch = emptyBatch();
    for (let r = from; r < records.length; r++) this.add(records[r]!, batch);
    return batch;
  }

  /**
   * Prepares one data record into `batch`. A blank record ({@link isBlankRecord}) is skipped, as
   * a blank line is: it is neither a row nor a bad row.
   */
  add(record: ExtractRecord, batch: PreparedBatch): void {
    const { plan, width, out } = this;
    const { columns } = plan;
    const row = record.row;
    if (isBlankRecord(record)) return;
    batch.rows.push(row);
    if (record.problem !== undefined) {
      batch.rowErrors.push([{ row, reason: record.problem }]);
      return;
    }
    const leading = plan.unnamedLeading;
    // A value outside the named columns that the reader refused (too long, a formula) was blanked
    // there, so it would pass below as an empty cell: it is a value under no column all the same.
    if (record.cellProblems?.some((p) => p.index < leading || p.index >= leading + width) === true) {
      batch.rowErrors.push([{ row, reason: 'column-count' }]);
      return;
    }
    // Before the first named column, as after the last, a row's cells must be empty.
    if (leading > 0 && !allEmpty(record.cells, 0, Math.min(leading, record.cells.length))) {
      batch.rowErrors.push([{ row, reason: 'column-count' }]);
      return;
    }
    let cells = leading > 0 ? record.cells.slice(leading) : record.cells;
    if (cells.length !== width) {
      const restEmpty = cells.length > width && allEmpty(cells, width);
      if (
        (plan.lenientWidth && (cells.length < width || restEmpty)) ||
        (restEmpty && cells.length <= width + plan.unnamedTrailing)
      ) {
        cells = cells.slice(0, width);
        while (cells.length < width) cells.push('');
      } else {
        batch.rowErrors.push([{ row, reason: 'column-count' }]);
        return;
      }
    }
    const errors: RowError[] = [];
    if (record.cellProblems !== undefined) {
      for (const p of record.cellProblems) errors.push({ row, column: columns[p.index - leading]!, reason: p.reason });
    }
    for (const issue of this.validator.validate(cells, out)) {
      const column = columns[issue.index]!;
      if (!errors.some((e) => e.column === column)) errors.push({ row, column, reason: issue.reason });
    }
    const { dateOfBirth } = this;
    if (dateOfBirth !== undefined) {
      const dob = out[dateOfBirth.index];
      const reason = typeof dob === 'string' ? dateOfBirthProblem(dob, dateOfBirth.bounds) : undefined;
      const column = columns[dateOfBirth.index]!;
      if (reason !== undefined && !errors.some((e) => e.column === column)) errors.push({ row, column, reason });
    }
    if (errors.length > 0) {
      batch.rowErrors.push(errors);
      return;
    }
    const matching = matchingColumnsOf(plan.storage, this.valueOf);
    if (!matching.ok) {
      batch.rowErrors.push([{ row, column: matching.field, reason: matching.reason }]);
      return;
    }
    const id = recordId(plan.runId, row);
    const m = matching.columns;
    // What every row of the run shares (run, party, dataset, date, key version) the snapshot
    // writer adds: it need not cross from the worker thread with every row.
    batch.records.push(
      id,
      row,
      m.given_name,
      m.family_name,
      m.first3,
      m.date_of_birth,
      m.postcode,
      m.address,
      attributesText(this.attributeLayout.id, this.attributeIndexes, out),
    );
    const { comparisonKeys } = this;
    for (const c of this.identifierColumns) {
      const v = out[c.index];
      if (typeof v !== 'string' || (c.upn && matchingUpn(v) === null)) continue;
      const canonical = c.ni ? v.slice(0, 8) : v;
      batch.identifiers.push(id, c.kind, this.pseudonymiser.hash(c.kind, canonical));
      for (const other of comparisonKeys) {
        batch.comparisonIdentifiers.push(id, c.kind, other.keyVersion, other.hash(c.kind, canonical));
      }
    }
  }
}
