import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `link_run_agreement`: an index on `link_run(agreement_id, started_at)`. Every incremental
 * pass asks when the agreement's last pass began, to tell whether an officer has decided since
 * (shared/linkage/link-people.ts); `link_run` gains a row per pass (the five-minute timer, per
 * agreement), and without it that question read every pass ever run.
 */
export function linkRunAgreementIndex(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createIndex('link_run_agreement')
        .on('link_run')
        .columns(['agreement_id', 'started_at'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      const drop = db.schema.dropIndex('link_run_agreement');
      await (d.engine === 'mssql' ? drop.on('link_run') : drop).execute();
    },
  };
}
