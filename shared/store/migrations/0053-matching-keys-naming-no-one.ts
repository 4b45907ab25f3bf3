import { sql, type Kysely, type Migration } from 'kysely';
import { matchingPostcode } from '../../domain/identifiers.js';
import { isPlaceholderGivenName } from '../../domain/normalise.js';
import { inSlices } from '../batched-insert.js';
import type { Dialect } from '../dialect.js';

/**
 * `source_record`'s matching columns cleared where a load before today's rules kept a value that
 * names no one: a placeholder given name ("BABY", "UNKNOWN": normalise.ts isPlaceholderGivenName)
 * in `given_name` and `first3`, and a postcode that places no one (a forces postcode, "BFPO 61" or
 * "BF1 4FB", or a pseudo-postcode: identifiers.ts matchingPostcode) in `postcode`. A load now
 * stores none for them (storage-plan.ts), but the linking pass, a lookup, a duplicate check, a
 * subject access request and the opt-out rules compare the columns as stored: "Babette Smith" and
 * a date of birth found an earlier load's "Baby Smith" born that day by its "BAB", and two Baby
 * Smiths stayed joined, until the party sent again. The attributes keep what
 * the source wrote, to show.
 *
 * Decided by the rules' own functions, not a copy of them in SQL: the records are read by id, a
 * page at a time, and those the rules clear are updated by id ({@link inSlices}). Run again, it
 * finds none. Nothing to restore on the way down: the values cleared were never matching keys.
 *
 * A temporary UPN kept before its rule cannot be told apart here (only its keyed hash is stored),
 * and is left to its party's next snapshot.
 */
export function matchingKeysNamingNoOne(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      const { top, limit } = d.firstRowsClauses(RECORDS_A_PAGE);
      for (let after = ''; ;) {
        const { rows } = await sql<{ id: string; given_name: string | null; postcode: string | null }>`
          select ${top} id, given_name, postcode from source_record
          where id > ${after} and (given_name is not null or postcode is not null)
          order by id ${limit}`.execute(db);
        const placeholders = rows.filter((r) => r.given_name !== null && isPlaceholderGivenName(r.given_name));
        await inSlices(d.engine, ids(placeholders), async (slice) => {
          await sql`update source_record set given_name = null, first3 = null where id in (${sql.join(slice)})`.execute(
            db,
          );
          return [];
        });
        const placingNoOne = rows.filter((r) => r.postcode !== null && matchingPostcode(r.postcode) === null);
        await inSlices(d.engine, ids(placingNoOne), async (slice) => {
          await sql`update source_record set postcode = null where id in (${sql.join(slice)})`.execute(db);
          return [];
        });
        if (rows.length < RECORDS_A_PAGE) return;
        after = rows[rows.length - 1]!.id;
      }
    },
    async down() {
      // The values cleared named no one: nothing to restore.
    },
  };
}

/** Records read a statement: a page of ids, names and postcodes, a few MB however large the store. */
const RECORDS_A_PAGE = 10_000;

const ids = (rows: readonly { id: string }[]) => rows.map((r) => r.id);
