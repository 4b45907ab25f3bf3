import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `link_decision` keyed on (pair_key, agreement_id) instead of pair_key: a pair key names the
 * records' parties, datasets and values, not the agreement, and a dataset can move from one
 * agreement to another at a re-signing. The new agreement's reviewers decide the pair again
 * (shared/linkage/link-decisions.ts), and their decision had taken the old agreement's row's
 * place: its DPOs lost the record of their own agreement's decision, and its passes no longer
 * followed it should the dataset move back (found by a review).
 *
 * A unique index, not a primary key: a decision made before 0025 names no agreement (NULL), is
 * read by every agreement's passes, and a key's columns cannot be null on SQL Server. SQL Server
 * holds such a pair key to one NULL row, as before; SQLite counts NULLs apart. An officer's
 * decision never writes one (review-queue.ts: it is its agreement's, beside the NULL row), and a
 * pass writes only the one it read (link-decisions.ts). SQLite cannot change
 * a primary key in place, so on both engines the rows are copied aside and the table is built
 * again under its own name, as 0016 did.
 */
const COLUMNS =
  'pair_key, decision, party_id, client_id, request_id, score, decided_at, identity_key, print_a, print_b, agreement_id';

export function decisionPerAgreement(d: Dialect): Migration {
  const rebuild = async (db: Kysely<unknown>, perAgreement: boolean, copyBack: string) => {
    const create = (name: string, keyed: boolean) =>
      db.schema
        .createTable(name)
        .addColumn('pair_key', d.text(64), (c) => (keyed && !perAgreement ? c.primaryKey() : c.notNull()))
        .addColumn('decision', d.text(20), (c) => c.notNull())
        .addColumn('party_id', d.text(100), (c) => c.notNull())
        .addColumn('client_id', d.text(200), (c) => c.notNull())
        .addColumn('request_id', d.text(100), (c) => c.notNull())
        .addColumn('score', 'double precision')
        .addColumn('decided_at', d.timestamp(), (c) => c.notNull())
        .addColumn('identity_key', d.text(64))
        .addColumn('print_a', d.text(64))
        .addColumn('print_b', d.text(64))
        .addColumn('agreement_id', d.text(100))
        .execute();
    await create('link_decision_0044', false);
    await sql.raw(`insert into link_decision_0044 (${COLUMNS}) select ${COLUMNS} from link_decision`).execute(db);
    await db.schema.dropTable('link_decision').execute();
    await create('link_decision', true);
    // Clustered on SQL Server, as the primary key it replaces was: a table without one is a heap,
    // its rows in no order, where every read of a decision is by its pair key.
    if (perAgreement)
      await sql
        .raw(
          `create unique ${d.engine === 'mssql' ? 'clustered ' : ''}index "link_decision_pair_agreement" on "link_decision" ("pair_key", "agreement_id")`,
        )
        .execute(db);
    await sql.raw(copyBack).execute(db);
    await db.schema.dropTable('link_decision_0044').execute();
  };
  return {
    async up(db: Kysely<unknown>) {
      await rebuild(db, true, `insert into link_decision (${COLUMNS}) select ${COLUMNS} from link_decision_0044`);
    },
    async down(db: Kysely<unknown>) {
      // Back to one decision a pair key: the latest, which the table held before (a later
      // decision took the earlier's place), the agreement's id breaking a tie.
      await rebuild(
        db,
        false,
        `insert into link_decision (${COLUMNS}) select ${COLUMNS} from link_decision_0044 t
          where not exists (select 1 from link_decision_0044 u where u.pair_key = t.pair_key
            and (u.decided_at > t.decided_at or (u.decided_at = t.decided_at
              and coalesce(u.agreement_id, '') > coalesce(t.agreement_id, ''))))`,
      );
    },
  };
}
