import { z } from 'zod';
import type { Field } from '../agreements/schema.js';
import { codecFor, type CanonicalValue, type CellCodec } from './field-codecs.js';
import type { RowReason } from './reasons.js';

/**
 * The row schema of a dataset, derived from its agreement fields: one zod schema per column,
 * taking the cell's text and giving its canonical value (ISO dates, booleans for Y/N flags,
 * numbers for percentages and counts, canonical identifiers and postcodes) or an issue whose
 * message is a reason code.
 *
 * The zod schema is the source of truth. Parsing a million rows through zod objects costs
 * more than the rest of the validation together, so the import runs the compiled form
 * ({@link compileRowValidator}), which takes each column's check from the schema itself (the
 * registry below ties every column schema to the function its transform calls): the two
 * cannot disagree, and a property test holds them to it.
 */

const columnChecks = z.registry<{ codec: CellCodec; field: Field }>();

function columnSchema(field: Field) {
  const codec = codecFor(field);
  const schema = z
    .string()
    .transform((raw, ctx): CanonicalValue | null => {
      const result = codec(raw);
      if (result.ok) return result.value;
      // The message is the code alone; zod leaves the input out of issues unless asked to report it.
      ctx.addIssue({ code: 'custom', message: result.reason });
      return z.NEVER;
    })
    .describe(`${field.type}${field.required ? ', required' : ''}: ${field.description}`);
  columnChecks.add(schema, { codec, field });
  return schema;
}

export type RowSchema = z.ZodObject<Record<string, ReturnType<typeof columnSchema>>>;

/** The schema of a row holding `columns` (field names of the dataset, as the file's header gives them). */
export function rowSchemaFor(
  fields: readonly Field[],
  columns: readonly string[] = fields.map((f) => f.name),
): RowSchema {
  const byName = new Map(fields.map((f) => [f.name, f]));
  const shape: Record<string, ReturnType<typeof columnSchema>> = {};
  for (const name of columns) {
    const field = byName.get(name);
    if (field === undefined) throw new RangeError('rowSchemaFor: column is not a field of the dataset');
    shape[name] = columnSchema(field);
  }
  return z.strictObject(shape);
}

export interface CellIssue {
  /** Index into the columns. */
  readonly index: number;
  readonly reason: RowReason;
}

export interface RowValidator {
  readonly columns: readonly string[];
  readonly fields: readonly Field[];
  /**
   * Validates one row's cells (in column order) into `out` (canonical value or null per column).
   * Returns the issues; an empty array means the row is good.
   */
  validate(cells: readonly string[], out: (CanonicalValue | null)[]): CellIssue[];
}

const NO_ISSUES: CellIssue[] = [];

/** The fast form of a row schema: each column's check taken from the schema's registry entry. */
export function compileRowValidator(schema: RowSchema): RowValidator {
  const columns = Object.keys(schema.shape);
  const entries = columns.map((name) => {
    const entry = columnChecks.get(schema.shape[name]!);
    if (entry === undefined) throw new TypeError('compileRowValidator: schema was not built by rowSchemaFor');
    return entry;
  });
  const codecs = entries.map((e) => e.codec);
  const width = codecs.length;
  return {
    columns,
    fields: entries.map((e) => e.field),
    validate(cells, out) {
      let issues = NO_ISSUES;
      for (let i = 0; i < width; i++) {
        const result = codecs[i]!(cells[i] ?? '');
        if (result.ok) out[i] = result.value;
        else {
          out[i] = null;
          if (issues === NO_ISSUES) issues = [];
          issues.push({ index: i, reason: result.reason });
        }
      }
      return issues;
    },
  };
}
