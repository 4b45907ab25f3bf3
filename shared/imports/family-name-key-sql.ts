import { sql, type RawBuilder } from 'kysely';
import { JOINED_PREFIXES } from '../domain/normalise.js';

/**
 * {@link familyNameKey} of a stored (normalised) family name column, in SQL that SQLite and SQL
 * Server both run: the space after a leading O, D, MC or MAC removed, any other name the column
 * itself. For the comparisons an import makes of stored names by SQL (the person-id carry by
 * date of birth and names, carried-person-ids.ts), so that a feed that writes "O Brien" in one
 * snapshot and "O'Brien" in the next compares them as the linking rules and the lookups by names
 * do. Never what is stored or hashed: family_name keeps the feed's form (pair, identity and kept
 * keys are made from it).
 *
 * Built from the prefixes of normalise.ts, so the two cannot drift apart. A name with no prefix
 * and a space (nearly all) fails every `like` on its first characters and comes back as it is;
 * stored names are upper-cased, so SQLite's case-blind `like` matches what `=` would. The column
 * is at most 200 characters (the store's width), which the substring's length covers.
 *
 * @param column a column reference, `alias.column`, written by the caller (never input).
 */
export function familyNameKeySql(column: string): RawBuilder<string> {
  return sql.raw<string>(`(case ${joiningWhens(checkedColumn(column)).join(' ')} else ${column} end)`);
}

/**
 * The other stored spelling of a (normalised) family name column with the same
 * {@link familyNameKey}, as SQL text (for the statements built as text, opt-out-successors.ts)
 * that SQLite and SQL Server both run, as {@link familyNameKeySql}: "O BRIEN" -> OBRIEN, "OBRIEN" ->
 * O BRIEN, "MACE" -> MAC E; the column itself where there is none. With the column it makes
 * familyNameSpellings, so `x.family_name in (y.family_name, <this of y.family_name>)` compares
 * the two by key and is still one index seek a spelling on x's family_name.
 *
 * @param column a column reference, `alias.column`, written by the caller (never input).
 */
export function otherFamilyNameSpellingSql(column: string): string {
  checkedColumn(column);
  const spaced = checkedPrefixes().map(
    (p) => `when ${column} like '${p}_%' then concat('${p} ', substring(${column}, ${p.length + 1}, 200))`,
  );
  // Spaced first: 'O_%' below would match "O BRIEN" too.
  return `(case ${[...joiningWhens(column), ...spaced].join(' ')} else ${column} end)`;
}

/** A column reference written into the SQL text: `alias.column`, never input. */
function checkedColumn(column: string): string {
  if (!/^[a-z_]+\.[a-z_]+$/.test(column)) throw new RangeError('A family name column is `alias.column`.');
  return column;
}

/** The prefixes, each checked to be upper-case letters, as they are written into the SQL text. */
function checkedPrefixes(): readonly string[] {
  for (const prefix of JOINED_PREFIXES)
    if (!/^[A-Z]+$/.test(prefix)) throw new RangeError('A family-name prefix is upper-case letters.');
  return JOINED_PREFIXES;
}

/** The `when`s that take the space out after a leading prefix ("O BRIEN" -> OBRIEN). */
function joiningWhens(column: string): string[] {
  return checkedPrefixes().map(
    (p) => `when ${column} like '${p} %' then concat('${p}', substring(${column}, ${p.length + 2}, 200))`,
  );
}
