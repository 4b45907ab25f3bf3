import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `import_run.rejection_reason`: the reason a rejected run was rejected for (the first of its
 * report's file errors, as its access-log entry names it), null for any other status. A delivery
 * of the bytes under another name reads it when it finds the run rejected: a rejection about the
 * delivery rather than the bytes — the file deleted from incoming mid-import, the attempts spent,
 * a name, metadata or date refused (shared/imports/reasons.ts, NON_CONTENT_REASONS) — does not
 * make a copy still in incoming a duplicate of it, whenever the copy was uploaded
 * (shared/imports/import-extract.ts). Without it a
 * copy uploaded before the rejection finished was filed in rejected/ and never loaded (found by a
 * defect hunt). Runs rejected before this migration have none, and keep the rule they had: only a
 * file uploaded after the rejection is read again.
 */
export function importRunRejectionReason(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('import_run').addColumn('rejection_reason', d.text(64)).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('import_run').dropColumn('rejection_reason').execute();
    },
  };
}
