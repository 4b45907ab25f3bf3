import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Postcode columns one character wider: a BFPO number is a postcode since validatePostcode took
 * them (identifiers.ts), and "BFPO 5439" is nine characters, one more than the longest UK
 * postcode with its space. On Azure SQL `source_record.postcode` and `opt_out_kept_record.postcode`
 * were nvarchar(8), which would refuse such a value and with it the whole load; the import's
 * temporary table of opted-out records (opt-out-successors.ts) is made nine wide with them.
 *
 * SQL Server widens an nvarchar column in place, in an index too (`source_record_postcode_name`);
 * both columns stay nullable, as they were. SQLite does not hold text to its declared length, and
 * cannot alter a column's type: nothing to do there.
 */
const TABLES = ['source_record', 'opt_out_kept_record'] as const;

export function postcodeWidth(d: Dialect): Migration {
  const widen = async (db: Kysely<unknown>, width: number) => {
    if (d.engine !== 'mssql') return;
    for (const table of TABLES) {
      await db.schema
        .alterTable(table)
        .alterColumn('postcode', (c) => c.setDataType(d.text(width)))
        .execute();
    }
  };
  return {
    up: (db) => widen(db, 9),
    down: (db) => widen(db, 8),
  };
}
