import type { Kysely, Migration } from 'kysely';
import { fillSubjectIdIndex } from '../../audit/subject-id-fill.js';
import type { Dialect } from '../dialect.js';
import { inAuditFile } from './0035-access-log-request-index.js';

/**
 * `access_log_subject_id`: the person ids of each access-log entry about several people, one row
 * a person (shared/audit/entry-subjects.ts). Such an entry keeps them space-separated in its one
 * `subject_ref`, part of the entry's hashed format, so a subject access request found it by a
 * LIKE with a leading wildcard, which no index serves: every request read the whole log, 20,000
 * entries a page (dpo-views.ts). With this table each id is a seek, and an entry about one person
 * is still found by its subject (access_log_subject).
 *
 * Derived data, not the log: no part of an entry's hash nor of the chain verified (verification
 * only fills the rows missing, subject-id-fill.ts), written by the
 * log's writers in the entry's own transaction (access-log.ts, access-log-thread.ts), and
 * append-only as the log is (a row deleted would hide an entry from a person's request). On
 * SQLite on disk it is in the log's own file (migration 0009), where the log's writer thread
 * reaches it. The entries already in the log are indexed here, by the same fill: an instance still
 * running the code before this one appends entries without their rows.
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
      // Within the transaction the migrations run in (migrateToLatest on SQLite, Kysely's on SQL Server).
      await fillSubjectIdIndex(db, d, { table, inTransaction: true });
    },
    async down(db: Kysely<unknown>) {
      const inAudit = await inAuditFile(d, db);
      await db.schema.dropTable(inAudit ? 'audit.access_log_subject_id' : 'access_log_subject_id').execute();
    },
  };
}
