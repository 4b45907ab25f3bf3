import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `access_log.subject_ref` 400 characters wide, from 100: ten person ids and their separators
 * (shared/audit/entry-subjects.ts). At 100 an entry could name two people, and an officer's
 * decision on a link candidate is applied to every open candidate of the same values — a
 * source's duplicate rows of one person, each its own person until linked — so one entry is
 * about three people or more (shared/api/link-review-api.ts); a withdrawal of an opt-out that a
 * split left with several people is about each of them (consents-api.ts). The people left off
 * did not find the entry in their subject access answers.
 *
 * SQL Server widens an nvarchar column in place, in an index too (`access_log_subject`, whose
 * key stays well under 1,700 bytes), and a ledger table takes a change of a variable-length
 * column's length, which no stored row or hash depends on; the column stays nullable, as it
 * was. SQLite does not hold text to its declared length, and cannot alter a column's type:
 * nothing to do there. Down narrows it again, which SQL Server refuses while any entry names
 * more than two people: such entries are the log's, and are never shortened.
 */
export function accessLogSubjectWidth(d: Dialect): Migration {
  const widen = async (db: Kysely<unknown>, width: number) => {
    if (d.engine !== 'mssql') return;
    await db.schema
      .alterTable('access_log')
      .alterColumn('subject_ref', (c) => c.setDataType(d.text(width)))
      .execute();
  };
  return {
    up: (db) => widen(db, 400),
    down: (db) => widen(db, 100),
  };
}
