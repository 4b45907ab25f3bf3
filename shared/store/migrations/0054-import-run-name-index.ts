import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `import_run_name`: an index on the runs of a party's dataset by file name. Every delivery asks
 * for the runs under its file's name (import-runs.ts, runsUnderName: a file overwritten since,
 * runs left unfinished or unlogged under it), and `import_run` gains a row for every distinct
 * file a party ever sends; with only the content key (party, dataset, SHA-256) to go by, each
 * asking read the dataset's whole history.
 *
 * A blob name is up to 1,024 characters, and SQL Server refuses a row whose index key passes
 * 1,700 bytes: keyed by the whole name, a long one could never be claimed. It is keyed there by
 * the name's first {@link NAME_KEY_LENGTH} characters, a computed column the optimiser matches
 * to the lookup's `substring` (runsUnderName); the name itself is still compared whole. SQLite
 * keys text of any length, and keys the name whole.
 */
export function importRunNameIndex(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (d.engine === 'mssql') {
        await sql`alter table import_run add blob_name_start as substring(blob_name, 1, ${sql.lit(NAME_KEY_LENGTH)})`.execute(
          db,
        );
        await db.schema
          .createIndex('import_run_name')
          .on('import_run')
          .columns(['party_id', 'dataset_id', 'blob_name_start'])
          .execute();
        return;
      }
      await db.schema
        .createIndex('import_run_name')
        .on('import_run')
        .columns(['party_id', 'dataset_id', 'blob_name'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      if (d.engine === 'mssql') {
        await db.schema.dropIndex('import_run_name').on('import_run').execute();
        await db.schema.alterTable('import_run').dropColumn('blob_name_start').execute();
        return;
      }
      await db.schema.dropIndex('import_run_name').execute();
    },
  };
}

/** The characters of a file's name SQL Server keys its runs by: 800 bytes of the 1,700 a key may have. */
export const NAME_KEY_LENGTH = 400;
