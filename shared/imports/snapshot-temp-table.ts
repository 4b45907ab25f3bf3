import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Engine } from '../store/dialect.js';

/**
 * A temporary table of one snapshot's transaction, named `stem`: on SQLite `temp.snapshot_<stem>`,
 * private to the connection; on SQL Server the global `##lintel_<stem without underscores>_<run id>`,
 * not a local `#` table: Kysely's mssql driver runs every statement through sp_executesql (tedious
 * execSql), and a `#` table created inside one such call is dropped when that call returns, so
 * the next statement could not find it. A `##` table lives until the session that created it
 * ends — the snapshot's transaction holds that session — and is visible to other sessions, so its
 * name is made unique by the run id, which is our own generated UUID (checked here, never caller
 * input). Created inside the transaction, a table is gone with a rolled-back load too.
 */
export function snapshotTempTable(engine: Engine, runId: string, stem: string): string {
  if (!/^[a-z_]+$/.test(stem)) throw new RangeError('A temporary table stem is lower-case letters and underscores.');
  if (engine === 'sqlite') return `temp.snapshot_${stem}`;
  const run = runId.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(run)) throw new Error('An import run id must be a UUID.');
  return `##lintel_${stem.replace(/_/g, '')}_${run.toLowerCase()}`;
}

/** A bounded text column of a temporary table (on SQL Server in the database's collation, not tempdb's). */
export function tempText(engine: Engine, n: number): RawBuilder<unknown> {
  return sql.raw(engine === 'mssql' ? `nvarchar(${n}) collate database_default` : 'text');
}

/**
 * A temporary table's name as a statement naming the table alone takes it (`insert into`, the
 * table of a `create index`): SQLite looks an unqualified name up in `temp` first.
 */
export function unqualifiedTempTable(table: string): string {
  return table.replace(/^temp\./, '');
}

/**
 * Indexes a temporary table (of {@link snapshotTempTable}) on `columns`: on SQLite the index is
 * named in the `temp` schema and the table unqualified; on SQL Server an index name is the
 * table's own, so `name` serves every run.
 */
export async function createTempIndex(
  db: Kysely<Database>,
  engine: Engine,
  table: string,
  name: string,
  columns: readonly string[],
): Promise<void> {
  if (!/^[a-z_]+$/.test(name) || !columns.every((c) => /^[a-z_]+$/.test(c)))
    throw new RangeError('An index and its columns are named in lower-case letters and underscores.');
  const index = engine === 'sqlite' ? `temp.${name}` : name;
  await sql.raw(`create index ${index} on ${unqualifiedTempTable(table)} (${columns.join(', ')})`).execute(db);
}
