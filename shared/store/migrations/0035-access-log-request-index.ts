import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `access_log_request`: an index on `access_log(request_id)`. The watch rules count a lookup
 * whose own entry the log's writer lost, and whose follow-up (`response-not-sent`) it kept, by
 * that follow-up: whether a follow-up is alone is whether the log holds an earlier entry under
 * its request id (shared/audit/watch-rules.ts), asked of every follow-up in each run's lookback.
 * Without the index each asking reads the whole log, which is never shortened; with it, one seek.
 * An import's check for its own entry (import-extract.ts) asks by request id too.
 *
 * On SQLite on disk the log is in the attached `audit` file (migration 0009), and an index is
 * made in its table's schema, so it is named there; in memory, and on SQL Server, as any other.
 */
export function accessLogRequestIndex(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (await inAuditFile(d, db)) {
        await sql`create index if not exists audit.access_log_request on access_log (request_id)`.execute(db);
        return;
      }
      await db.schema.createIndex('access_log_request').on('access_log').column('request_id').execute();
    },
    async down(db: Kysely<unknown>) {
      if (await inAuditFile(d, db)) {
        await sql`drop index if exists audit.access_log_request`.execute(db);
        return;
      }
      // SQL Server names an index within its table; SQLite within the schema, and refuses `on`.
      const drop = db.schema.dropIndex('access_log_request');
      await (d.engine === 'mssql' ? drop.on('access_log') : drop).execute();
    },
  };
}

/** Whether the log is the attached `audit` file's (SQLite on disk, after migration 0009). */
export async function inAuditFile(d: Dialect, db: Kysely<unknown>): Promise<boolean> {
  if (d.engine !== 'sqlite') return false;
  const attached = await sql<{ name: string }>`select name from pragma_database_list where name = 'audit'`.execute(db);
  if (attached.rows.length === 0) return false;
  const table = await sql<{
    name: string;
  }>`select name from audit.sqlite_master where type = 'table' and name = 'access_log'`.execute(db);
  return table.rows.length > 0;
}
