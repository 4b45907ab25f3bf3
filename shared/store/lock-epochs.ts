import type { Kysely } from 'kysely';
import type { Store } from './database.js';
import type { Database } from './schema.js';

/** The epoch a holder took of a lock held outside the store (migration 0049). */
export interface LockEpoch {
  readonly name: string;
  readonly epoch: number;
}

/**
 * Takes the next epoch of the lock `name`, just after taking the lock itself, in a short
 * transaction of its own: from then on no commit fenced on an earlier epoch (holdsLockEpoch)
 * lands. The first holder of a lock adds its row; two first holders at once (only a stale one
 * could race the live one) fail one of them on the key, and that run is retried.
 */
export async function takeLockEpoch(store: Store, name: string): Promise<LockEpoch> {
  return store.db.transaction().execute(async (trx) => {
    const bumped = await trx
      .updateTable('lock_epoch')
      .set((eb) => ({ epoch: eb('epoch', '+', 1) }))
      .where('name', '=', name)
      .executeTakeFirst();
    if (Number(bumped.numUpdatedRows) === 0) {
      await trx.insertInto('lock_epoch').values({ name, epoch: 1 }).execute();
      return { name, epoch: 1 };
    }
    const row = await trx.selectFrom('lock_epoch').select('epoch').where('name', '=', name).executeTakeFirstOrThrow();
    return { name, epoch: Number(row.epoch) };
  });
}

/**
 * Whether `held` is still the lock's newest epoch, checked in the caller's transaction and kept
 * so until it ends: an update, not a read, so that on SQL Server the row stays locked to the
 * commit and a new holder's takeLockEpoch waits for it. The check and the commit are one: a
 * holder that took the lock since has a newer epoch, and this transaction must roll back.
 */
export async function holdsLockEpoch(trx: Kysely<Database>, held: LockEpoch): Promise<boolean> {
  const kept = await trx
    .updateTable('lock_epoch')
    .set({ epoch: held.epoch })
    .where('name', '=', held.name)
    .where('epoch', '=', held.epoch)
    .executeTakeFirst();
  return Number(kept.numUpdatedRows) === 1;
}
