import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `curated_release.min_cell`: the CURATED_MIN_CELL a release was published under. A DPO who raises
 * the setting, a cell having been judged disclosive, expects what was published under the lower
 * minimum to stop being readable; the daily heal withdraws a release whose minimum is under the
 * setting now (curated-releases.ts, withdrawNoLongerPublishable), which it cannot tell from the
 * manifest without reading and parsing every release's at every heal.
 *
 * Filled from the manifest each release has kept since 0047 (`method.minimumCell`, written since
 * the export's first release). Null where there is none: a release stored before 0047, whose
 * minimum nothing records; the heal withdraws it once, as it cannot tell it was published under
 * the minimum in force now.
 */
export function curatedReleaseMinCell(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('curated_release').addColumn('min_cell', 'integer').execute();
      // Guarded, so that a manifest that is not JSON leaves its release's minimum unknown rather
      // than failing the migration.
      const recorded =
        d.engine === 'mssql'
          ? sql`case when isjson(manifest) = 1 then try_cast(json_value(manifest, '$.method.minimumCell') as int) end`
          : sql`case when json_valid(manifest) then json_extract(manifest, '$.method.minimumCell') end`;
      await sql`update curated_release set min_cell = ${recorded} where manifest is not null`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('curated_release').dropColumn('min_cell').execute();
    },
  };
}
