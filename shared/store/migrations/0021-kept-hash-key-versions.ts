import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Indexes on the key version of the identifier hashes kept after their records went
 * (`retired_identifier`, `opt_out_kept_identifier`): those hashes count among the versions the
 * store holds (shared/people/stored-key-versions.ts), which every instance asks for once a minute,
 * one seek a version, as `record_identifier_key_version` serves for the records held. And on
 * `retired_identifier(person_id)`, which a subject access request reads a person's hashes by.
 */
const INDEXES = [
  { name: 'retired_identifier_key_version', table: 'retired_identifier', column: 'key_version' },
  { name: 'retired_identifier_person', table: 'retired_identifier', column: 'person_id' },
  { name: 'opt_out_kept_identifier_key_version', table: 'opt_out_kept_identifier', column: 'key_version' },
] as const;

export function keptHashKeyVersions(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      for (const { name, table, column } of INDEXES)
        await db.schema.createIndex(name).on(table).column(column).execute();
    },
    async down(db: Kysely<unknown>) {
      for (const { name, table } of INDEXES) {
        // SQL Server names an index within its table; SQLite within the schema, and refuses `on`.
        const drop = db.schema.dropIndex(name);
        await (d.engine === 'mssql' ? drop.on(table) : drop).execute();
      }
    },
  };
}
