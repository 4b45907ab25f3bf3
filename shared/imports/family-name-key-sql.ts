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
  if (!/^[a-z_]+\.[a-z_]+$/.test(column)) throw new RangeError('A family name column is `alias.column`.');
  const whens = JOINED_PREFIXES.map((prefix) => {
    if (!/^[A-Z]+$/.test(prefix)) throw new RangeError('A family-name prefix is upper-case letters.');
    return `when ${column} like '${prefix} %' then concat('${prefix}', substring(${column}, ${prefix.length + 2}, 200))`;
  });
  return sql.raw<string>(`(case ${whens.join(' ')} else ${column} end)`);
}
