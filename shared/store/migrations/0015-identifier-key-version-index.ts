import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `record_identifier_key_version`: an index on `record_identifier(key_version)`. Lookups hash a
 * query's identifiers under every pseudonymisation key version the store holds, and each instance
 * asks which those are every minute (shared/people/stored-key-versions.ts); without the index that
 * question reads every identifier, with it one seek a version. A snapshot's identifiers share
 * one version and rising rowids, so on SQLite its rows append at one place in the index.
 */
export function identifierKeyVersionIndex(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createIndex('record_identifier_key_version')
        .on('record_identifier')
        .column('key_version')
        .execute();
    },
    async down(db: Kysely<unknown>) {
      // SQL Server names an index within its table; SQLite within the schema, and refuses `on`.
      const drop = db.schema.dropIndex('record_identifier_key_version');
      await (d.engine === 'mssql' ? drop.on('record_identifier') : drop).execute();
    },
  };
}
