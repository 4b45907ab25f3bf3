import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * From now on every run records, at its claim, the date its file says (`import_run.as_of`,
 * `uploaded_at`), and retention passes over a run not loaded whose date is behind the standing
 * snapshot as certain to be stale (enforce-retention.ts). Until now a run opened again for a newer
 * file kept the date of its earlier load: on a run not loaded that date is not its file's, and
 * could pass a newer extract over as stale. Cleared on those runs, which retention then waits
 * for (fail closed) until they finish or are claimed again.
 */
export function unloadedRunDates(_d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await sql`update import_run set as_of = null, uploaded_at = null where status <> 'loaded'`.execute(db);
    },
    async down() {
      // The dates cleared were not the runs' own: nothing to restore.
    },
  };
}
