import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `import_run.entry_logged`: 1 once the access-log entry of the run's latest finish (since its
 * `received_at`) is written, 0 until then and again when the run is opened anew. Every delivery
 * of a file name looks for finished runs under it whose entry is missing (import-extract.ts,
 * logRunsLeftUnlogged); asked of the log alone, that read every run ever sent under the name, one
 * access-log lookup each, and a partner who sends `housing.csv` daily made it grow for ever. The
 * name's index gains the mark, so that lookup seeks the runs not yet marked only; the log is still
 * read for those, the mark being written just after the entry (a kill between leaves a run
 * unmarked, never marked without its entry). Runs whose entry is there now are marked.
 *
 * The index replaces 0054's under the same name, of which it is an extension: a lookup by name
 * alone still seeks it.
 */
export function importRunEntryLogged(d: Dialect): Migration {
  const nameColumn = d.engine === 'mssql' ? 'blob_name_start' : 'blob_name';
  return {
    async up(db: Kysely<unknown>) {
      await sql`alter table import_run add entry_logged integer not null constraint import_run_entry_logged_default default 0`.execute(
        db,
      );
      await sql`update import_run set entry_logged = 1 where exists (
        select 1 from access_log
        where access_log.request_id = import_run.id
          and access_log.action = 'import'
          and access_log.time >= import_run.received_at)`.execute(db);
      await dropNameIndex(db, d);
      await db.schema
        .createIndex('import_run_name')
        .on('import_run')
        .columns(['party_id', 'dataset_id', nameColumn, 'entry_logged'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await dropNameIndex(db, d);
      await db.schema
        .createIndex('import_run_name')
        .on('import_run')
        .columns(['party_id', 'dataset_id', nameColumn])
        .execute();
      if (d.engine === 'mssql') {
        await sql`alter table import_run drop constraint import_run_entry_logged_default`.execute(db);
      }
      await db.schema.alterTable('import_run').dropColumn('entry_logged').execute();
    },
  };
}

async function dropNameIndex(db: Kysely<unknown>, d: Dialect): Promise<void> {
  const drop = db.schema.dropIndex('import_run_name');
  await (d.engine === 'mssql' ? drop.on('import_run') : drop).execute();
}
