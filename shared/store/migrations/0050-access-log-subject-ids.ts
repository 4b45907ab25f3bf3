import { sql, type Kysely, type Migration } from 'kysely';
import { indexedSubjectIds, SUBJECT_SEPARATOR } from '../../audit/entry-subjects.js';
import type { Dialect } from '../dialect.js';
import { inAuditFile } from './0035-access-log-request-index.js';

/** Entries read at a time while the index is filled for those already in the log. */
const BACKFILL_BATCH = 1000;
/** Rows of the index one insert writes: two parameters each, within SQL Server's 2,100 and its 1,000 rows. */
const ROWS_PER_INSERT = 1000;

/**
 * `access_log_subject_id`: the person ids of each access-log entry about several people, one row
 * a person (shared/audit/entry-subjects.ts). Such an entry keeps them space-separated in its one
 * `subject_ref`, part of the entry's hashed format, so a subject access request found it by a
 * LIKE with a leading wildcard, which no index serves: every request read the whole log, 20,000
 * entries a page (dpo-views.ts). With this table each id is a seek, and an entry about one person
 * is still found by its subject (access_log_subject).
 *
 * Derived data, not the log: no part of an entry's hash nor of verification, written by the
 * log's writers in the entry's own transaction (access-log.ts, access-log-thread.ts), and
 * append-only as the log is (a row deleted would hide an entry from a person's request). On
 * SQLite on disk it is in the log's own file (migration 0009), where the log's writer thread
 * reaches it. The entries already in the log are indexed here: only those whose subject holds
 * the separator are read, a batch at a time.
 */
export function accessLogSubjectIds(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      const schema = (await inAuditFile(d, db)) ? 'audit' : undefined;
      const table = schema === undefined ? 'access_log_subject_id' : `${schema}.access_log_subject_id`;
      await d
        .appendOnly(
          db.schema
            .createTable(table)
            .addColumn('person_id', d.text(64), (c) => c.notNull())
            .addColumn('seq', d.bigInteger(), (c) => c.notNull())
            .addPrimaryKeyConstraint('access_log_subject_id_pk', ['person_id', 'seq']),
        )
        .execute();
      await d.protectAppendOnly(db, 'access_log_subject_id', schema);
      const { top, limit } = d.firstRowsClauses(BACKFILL_BATCH);
      const aboutSeveral = `%${SUBJECT_SEPARATOR}%`;
      for (let after = 0; ;) {
        const batch = await sql<{ seq: number | string; subject_ref: string }>`
          select ${top} seq, subject_ref from access_log
          where seq > ${after} and subject_ref like ${aboutSeveral} order by seq ${limit}`.execute(db);
        const rows = batch.rows.flatMap((r) =>
          indexedSubjectIds(r.subject_ref).map((id) => ({ id, seq: Number(r.seq) })),
        );
        for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
          const values = rows.slice(i, i + ROWS_PER_INSERT).map((r) => sql`(${r.id}, ${r.seq})`);
          await sql`insert into ${sql.table(table)} (person_id, seq) values ${sql.join(values)}`.execute(db);
        }
        if (batch.rows.length < BACKFILL_BATCH) return;
        after = Number(batch.rows.at(-1)!.seq);
      }
    },
    async down(db: Kysely<unknown>) {
      const inAudit = await inAuditFile(d, db);
      await db.schema.dropTable(inAudit ? 'audit.access_log_subject_id' : 'access_log_subject_id').execute();
    },
  };
}
