import { sql, type RawBuilder } from 'kysely';

/**
 * {@link datesClearlyDiffer} of two stored dates of birth (`YYYY-MM-DD`, both present), in SQL
 * that SQLite and SQL Server both run: true where they cannot be one person's date mistyped — a
 * different year, or a day or month more than one digit out and not swapped. For the comparisons
 * an import makes of stored dates by SQL (the person-id carry by identifier,
 * carried-person-ids.ts), so that a slip the matcher forgives does not cost a person their id,
 * and a date the matcher calls another person's is not given it. Same year, the day and month
 * are the only digits that can differ (the separators always agree).
 *
 * @param a a column reference, `alias.column`, written by the caller (never input).
 * @param b likewise.
 */
export function datesClearlyDifferSql(a: string, b: string): RawBuilder<boolean> {
  const part = (column: string, from: number, length: number) =>
    `substring(${checkedColumn(column)}, ${from}, ${length})`;
  const digitsOut = [6, 7, 9, 10].map((i) => `case when ${part(a, i, 1)} <> ${part(b, i, 1)} then 1 else 0 end`);
  const swapped = `${part(a, 6, 2)} = ${part(b, 9, 2)} and ${part(a, 9, 2)} = ${part(b, 6, 2)}`;
  return sql.raw<boolean>(
    `(${a} <> ${b} and (${part(a, 1, 4)} <> ${part(b, 1, 4)} or (not (${swapped}) and ${digitsOut.join(' + ')} > 1)))`,
  );
}

/** A column reference written into the SQL text: `alias.column`, never input. */
function checkedColumn(column: string): string {
  if (!/^[a-z_]+\.[a-z_]+$/.test(column)) throw new RangeError('A date column is `alias.column`.');
  return column;
}
