import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `retention_run`: a retention pass's own record of whether its deletion committed. A pass
 * writes its `retention-delete` entries to the access log before its deletion commits (a
 * deletion the log does not show must not happen), so the log alone cannot tell a pass that
 * committed from one whose process died before it did. The pass notes itself here before it
 * starts (`committed_at` null) and sets `committed_at` in its deletion's transaction: a row
 * still without it, once the pass's lock has passed to another, is of a pass that never
 * committed, and the next pass follows its entries with `retention-not-committed`
 * (shared/retention/enforce-retention.ts). Ids and times only.
 */
export function retentionRuns(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('retention_run')
        .addColumn('id', d.text(64), (c) => c.primaryKey())
        .addColumn('agreement_id', d.text(100), (c) => c.notNull())
        .addColumn('dataset_id', d.text(100), (c) => c.notNull())
        .addColumn('started_at', d.timestamp(), (c) => c.notNull())
        .addColumn('committed_at', d.timestamp())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('retention_run').execute();
    },
  };
}
