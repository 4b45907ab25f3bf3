import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';
import { inAuditFile } from './0035-access-log-request-index.js';

/**
 * `access_log_subject_id_filled`: how far the checkpointer has filled the index of subjects
 * (migration 0050) with the rows an instance still on the code before 0050 left out, one row for
 * each seq it filled through (shared/audit/checkpointer.ts). The checkpointer filled only past the
 * checkpoint its run extended: a run whose fill failed after it anchored left its range unfilled
 * for good, as did one older code anchored after 0050 ran, and only a DPO's verify found them. Each
 * run now fills from the highest seq recorded here, and records its own only once its fill has
 * committed; with none recorded (this migration adds none) the first fills the whole log, once.
 *
 * Keyed by the seq, so the highest is one seek and two runs recording the same is one row;
 * append-only, as nothing it records is taken back. In the log's own file beside the index
 * (migration 0009), so that the two are kept, copied or restored together.
 */
export function accessLogSubjectIdsFilled(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      const schema = (await inAuditFile(d, db)) ? 'audit' : undefined;
      const table = schema === undefined ? 'access_log_subject_id_filled' : `${schema}.access_log_subject_id_filled`;
      await d
        .appendOnly(db.schema.createTable(table).addColumn('through_seq', d.bigInteger(), (c) => c.primaryKey()))
        .execute();
      await d.protectAppendOnly(db, 'access_log_subject_id_filled', schema);
    },
    async down(db: Kysely<unknown>) {
      const inAudit = await inAuditFile(d, db);
      await db.schema
        .dropTable(inAudit ? 'audit.access_log_subject_id_filled' : 'access_log_subject_id_filled')
        .execute();
    },
  };
}
