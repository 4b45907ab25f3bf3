import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `import_run.as_of` and `import_run.uploaded_at`: the date a loaded snapshot describes and when
 * its blob was uploaded (Last-Modified), written when the run loads. Snapshots only move
 * forward (shared/imports/import-extract.ts), and two files of one date are ordered by their
 * upload, so a retry of an earlier upload cannot replace a later one of the same day; the run
 * ledger keeps the order even when retention has deleted every record of the snapshot.
 * Of the runs loaded before this migration only the current snapshot of each party's dataset
 * matters (the order is judged against it): the last loaded, whose records the store holds. It
 * takes its records' date and, for the upload, the time the run was received (a little after the
 * upload). One index seek a dataset: a correlated update over every run would read the
 * dataset's records once a run.
 */
export function importRunSnapshotOrder(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('import_run').addColumn('as_of', d.text(10)).execute();
      await db.schema.alterTable('import_run').addColumn('uploaded_at', d.timestamp()).execute();
      const datasets = await sql<{ party_id: string; dataset_id: string }>`
        select distinct party_id, dataset_id from import_run where status = 'loaded'`.execute(db);
      for (const { party_id: party, dataset_id: dataset } of datasets.rows) {
        const current = await sql<{ import_run_id: string; as_of: string }>`
          select ${sql.raw(d.engine === 'mssql' ? 'top 1 ' : '')}import_run_id, as_of from source_record
          where party_id = ${party} and dataset_id = ${dataset}${sql.raw(d.engine === 'mssql' ? '' : ' limit 1')}`.execute(
          db,
        );
        const record = current.rows[0];
        if (record === undefined) continue;
        await sql`
          update import_run set as_of = ${record.as_of}, uploaded_at = received_at
          where id = ${record.import_run_id} and status = 'loaded'`.execute(db);
      }
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('import_run').dropColumn('uploaded_at').execute();
      await db.schema.alterTable('import_run').dropColumn('as_of').execute();
    },
  };
}
