import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * One decision made before 0025 (`agreement_id` NULL) a pair key on SQLite, as on SQL Server. The
 * unique index of 0044 on (pair_key, agreement_id) holds SQL Server to one such row, as it counts
 * NULLs alike; SQLite counts them apart, so a writer that left two passed every test here and
 * would fail on Azure SQL, and a pass read whichever came last as the officer's word (found by a
 * review). A partial index on SQLite does what SQL Server's does; SQL Server needs nothing.
 *
 * Any two already there are one officer's decision on one pair, read by every agreement: the
 * latest is kept, as a later decision took an earlier's place before 0044 (its down).
 */
export function decisionLegacyUnique(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (d.engine !== 'sqlite') return;
      await sql`delete from link_decision where agreement_id is null and exists (
          select 1 from link_decision u where u.agreement_id is null and u.pair_key = link_decision.pair_key
            and (u.decided_at > link_decision.decided_at
              or (u.decided_at = link_decision.decided_at and u.rowid > link_decision.rowid)))`.execute(db);
      await sql`create unique index link_decision_legacy_pair on link_decision (pair_key) where agreement_id is null`.execute(
        db,
      );
    },
    async down(db: Kysely<unknown>) {
      if (d.engine !== 'sqlite') return;
      await sql`drop index link_decision_legacy_pair`.execute(db);
    },
  };
}
