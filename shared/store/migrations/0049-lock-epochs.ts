import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `lock_epoch`: a fencing token for each lock held outside the store (the planning export's blob
 * lease on `curated/export.lock`), one row a lock. A holder takes the next epoch as it takes the
 * lock, and a commit it may make only while it holds the lock checks in its own transaction that
 * the epoch is still its own (shared/store/lock-epochs.ts). Renewing the lease just before the
 * commit was no fence: the commit could reach the store after the lease had gone and another
 * run had published, and the view took the older run's release. Names and numbers only.
 */
export function lockEpochs(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('lock_epoch')
        .addColumn('name', d.text(200), (c) => c.primaryKey())
        .addColumn('epoch', 'integer', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('lock_epoch').execute();
    },
  };
}
