import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `import_run.as_of` and `import_run.uploaded_at`: the date a loaded snapshot describes and when
 * its blob was uploaded (Last-Modified), written when the run loads. Snapshots only move
 * forward (shared/imports/import-extract.ts), and two files of one date are ordered by their
 * upload, so a retry of an earlier upload cannot replace a later one of the same day; the run
 * ledger keeps the order even when retention has deleted every record of the snapshot.
 * Runs loaded before this migration take the date their records carry and, for the upload,
 * the time the run was received (a little after the upload).
 */
export function importRunSnapshotOrder(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('import_run').addColumn('as_of', d.text(10)).execute();
      await db.schema.alterTable('import_run').addColumn('uploaded_at', d.timestamp()).execute();
      await sql`
        update import_run set
          as_of = (select max(r.as_of) from source_record r where r.import_run_id = import_run.id),
          uploaded_at = received_at
        where status = 'loaded'`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('import_run').dropColumn('uploaded_at').execute();
      await db.schema.alterTable('import_run').dropColumn('as_of').execute();
    },
  };
}
