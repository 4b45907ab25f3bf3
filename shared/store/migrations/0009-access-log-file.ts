import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * SQLite on disk: moves the access log into its own file, attached as `audit` (see
 * accessLogFileOf in database.ts for why). Its table, indexes and append-only triggers are
 * recreated there from their own definitions, the entries copied as they are (same sequence
 * numbers, same stored leaf hashes, so every checkpoint still verifies), and the old table
 * dropped. Unqualified `access_log` then resolves to `audit.access_log`. A later migration that
 * creates an index or trigger on access_log must name `audit.` on SQLite.
 *
 * Safe to rerun after a crash part-way: each step checks what is already there. Nothing to do on
 * SQL Server, or on an in-memory SQLite store (no `audit` attached: the log stays in the store).
 */
export function accessLogFile(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (d.engine !== 'sqlite') return;
      const attached = await sql<{ name: string }>`select name from pragma_database_list where name = 'audit'`.execute(
        db,
      );
      if (attached.rows.length === 0) return;
      const inMain = await sql<{ type: string; name: string; sql: string }>`
        select type, name, sql from main.sqlite_master
        where tbl_name = 'access_log' and sql is not null
        order by case type when 'table' then 0 else 1 end`.execute(db);
      if (inMain.rows.length === 0) return;
      const inAudit = await sql<{ name: string }>`select name from audit.sqlite_master`.execute(db);
      const present = new Set(inAudit.rows.map((r) => r.name));
      const table = inMain.rows.find((r) => r.type === 'table')!;
      if (!present.has('access_log')) await sql.raw(inAuditSchema(table.sql)).execute(db);
      await sql`insert into audit.access_log select * from main.access_log where seq > (select coalesce(max(seq), 0) from audit.access_log)`.execute(
        db,
      );
      for (const object of inMain.rows) {
        if (object.type !== 'table' && !present.has(object.name)) await sql.raw(inAuditSchema(object.sql)).execute(db);
      }
      await sql`drop table main.access_log`.execute(db);
    },
    async down() {
      // The log is not moved back: a store rolled back past this point keeps reading it from the attached file.
    },
  };
}

/** `CREATE TABLE|INDEX|TRIGGER name …` → the same, with the name in the `audit` schema. */
function inAuditSchema(definition: string): string {
  const rewritten = definition.replace(/^(CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX|TRIGGER)\s+)/i, '$1audit.');
  if (rewritten === definition) throw new Error('Unexpected access_log schema object definition');
  return rewritten;
}
