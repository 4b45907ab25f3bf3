import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Indexes for reading the identifier hashes kept after their records went by key version:
 * `retired_identifier(key_version)`, for the versions a subject access request hashes under (one
 * seek a version, shared/people/stored-key-versions.ts), and `(person_id)`, which it reads a
 * person's hashes by; `opt_out_kept_identifier(dataset_id, key_version)`, for the versions a load
 * of that dataset compares its identifiers under (imports/opt-out-kept-keys.ts keptKeyVersions).
 */
const INDEXES = [
  { name: 'retired_identifier_key_version', table: 'retired_identifier', columns: ['key_version'] },
  { name: 'retired_identifier_person', table: 'retired_identifier', columns: ['person_id'] },
  {
    name: 'opt_out_kept_identifier_dataset_version',
    table: 'opt_out_kept_identifier',
    columns: ['dataset_id', 'key_version'],
  },
] as const;

export function keptHashKeyVersions(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      for (const { name, table, columns } of INDEXES)
        await db.schema
          .createIndex(name)
          .on(table)
          .columns([...columns])
          .execute();
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
