import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Each checkpoint the checkpointer appended to the anchor log, with the blob it went to, written
 * just after the append (shared/audit/anchored-checkpoints.ts). The anchor container is WORM only
 * once its immutability policy is locked; before that, and locally, a blob can be deleted, and an
 * anchor log without it reads as one that never held its checkpoints. With this record the
 * checkpointer raises the alarm rather than sign the log afresh, and verify names the blob.
 *
 * Append-only like the log itself. The index serves the checkpointer's read of the last one.
 */
export function anchoredCheckpoints(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await d
        .appendOnly(
          db.schema
            .createTable('anchored_checkpoint')
            .addColumn('blob', d.text(200), (c) => c.notNull())
            .addColumn('tree_size', d.bigInteger(), (c) => c.notNull())
            .addColumn('root_hash', d.text(64), (c) => c.notNull())
            .addColumn('time', d.timestamp(), (c) => c.notNull())
            .addColumn('key_id', d.text(200), (c) => c.notNull())
            .addColumn('signature', d.text(100), (c) => c.notNull()),
        )
        .execute();
      await d.protectAppendOnly(db, 'anchored_checkpoint');
      await db.schema
        .createIndex('anchored_checkpoint_time')
        .on('anchored_checkpoint')
        .columns(['time', 'tree_size'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('anchored_checkpoint').execute();
    },
  };
}
